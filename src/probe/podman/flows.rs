//! The flows the pods of a podman sandbox make, sampled from their socket
//! tables (`procnet::read_connections`) at every readiness poll (250 ms)
//! and at every probe: who connected to whom, on which port, how often, and
//! whether any connection was answered.
//!
//! Both sides of a connection tell of it: the client's socket (with the
//! process that holds it), and the server's (accepted on a listening
//! port). A connection of a few milliseconds stays a minute in `TIME_WAIT`
//! on the side that closed first, so a sample a quarter of a second later
//! still sees it; `count` (distinct client ports) is still a lower bound.
//! The port is the server pod's own: a Service port the sandbox redirects
//! is counted as its target port, as a NetworkPolicy sees it. The other
//! end is named by its address on the sandbox's network ([`Network::peer`]).

use super::host::InfraPids;
use super::network::Network;
use super::plan::PlannedPod;
use crate::model::{FlowPeer, ObservedFlow, ProcessName, Protocol};
use crate::probe::procnet;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

/// Which flow, of which pod.
type FlowKey = (usize, FlowPeer, u16, Protocol);

pub(super) struct FlowLog {
    started: Instant,
    /// In the order first seen.
    flows: Vec<ObservedFlow>,
    by_key: BTreeMap<FlowKey, usize>,
    /// The client ports seen of each flow: distinct connections.
    connections: BTreeSet<(usize, u16)>,
    /// Sockets of flows not named a process yet: (pod, inode) -> flow.
    unnamed: BTreeMap<(usize, u64), usize>,
}

impl FlowLog {
    pub(super) fn new() -> FlowLog {
        FlowLog {
            started: Instant::now(),
            flows: Vec::new(),
            by_key: BTreeMap::new(),
            connections: BTreeSet::new(),
            unnamed: BTreeMap::new(),
        }
    }

    /// Record what the socket tables of `pods` (on the sandbox's network,
    /// with their infra processes) show now. A pod whose table cannot be
    /// read (gone, restarting) is skipped until the next sample.
    pub(super) fn sample(&mut self, pods: &[PlannedPod], network: &Network, infra_pids: &InfraPids) {
        let now = self.started.elapsed().as_millis() as u64;
        for (i, pod) in pods.iter().enumerate().filter(|(_, pod)| !pod.host_network) {
            let Some(infra) = infra_pids.get(&pod.name) else {
                continue;
            };
            let Ok(connections) = procnet::read_connections(Path::new(&format!("/proc/{infra}"))) else {
                continue;
            };
            for connection in connections {
                let (peer, peer_pod) = network.peer(connection.remote.0, connection.remote.1, pods);
                // (client pod, server, server port, client port)
                let (client, server, port, client_port) = match (connection.accepted, peer_pod) {
                    (true, Some(j)) => (
                        j,
                        FlowPeer::Workload {
                            workload: pod.owner.clone(),
                        },
                        connection.local.1,
                        connection.remote.1,
                    ),
                    // Accepted from the host or outside: no workload of
                    // the sandbox to say it is from.
                    (true, None) => continue,
                    (false, peer_pod) => {
                        let asked = connection.remote.1;
                        let port = peer_pod
                            .and_then(|j| {
                                pods[j]
                                    .redirects
                                    .iter()
                                    .find(|r| r.protocol == connection.protocol && r.port == asked)
                            })
                            .map_or(asked, |r| r.target);
                        (i, peer, port, connection.local.1)
                    }
                };
                let key = (client, server.clone(), port, connection.protocol);
                let flows = &mut self.flows;
                let at = *self.by_key.entry(key).or_insert_with(|| {
                    flows.push(ObservedFlow {
                        from: pods[client].owner.clone(),
                        to: server,
                        port,
                        protocol: connection.protocol,
                        process: None,
                        first_seen_ms: now,
                        count: 0,
                        completed: false,
                    });
                    flows.len() - 1
                });
                let flow = &mut self.flows[at];
                if self.connections.insert((at, client_port)) {
                    flow.count += 1;
                }
                flow.completed |= connection.completed;
                if !connection.accepted && flow.process.is_none() && connection.inode != 0 {
                    self.unnamed.insert((i, connection.inode), at);
                }
            }
        }
    }

    /// Name the processes of pod `pod`'s flows from its sockets' owners
    /// (inode -> process), as the probe found them.
    pub(super) fn name_processes(&mut self, pod: usize, owners: &BTreeMap<u64, (String, Option<ProcessName>)>) {
        let named: Vec<((usize, u64), usize)> = self
            .unnamed
            .range((pod, 0)..=(pod, u64::MAX))
            .map(|(key, flow)| (*key, *flow))
            .collect();
        for (key, flow) in named {
            let Some((_, Some(process))) = owners.get(&key.1) else {
                continue;
            };
            self.unnamed.remove(&key);
            let flow = &mut self.flows[flow];
            flow.process.get_or_insert_with(|| process.name.clone());
        }
    }

    /// Every flow seen, in the order first seen; the log starts over.
    pub(super) fn take(&mut self) -> Vec<ObservedFlow> {
        self.by_key.clear();
        self.connections.clear();
        self.unnamed.clear();
        std::mem::take(&mut self.flows)
    }
}

impl Network {
    /// What the address `address` (port `port`) is on the sandbox's
    /// network: a pod of `pods` (and which), the DNS server, the host, or
    /// outside.
    pub(super) fn peer(&self, address: IpAddr, port: u16, pods: &[PlannedPod]) -> (FlowPeer, Option<usize>) {
        if address == IpAddr::V4(self.gateway()) {
            let peer = match port {
                53 => FlowPeer::ClusterDns,
                _ => FlowPeer::Host,
            };
            return (peer, None);
        }
        let pod = self
            .pod_at(address)
            .filter(|&i| i < pods.len() && !pods[i].host_network);
        match pod {
            Some(i) => (
                FlowPeer::Workload {
                    workload: pods[i].owner.clone(),
                },
                Some(i),
            ),
            None => (FlowPeer::Outside { address }, None),
        }
    }
}
