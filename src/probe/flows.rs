//! The flows a sandbox's pods make, sampled from their socket tables
//! (`procnet::connections`): who connected to whom, on which port, how
//! often, and whether any connection was answered. Each backend samples
//! its pods its own way (podman reads the pods' namespaces on the host;
//! kube streams them from an exec in each pod) and names addresses its own
//! way ([`Addresses`]); the log is the same.
//!
//! Both sides of a connection tell of it: the client's socket (with the
//! process that holds it), and the server's (accepted on a listening
//! port). A connection of a few milliseconds stays a minute in `TIME_WAIT`
//! on the side that closed first, so a sample a quarter of a second later
//! still sees it; `count` (distinct client ports) is still a lower bound.
//! The port is the server pod's own: a Service port is counted as its
//! target port, as a NetworkPolicy sees it.

use crate::model::{AskedName, Connection, FlowOrigin, FlowPeer, ObservedFlow, Protocol, WorkloadRef};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

/// What an address a pod talked to is, as far as one backend knows.
pub(crate) trait Addresses {
    /// The workload of pod `pod` (an index the backend gives its pods).
    fn owner(&self, pod: usize) -> &WorkloadRef;
    /// What `address:port` is, for a connection of `protocol`.
    fn resolve(&self, address: IpAddr, port: u16, protocol: Protocol) -> Resolved;
    /// Who made pod `pod`'s flows when it is netaudit's own client.
    fn origin(&self, pod: usize) -> Option<FlowOrigin> {
        let _ = pod;
        None
    }
}

/// An address, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub peer: FlowPeer,
    /// The pod at that address, when it is one of the sandbox's.
    pub pod: Option<usize>,
    /// The port the server really serves: a Service's target port, a
    /// redirect's target; else the port asked.
    pub port: u16,
}

/// Which flow: client workload, server, port, protocol. (Pods of one
/// workload, and the replacements of restarted pods, make one flow.)
type FlowKey = (WorkloadRef, FlowPeer, u16, Protocol);

pub(crate) struct FlowLog {
    started: Instant,
    /// In the order first seen.
    flows: Vec<ObservedFlow>,
    by_key: BTreeMap<FlowKey, usize>,
    /// The client pods and ports seen of each flow: distinct connections.
    connections: BTreeSet<(usize, usize, u16)>,
    /// Sockets of flows not named a process yet: (pod, inode) -> flow.
    unnamed: BTreeMap<(usize, u64), usize>,
    /// The DNS server's queries are logged ([`FlowLog::query`]): its
    /// sockets are not counted too.
    queries_logged: bool,
}

/// A query the cluster DNS logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsQuery {
    pub at: Instant,
    pub from: IpAddr,
    pub name: String,
    pub answered: bool,
}

impl FlowLog {
    pub(crate) fn new() -> FlowLog {
        FlowLog {
            started: Instant::now(),
            flows: Vec::new(),
            by_key: BTreeMap::new(),
            connections: BTreeSet::new(),
            unnamed: BTreeMap::new(),
            queries_logged: false,
        }
    }

    /// The cluster DNS's queries come from its log: each query counts.
    pub(crate) fn with_logged_queries(mut self) -> FlowLog {
        self.queries_logged = true;
        self
    }

    /// Record a query of pod `pod` to the cluster DNS.
    pub(crate) fn query(&mut self, pod: usize, query: DnsQuery, addresses: &impl Addresses) {
        let from = addresses.owner(pod);
        let key = (from, FlowPeer::ClusterDns, 53, Protocol::Udp);
        let at = self.flow_at(key, addresses.origin(pod), query.at);
        let flow = &mut self.flows[at];
        flow.count += 1;
        flow.completed |= query.answered;
        match flow.names.iter_mut().find(|n| n.name == query.name) {
            Some(asked) => asked.answered |= query.answered,
            None => flow.names.push(AskedName {
                name: query.name,
                answered: query.answered,
            }),
        }
    }

    /// The index of the flow of this key, made when first seen.
    fn flow_at(
        &mut self,
        (from, to, port, protocol): (&WorkloadRef, FlowPeer, u16, Protocol),
        origin: Option<FlowOrigin>,
        seen: Instant,
    ) -> usize {
        let first_seen_ms = seen.saturating_duration_since(self.started).as_millis() as u64;
        let key = (from.clone(), to, port, protocol);
        let flows = &mut self.flows;
        *self.by_key.entry(key).or_insert_with_key(|(from, to, _, _)| {
            flows.push(ObservedFlow {
                from: from.clone(),
                to: to.clone(),
                port,
                protocol,
                process: None,
                first_seen_ms,
                count: 0,
                completed: false,
                names: Vec::new(),
                origin,
            });
            flows.len() - 1
        })
    }

    /// Record the connections pod `pod`'s socket tables showed at `at`.
    pub(crate) fn sample(
        &mut self,
        pod: usize,
        seen: Instant,
        connections: Vec<Connection>,
        addresses: &impl Addresses,
    ) {
        for connection in connections {
            let remote = addresses.resolve(connection.remote.0, connection.remote.1, connection.protocol);
            // (client pod, server, server port, client port)
            let (client, server, port, client_port) = match (connection.accepted, remote.pod) {
                (true, Some(client)) => (
                    client,
                    FlowPeer::Workload {
                        workload: addresses.owner(pod).clone(),
                    },
                    connection.local.1,
                    connection.remote.1,
                ),
                // Accepted from the host or outside: no workload of the
                // sandbox to say it is from.
                (true, None) => continue,
                (false, _) => (pod, remote.peer, remote.port, connection.local.1),
            };
            if self.queries_logged && server == FlowPeer::ClusterDns {
                continue;
            }
            let key = (addresses.owner(client), server, port, connection.protocol);
            let at = self.flow_at(key, addresses.origin(client), seen);
            let flow = &mut self.flows[at];
            if self.connections.insert((at, client, client_port)) {
                flow.count += 1;
            }
            flow.completed |= connection.completed;
            if !connection.accepted && flow.process.is_none() && connection.inode != 0 {
                self.unnamed.insert((pod, connection.inode), at);
            }
        }
    }

    /// Name the processes of pod `pod`'s flows from its sockets' owners
    /// (`process_of` a socket inode), as the probe found them.
    pub(crate) fn name_processes(&mut self, pod: usize, process_of: impl Fn(u64) -> Option<String>) {
        let named: Vec<((usize, u64), usize)> = self
            .unnamed
            .range((pod, 0)..=(pod, u64::MAX))
            .map(|(key, flow)| (*key, *flow))
            .collect();
        for (key, flow) in named {
            let Some(process) = process_of(key.1) else {
                continue;
            };
            self.unnamed.remove(&key);
            self.flows[flow].process.get_or_insert(process);
        }
    }

    /// Every flow seen, in the order first seen; the log starts over.
    pub(crate) fn take(&mut self) -> Vec<ObservedFlow> {
        self.by_key.clear();
        self.connections.clear();
        self.unnamed.clear();
        std::mem::take(&mut self.flows)
    }
}
