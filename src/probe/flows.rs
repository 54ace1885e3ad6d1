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

    /// Record the connections pod `pod`'s socket tables showed at `seen`.
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

    /// Whether some flow of `client`'s was seen.
    pub(crate) fn any_from(&self, client: &WorkloadRef) -> bool {
        self.flows.iter().any(|flow| flow.from == *client)
    }

    /// Every flow seen, in the order first seen; the log starts over.
    pub(crate) fn take(&mut self) -> Vec<ObservedFlow> {
        self.by_key.clear();
        self.connections.clear();
        self.unnamed.clear();
        std::mem::take(&mut self.flows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pods 0 and 2 are `client` (2 replaced 0 after a restart), pod 1 is
    /// `web` at 10.0.0.2; pod 3 is netaudit's exercise client.
    struct Book(Vec<WorkloadRef>);

    fn workload(name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    impl Addresses for Book {
        fn owner(&self, pod: usize) -> &WorkloadRef {
            &self.0[pod]
        }

        fn resolve(&self, address: IpAddr, port: u16, _: Protocol) -> Resolved {
            let pod = match address.to_string().as_str() {
                "10.0.0.1" => Some(0),
                "10.0.0.2" => Some(1),
                "10.0.0.3" => Some(2),
                "10.0.0.4" => Some(3),
                _ => None,
            };
            match pod {
                Some(pod) => Resolved {
                    peer: FlowPeer::Workload {
                        workload: self.0[pod].clone(),
                    },
                    pod: Some(pod),
                    // A Service port 80 in front of web's 8080.
                    port: if port == 80 { 8080 } else { port },
                },
                None => Resolved {
                    peer: FlowPeer::Outside { address },
                    pod: None,
                    port,
                },
            }
        }

        fn origin(&self, pod: usize) -> Option<FlowOrigin> {
            (pod == 3).then_some(FlowOrigin::Exercise)
        }
    }

    fn tcp(local: (&str, u16), remote: (&str, u16), accepted: bool, completed: bool) -> Connection {
        Connection {
            protocol: Protocol::Tcp,
            local: (local.0.parse().unwrap(), local.1),
            remote: (remote.0.parse().unwrap(), remote.1),
            accepted,
            completed,
            inode: 0,
        }
    }

    #[test]
    fn both_ends_and_a_restarted_pod_make_one_flow_and_clients_keep_their_origin() {
        let book = Book(vec![
            workload("client"),
            workload("web"),
            workload("client"),
            workload("exercise"),
        ]);
        let mut log = FlowLog::new();
        let now = Instant::now();
        // The client's side (to the Service's port) and the server's side
        // (on its own port) of one connection.
        log.sample(
            0,
            now,
            vec![tcp(("10.0.0.1", 40000), ("10.0.0.2", 80), false, true)],
            &book,
        );
        log.sample(
            1,
            now,
            vec![tcp(("10.0.0.2", 8080), ("10.0.0.1", 40000), true, true)],
            &book,
        );
        // The restarted client's connection; an attempt nobody answered.
        log.sample(
            2,
            now,
            vec![tcp(("10.0.0.3", 40000), ("10.0.0.2", 80), false, true)],
            &book,
        );
        log.sample(
            1,
            now,
            vec![tcp(("10.0.0.2", 41000), ("192.0.2.7", 443), false, false)],
            &book,
        );
        // netaudit's client, seen from the server.
        log.sample(
            1,
            now,
            vec![tcp(("10.0.0.2", 8080), ("10.0.0.4", 50000), true, true)],
            &book,
        );
        log.query(
            0,
            DnsQuery {
                at: now,
                from: "10.0.0.1".parse().unwrap(),
                name: "web.shop.svc.cluster.local".into(),
                answered: true,
            },
            &book,
        );
        let flows: Vec<(String, String, u16, usize, bool, Option<FlowOrigin>)> = log
            .take()
            .into_iter()
            .map(|f| (f.from.name, f.to.to_string(), f.port, f.count, f.completed, f.origin))
            .collect();
        assert_eq!(
            flows,
            [
                ("client".into(), "Deployment/shop/web".into(), 8080, 2, true, None),
                ("web".into(), "192.0.2.7 (outside)".into(), 443, 1, false, None),
                (
                    "exercise".into(),
                    "Deployment/shop/web".into(),
                    8080,
                    1,
                    true,
                    Some(FlowOrigin::Exercise)
                ),
                ("client".into(), "the cluster DNS".into(), 53, 1, true, None),
            ]
        );
        assert!(log.take().is_empty());
    }
}
