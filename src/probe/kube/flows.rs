//! The kube sandbox's side of the flow log ([`crate::probe::flows`]).
//!
//! A pod's socket tables cannot be read from outside the cluster: each pod
//! of the sandbox gets one long exec, started at the first readiness poll
//! that sees it running, that prints its four tables every quarter of a
//! second ([`WATCH_SCRIPT`]) until the pod goes or the sandbox stops
//! watching. The samples wait in a channel until the sandbox drains them
//! (every poll, every probe), and are named then with what the API says
//! of the sandbox's namespace: pods by their address, Services by their
//! virtual address and their Endpoints (so a connection through a Service
//! counts for the workload and target port it reached), the API server by
//! the `kubernetes` Service, DNS by its port.

use super::exec::{ExecTarget, PodExec};
use crate::model::{Connection, FlowOrigin, FlowPeer, Protocol, WorkloadRef};
use crate::probe::flows::{Addresses, FlowLog, Resolved};
use crate::probe::procnet;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, ListParams};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Marks between the samples and the tables of the watch's output.
const MARK: &str = "@@netaudit ";

/// The watch run in a pod: its tables, every 250 ms (every second where
/// `sleep` takes whole seconds only), until its output is closed.
pub const WATCH_SCRIPT: &str = "while :; do for f in tcp tcp6 udp udp6; do echo \"@@netaudit $f\"; \
cat /proc/net/$f 2>/dev/null; done; echo '@@netaudit sampled'; sleep 0.25 2>/dev/null || sleep 1; done";

/// One pod's sample: its index in the address book, when it arrived, and
/// its connections.
type Sample = (usize, Instant, Vec<Connection>);

/// The watches of a sandbox's pods, the samples they sent, and the log.
pub(super) struct FlowWatch {
    log: FlowLog,
    book: AddressBook,
    samples: mpsc::Receiver<Sample>,
    sender: mpsc::Sender<Sample>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The pods (in the address book) whose watch was started.
    watched: BTreeSet<usize>,
    /// Pods none of whose containers could be watched, with why.
    unwatched: Arc<Mutex<Vec<String>>>,
}

impl FlowWatch {
    pub(super) fn new() -> FlowWatch {
        let (sender, samples) = mpsc::channel();
        FlowWatch {
            log: FlowLog::new(),
            book: AddressBook::default(),
            samples,
            sender,
            tasks: Vec::new(),
            watched: BTreeSet::new(),
            unwatched: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Watch netaudit's own client pod `pod` (its flows are of `origin`):
    /// its address is named as soon as it has one, whether or not it still
    /// runs for the watch to attach (the other ends see its connections);
    /// a client that could not be watched is not said.
    pub(super) fn watch_client<E: PodExec>(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        client: &Client,
        exec: &E,
        pod: &Pod,
        owner: &WorkloadRef,
        origin: FlowOrigin,
    ) {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let index = match self.book.index.get(name) {
            Some(&index) => index,
            None => {
                let Some(address) = pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()?.parse().ok()) else {
                    return;
                };
                let index = self.book.add_pod(name, address, owner);
                self.book.origins.insert(index, origin);
                index
            }
        };
        // Named while it starts, watched once it runs.
        if running_address(pod).is_some() && self.watched.insert(index) {
            let task = watch_pod(client, exec, pod, index, self.sender.clone(), None);
            self.tasks.push(runtime.spawn(task));
        }
    }

    /// Start watching every pod of `pods` that runs, has an address of its
    /// own and is not watched yet (on `runtime`'s current thread: the
    /// watches make progress whenever the sandbox waits on it).
    pub(super) fn watch_new_pods<E: PodExec>(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        client: &Client,
        exec: &E,
        pods: &[(Pod, WorkloadRef)],
    ) {
        for (pod, owner) in pods {
            let Some((name, address)) = running_address(pod) else {
                continue;
            };
            if self.book.index.contains_key(name) {
                continue;
            }
            let index = self.book.add_pod(name, address, owner);
            self.watched.insert(index);
            let what = format!("{} `{}` (pod {name})", owner.kind, owner.name);
            let unwatched = Some((what, self.unwatched.clone()));
            let task = watch_pod(client, exec, pod, index, self.sender.clone(), unwatched);
            self.tasks.push(runtime.spawn(task));
        }
    }

    /// Read what the API says of the sandbox's Services and Endpoints (and
    /// the API server's address, once), to name the addresses of the
    /// samples to come.
    pub(super) async fn refresh_services(&mut self, client: &Client, namespace: &str) -> anyhow::Result<()> {
        let services: Api<Service> = Api::namespaced(client.clone(), namespace);
        let endpoints: Api<Endpoints> = Api::namespaced(client.clone(), namespace);
        let services = services.list(&ListParams::default()).await?.items;
        let endpoints = endpoints.list(&ListParams::default()).await?.items;
        self.book.set_services(&services, &endpoints);
        if self.book.api_server.is_none() {
            // Readable on most clusters; where it is not, connections to
            // it are named by their address.
            let default: Api<Service> = Api::namespaced(client.clone(), "default");
            if let Ok(kubernetes) = default.get("kubernetes").await {
                self.book.api_server = cluster_ip(&kubernetes);
            }
        }
        Ok(())
    }

    /// Log the samples the watches sent so far.
    pub(super) fn drain(&mut self) {
        while let Ok((pod, at, connections)) = self.samples.try_recv() {
            self.log.sample(pod, at, connections, &self.book);
        }
    }

    /// Name the processes of pod `pod`'s flows (`process_of` a socket inode).
    pub(super) fn name_processes(&mut self, pod: &str, process_of: impl Fn(u64) -> Option<String>) {
        self.drain();
        if let Some(&index) = self.book.index.get(pod) {
            self.log.name_processes(index, process_of);
        }
    }

    /// Whether some flow of `client`'s was seen (after the samples sent
    /// so far).
    pub(super) fn any_from(&mut self, client: &WorkloadRef) -> bool {
        self.drain();
        self.log.any_from(client)
    }

    pub(super) fn take(&mut self) -> Vec<crate::model::ObservedFlow> {
        self.drain();
        self.log.take()
    }

    /// The pods that could not be watched, one line each; taken once.
    pub(super) fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut *self.unwatched.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Stop every watch (their streams close; the shells in the pods end at
    /// their next write).
    pub(super) fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for FlowWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pod's name and address, once it runs on an address of its own.
fn running_address(pod: &Pod) -> Option<(&str, IpAddr)> {
    let spec = pod.spec.as_ref()?;
    let status = pod.status.as_ref()?;
    if spec.host_network == Some(true) || status.phase.as_deref() != Some("Running") {
        return None;
    }
    let address = status.pod_ip.as_deref()?.parse().ok()?;
    Some((pod.metadata.name.as_deref()?, address))
}

/// Watch one pod from the first of its containers that runs the watch; a
/// pod none of whose containers can (no shell) is said in `unwatched`
/// (as `what`, the pod in words), when given.
fn watch_pod<E: PodExec>(
    client: &Client,
    exec: &E,
    pod: &Pod,
    index: usize,
    sender: mpsc::Sender<Sample>,
    unwatched: Option<(String, Arc<Mutex<Vec<String>>>)>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let containers = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()));
    let attempts: Vec<_> = containers
        .map(|container| {
            let target = ExecTarget {
                namespace: namespace.clone(),
                pod: name.clone(),
                container: container.clone(),
            };
            let sampled = Arc::new(Mutex::new(false));
            let parser = SampleParser::new(index, sender.clone(), sampled.clone());
            let command = vec!["sh".to_string(), "-c".to_string(), WATCH_SCRIPT.to_string()];
            let stream = exec.stream(client.clone(), target, command, Box::new(parser.into_sink()));
            (container, stream, sampled)
        })
        .collect();
    async move {
        let mut failures = Vec::new();
        for (container, stream, sampled) in attempts {
            let outcome = stream.await;
            if *sampled.lock().unwrap_or_else(|e| e.into_inner()) {
                // It ran until the pod went (or the watch was stopped).
                return;
            }
            let why = match outcome {
                Ok(()) => "the watch printed no socket table".to_string(),
                Err(e) => super::pods::exec_failure(&format!("{e:#}")),
            };
            failures.push(format!("container {container}: {why}"));
        }
        if let (false, Some((what, unwatched))) = (failures.is_empty(), unwatched) {
            unwatched.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                "flows not sampled: {what}: {} (the pods it talks to still see its flows)",
                failures.join("; ")
            ));
        }
    }
}

/// Cuts the watch's output into samples and sends each one parsed.
struct SampleParser {
    pod: usize,
    sender: mpsc::Sender<Sample>,
    sampled: Arc<Mutex<bool>>,
    tables: Vec<(Protocol, bool, String)>,
}

impl SampleParser {
    fn new(pod: usize, sender: mpsc::Sender<Sample>, sampled: Arc<Mutex<bool>>) -> SampleParser {
        SampleParser {
            pod,
            sender,
            sampled,
            tables: Vec::new(),
        }
    }

    fn into_sink(mut self) -> impl FnMut(&str) + Send {
        move |line| self.line(line)
    }

    fn line(&mut self, line: &str) {
        let Some(mark) = line.strip_prefix(MARK) else {
            if let Some((_, _, text)) = self.tables.last_mut() {
                text.push_str(line);
                text.push('\n');
            }
            return;
        };
        let table = match mark.trim() {
            "sampled" => {
                let tables = std::mem::take(&mut self.tables);
                // A table cut short (the pod going) is not a sample.
                if let Ok(connections) = procnet::connections(&tables) {
                    *self.sampled.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    let _ = self.sender.send((self.pod, Instant::now(), connections));
                }
                return;
            }
            "tcp" => (Protocol::Tcp, false),
            "tcp6" => (Protocol::Tcp, true),
            "udp" => (Protocol::Udp, false),
            "udp6" => (Protocol::Udp, true),
            _ => return,
        };
        self.tables.push((table.0, table.1, String::new()));
    }
}

/// What the addresses of a kube sandbox are.
#[derive(Debug, Default)]
struct AddressBook {
    /// Every pod watched, in the order first seen (the flow log's indices).
    pods: Vec<WorkloadRef>,
    /// Pod name -> index.
    index: BTreeMap<String, usize>,
    /// Pod address -> index (the latest pod on an address).
    addresses: BTreeMap<IpAddr, usize>,
    /// (virtual address, port, protocol) -> the Service port.
    service_ports: BTreeMap<(IpAddr, u16, Protocol), ServicePort>,
    /// The pods that are netaudit's own clients, and what they are for.
    origins: BTreeMap<usize, FlowOrigin>,
    api_server: Option<IpAddr>,
}

/// A Service port and what its Endpoints say it reaches.
#[derive(Debug, Clone)]
struct ServicePort {
    service: String,
    /// (pod address, target port) of each ready endpoint.
    endpoints: Vec<(IpAddr, u16)>,
    /// The target port when it is a number (no endpoint to say it).
    target: Option<u16>,
}

impl AddressBook {
    fn add_pod(&mut self, name: &str, address: IpAddr, owner: &WorkloadRef) -> usize {
        let index = self.pods.len();
        self.pods.push(owner.clone());
        self.index.insert(name.to_string(), index);
        self.addresses.insert(address, index);
        index
    }

    fn set_services(&mut self, services: &[Service], endpoints: &[Endpoints]) {
        self.service_ports.clear();
        let endpoints: BTreeMap<&str, &Endpoints> = endpoints
            .iter()
            .filter_map(|e| Some((e.metadata.name.as_deref()?, e)))
            .collect();
        for service in services {
            let (Some(name), Some(address), Some(spec)) = (
                service.metadata.name.as_deref(),
                cluster_ip(service),
                service.spec.as_ref(),
            ) else {
                continue;
            };
            for port in spec.ports.iter().flatten() {
                let protocol = match port.protocol.as_deref() {
                    Some("UDP") => Protocol::Udp,
                    Some("TCP") | None => Protocol::Tcp,
                    Some(_) => continue,
                };
                let Ok(number) = u16::try_from(port.port) else {
                    continue;
                };
                let mut reached = Vec::new();
                for subset in endpoints
                    .get(name)
                    .and_then(|e| e.subsets.as_ref())
                    .into_iter()
                    .flatten()
                {
                    let target = subset.ports.iter().flatten().find(|p| {
                        p.name == port.name
                            && p.protocol.as_deref().unwrap_or("TCP") == port.protocol.as_deref().unwrap_or("TCP")
                    });
                    let Some(target) = target.and_then(|p| u16::try_from(p.port).ok()) else {
                        continue;
                    };
                    // Not-ready endpoints too: a connection refused while
                    // the server starts was still aimed at its workload.
                    let addresses = subset.addresses.iter().flatten();
                    for address in addresses.chain(subset.not_ready_addresses.iter().flatten()) {
                        if let Ok(ip) = address.ip.parse() {
                            reached.push((ip, target));
                        }
                    }
                }
                let target = match &port.target_port {
                    Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => u16::try_from(*n).ok(),
                    Some(_) => None,
                    None => Some(number),
                };
                self.service_ports.insert(
                    (address, number, protocol),
                    ServicePort {
                        service: name.to_string(),
                        endpoints: reached,
                        target,
                    },
                );
            }
        }
    }
}

fn cluster_ip(service: &Service) -> Option<IpAddr> {
    service.spec.as_ref()?.cluster_ip.as_deref()?.parse().ok()
}

impl Addresses for AddressBook {
    fn owner(&self, pod: usize) -> &WorkloadRef {
        &self.pods[pod]
    }

    fn origin(&self, pod: usize) -> Option<FlowOrigin> {
        self.origins.get(&pod).copied()
    }

    fn resolve(&self, address: IpAddr, port: u16, protocol: Protocol) -> Resolved {
        if let Some(&pod) = self.addresses.get(&address) {
            return Resolved {
                peer: FlowPeer::Workload {
                    workload: self.pods[pod].clone(),
                },
                pod: Some(pod),
                port,
            };
        }
        if let Some(service) = self.service_ports.get(&(address, port, protocol)) {
            // Through a Service: the workload its endpoints are (when they
            // are all one), on the target port.
            let mut workloads = service
                .endpoints
                .iter()
                .filter_map(|(ip, target)| Some((self.addresses.get(ip)?, *target)));
            if let Some((&first, target)) = workloads.next() {
                let owner = &self.pods[first];
                if workloads.all(|(&i, _)| self.pods[i] == *owner) {
                    return Resolved {
                        peer: FlowPeer::Workload {
                            workload: owner.clone(),
                        },
                        pod: None,
                        port: target,
                    };
                }
            }
            let target = service.endpoints.first().map(|(_, t)| *t).or(service.target);
            return Resolved {
                peer: FlowPeer::Service {
                    service: service.service.clone(),
                },
                pod: None,
                port: target.unwrap_or(port),
            };
        }
        let peer = if Some(address) == self.api_server {
            FlowPeer::ApiServer
        } else if port == 53 {
            FlowPeer::ClusterDns
        } else {
            FlowPeer::Outside { address }
        };
        Resolved { peer, pod: None, port }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: "Deployment".into(),
            namespace: "sandbox".into(),
            name: name.into(),
        }
    }

    fn service(json: serde_json::Value) -> Service {
        serde_json::from_value(json).unwrap()
    }

    fn book() -> AddressBook {
        let mut book = AddressBook::default();
        book.add_pod("web-1", "10.217.0.11".parse().unwrap(), &owner("web"));
        book.add_pod("client-1", "10.217.0.12".parse().unwrap(), &owner("client"));
        book.add_pod("db-1", "10.217.0.13".parse().unwrap(), &owner("db"));
        let services = [
            service(serde_json::json!({
                "metadata": {"name": "db"},
                "spec": {"clusterIP": "10.218.0.22", "ports": [{"port": 5432}]}
            })),
            service(serde_json::json!({
                "metadata": {"name": "web"},
                "spec": {"clusterIP": "10.218.0.20", "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
            })),
            service(serde_json::json!({
                "metadata": {"name": "idle"},
                "spec": {"clusterIP": "10.218.0.21", "ports": [{"port": 53, "protocol": "UDP", "targetPort": 5353}]}
            })),
        ];
        let endpoints: Vec<Endpoints> = serde_json::from_value(serde_json::json!([{
            "metadata": {"name": "web"},
            "subsets": [{"addresses": [{"ip": "10.217.0.11"}], "ports": [{"name": "http", "port": 8080}]}]
        }, {
            "metadata": {"name": "db"},
            "subsets": [{"notReadyAddresses": [{"ip": "10.217.0.13"}], "ports": [{"port": 5432}]}]
        }]))
        .unwrap();
        book.set_services(&services, &endpoints);
        book.api_server = Some("10.218.0.1".parse().unwrap());
        book
    }

    #[test]
    fn a_service_address_names_the_workload_and_target_port_it_reached() {
        let book = book();
        let through = book.resolve("10.218.0.20".parse().unwrap(), 80, Protocol::Tcp);
        assert_eq!(through.peer, FlowPeer::Workload { workload: owner("web") });
        assert_eq!(through.port, 8080);
        // A server that is not ready yet: still the workload aimed at.
        let starting = book.resolve("10.218.0.22".parse().unwrap(), 5432, Protocol::Tcp);
        assert_eq!(starting.peer, FlowPeer::Workload { workload: owner("db") });
        // No endpoint: the Service, on its numeric target port.
        let idle = book.resolve("10.218.0.21".parse().unwrap(), 53, Protocol::Udp);
        assert_eq!(idle.peer, FlowPeer::Service { service: "idle".into() });
        assert_eq!(idle.port, 5353);
        let direct = book.resolve("10.217.0.12".parse().unwrap(), 9000, Protocol::Tcp);
        assert_eq!(
            (direct.peer, direct.pod),
            (
                FlowPeer::Workload {
                    workload: owner("client")
                },
                Some(1)
            )
        );
        assert_eq!(
            book.resolve("10.218.0.1".parse().unwrap(), 443, Protocol::Tcp).peer,
            FlowPeer::ApiServer
        );
        assert_eq!(
            book.resolve("10.217.0.1".parse().unwrap(), 53, Protocol::Udp).peer,
            FlowPeer::ClusterDns
        );
        let outside = "192.0.2.7".parse().unwrap();
        assert_eq!(
            book.resolve(outside, 443, Protocol::Tcp).peer,
            FlowPeer::Outside { address: outside }
        );
    }

    #[test]
    fn the_watch_output_is_cut_into_samples() {
        let (sender, samples) = mpsc::channel();
        let sampled = Arc::new(Mutex::new(false));
        let mut sink = SampleParser::new(3, sender, sampled.clone()).into_sink();
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        // 10.217.0.12:40000 -> 10.218.0.20:80 established; then a cut-off sample.
        let row = "   0: 0C00D90A:9C40 1400DA0A:0050 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 20 4 30 10 -1";
        for line in [
            "@@netaudit tcp",
            header,
            row,
            "@@netaudit tcp6",
            "@@netaudit udp",
            "@@netaudit udp6",
            "@@netaudit sampled",
            "@@netaudit tcp",
            "   0: 0C00",
        ] {
            sink(line);
        }
        let (pod, _, connections) = samples.try_recv().unwrap();
        assert_eq!(pod, 3);
        assert_eq!(connections.len(), 1);
        assert_eq!(connections[0].remote, ("10.218.0.20".parse().unwrap(), 80));
        assert!(connections[0].completed && !connections[0].accepted);
        assert!(*sampled.lock().unwrap());
        assert!(samples.try_recv().is_err());
    }
}
