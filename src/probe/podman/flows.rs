//! The podman sandbox's side of the flow log ([`crate::probe::flows`]):
//! each pod's socket tables read from its infra process's network
//! namespace at every readiness poll (250 ms) and at every probe, the
//! queries the sandbox's DNS server logged, and the addresses of the
//! sandbox's network named.

use super::host::InfraPids;
use super::network::Network;
use super::plan::PlannedPod;
use crate::model::{FlowOrigin, FlowPeer, Protocol, WorkloadRef};
use crate::probe::flows::{Addresses, FlowLog, Resolved};
use crate::probe::procnet;
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

/// A client pod of netaudit's own on the sandbox's network (`--exercise`):
/// on the address after the plan's pods (the `i`th client, pod `pods.len()
/// + i`).
#[derive(Debug, Clone)]
pub(super) struct SandboxClient {
    pub pod: String,
    pub owner: WorkloadRef,
    pub origin: FlowOrigin,
}

/// Record what the socket tables of `pods` (and of netaudit's `clients`)
/// show now. A pod whose table cannot be read (gone, restarting) is
/// skipped until the next sample.
pub(super) fn sample(
    log: &mut FlowLog,
    pods: &[PlannedPod],
    clients: &[SandboxClient],
    network: &Network,
    infra_pids: &InfraPids,
) {
    let addresses = SandboxAddresses { network, pods, clients };
    let now = Instant::now();
    let sampled = pods
        .iter()
        .map(|pod| (!pod.host_network).then_some(&pod.name))
        .chain(clients.iter().map(|c| Some(&c.pod)));
    for (i, name) in sampled.enumerate().filter_map(|(i, name)| Some((i, name?))) {
        let Some(infra) = infra_pids.get(name) else {
            continue;
        };
        let Ok(connections) = procnet::read_connections(Path::new(&format!("/proc/{infra}"))) else {
            continue;
        };
        log.sample(i, now, connections, &addresses);
    }
    for query in network.dns_queries() {
        // From the host (the gateway): not a pod's.
        let pod = network.pod_at(query.from).filter(|&i| i < pods.len() + clients.len());
        if let Some(pod) = pod {
            log.query(pod, query, &addresses);
        }
    }
}

/// The sandbox's network: pod `i` is at its address, the gateway is the
/// host and (port 53) the DNS server; a Service port a pod's redirects
/// take is served on their target port.
struct SandboxAddresses<'a> {
    network: &'a Network,
    pods: &'a [PlannedPod],
    clients: &'a [SandboxClient],
}

impl Addresses for SandboxAddresses<'_> {
    fn owner(&self, pod: usize) -> &WorkloadRef {
        match self.pods.get(pod) {
            Some(planned) => &planned.owner,
            None => &self.clients[pod - self.pods.len()].owner,
        }
    }

    fn origin(&self, pod: usize) -> Option<FlowOrigin> {
        pod.checked_sub(self.pods.len())
            .and_then(|i| self.clients.get(i))
            .map(|c| c.origin)
    }

    fn resolve(&self, address: IpAddr, port: u16, protocol: Protocol) -> Resolved {
        if address == IpAddr::V4(self.network.gateway()) {
            let peer = match port {
                53 => FlowPeer::ClusterDns,
                _ => FlowPeer::Host,
            };
            return Resolved { peer, pod: None, port };
        }
        let pod = self.network.pod_at(address).filter(|&i| {
            self.pods
                .get(i)
                .map_or(i < self.pods.len() + self.clients.len(), |p| !p.host_network)
        });
        match pod {
            Some(i) => Resolved {
                peer: FlowPeer::Workload {
                    workload: self.owner(i).clone(),
                },
                pod: Some(i),
                port: self.pods.get(i).map_or(port, |planned| {
                    planned
                        .redirects
                        .iter()
                        .find(|r| r.protocol == protocol && r.port == port)
                        .map_or(port, |r| r.target)
                }),
            },
            None => Resolved {
                peer: FlowPeer::Outside { address },
                pod: None,
                port,
            },
        }
    }
}
