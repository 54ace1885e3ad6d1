//! The podman backend: every workload of the rendered chart runs as one
//! local pod (`podman kube play`), and the pods' sockets are read from the
//! host through `/proc`.
//!
//! podman 4.3 cannot play a chart as it is (docs/podman-notes.md has the
//! evidence), so each workload becomes one Pod, played from its own file:
//! - StatefulSets, DaemonSets and ReplicaSets are silently ignored by
//!   `kube play`; M1-M3 are judged per workload with replicas counting once,
//!   so one pod per workload is what the checks need. Jobs and CronJobs run
//!   to completion and are not probed.
//! - `containerPort`s are stripped: podman would publish each one on the
//!   host's 0.0.0.0 (and refuses them on hostNetwork pods). The model keeps
//!   the declarations.
//! - `imagePullPolicy: Never`: `kube play` pulls nothing; the sandbox pulls
//!   first, as `--pull` says, and a missing image is an error naming it.
//! - `restartPolicy: Never` (podman restarts crashing containers without
//!   backoff) and no probes (podman ignores readiness probes and turns
//!   liveness probes into systemd healthchecks); the readiness probes are
//!   run here, as the kubelet runs them (`readiness.rs`).
//! - Secrets become ConfigMaps (podman 4.3 cannot mount or reference them).
//! - Every name podman makes global (pods, ConfigMap, claim and emptyDir
//!   volumes, the network) gets the sandbox's unique prefix, and every pod
//!   and the network carry the label `netaudit.io/sandbox=<name>`: cleanup
//!   removes exactly that, and nothing that exists outside the sandbox is
//!   ever touched.
//! - The pods run on the sandbox's own internal network, where they find
//!   each other by their Services' names (`network.rs`).

mod client;
mod config;
mod flows;
mod host;
pub mod leftovers;
mod network;
mod plan;
mod readiness;

use crate::model::{AttributedSocket, Index, OpenSocket, PodSockets, PodStatus, ProcessName};
use crate::probe::flows::FlowLog;
use crate::probe::naming::SANDBOX_LABEL;
use crate::probe::procnet;
use crate::probe::{PullPolicy, Sandbox, Waiting};
use crate::source::interrupt;
use anyhow::{bail, Context, Result};
use host::{podman, run, ContainerState};
use plan::{Plan, PlannedPod};
use readiness::{Check, Tracker};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct PodmanSandbox {
    plan: Plan,
    /// When to pull the chart's images (before anything is played).
    pub pull: PullPolicy,
    installed: bool,
    /// The sandbox's network and DNS server, from the install on.
    network: Option<network::Network>,
    /// The flows the pods made, sampled at every poll.
    flows: FlowLog,
    /// The pods' infra processes, once they all run (until a restart).
    infra_pids: host::InfraPids,
    /// netaudit's own client pods (`--exercise`), in the order run.
    clients: Vec<flows::SandboxClient>,
    /// The pods the last wait found ready: the only ones probed (a pod that
    /// is not ready may hold boot-time sockets, or not yet its real ones).
    ready: BTreeSet<String>,
    /// From before the plan's directory (the chart's Secrets, decoded) is
    /// made until after it is removed: an interrupt meanwhile cleans up
    /// instead of ending the process. Last, so dropped after `plan`.
    _cooperative: interrupt::Cooperative,
}

impl PodmanSandbox {
    /// Plan the sandbox for the workloads of `index` (one rendered release,
    /// loaded with its configuration objects).
    pub fn new(index: &Index<'_>, release: &str) -> Result<PodmanSandbox> {
        let cooperative = interrupt::Cooperative::enter();
        Ok(PodmanSandbox {
            plan: Plan::new(index, release)?,
            pull: PullPolicy::Never,
            installed: false,
            network: None,
            flows: FlowLog::new().with_logged_queries(),
            infra_pids: host::InfraPids::new(),
            clients: Vec::new(),
            ready: BTreeSet::new(),
            _cooperative: cooperative,
        })
    }
}

fn container_name(pod: &str, container: &str) -> String {
    format!("{pod}-{container}")
}

fn containers_running(pod: &PlannedPod, states: &BTreeMap<String, ContainerState>) -> bool {
    pod.containers.iter().all(|c| {
        states
            .get(&container_name(&pod.name, c))
            .is_some_and(|s| s.state == "running")
    })
}

/// Where one pod stands in a readiness poll.
struct PodReadiness {
    ready: bool,
    /// Why it is not ready yet (the last probe failure), if known.
    waiting_on: Option<String>,
    /// Probes that could not be run as the kubelet does.
    notes: Vec<String>,
}

/// One readiness poll of `pod`: every container running, and every
/// readiness probe that is due run (`trackers`, by container name, keep
/// each probe's timeline across polls).
fn poll_pod(
    pod: &PlannedPod,
    states: &BTreeMap<String, ContainerState>,
    infra_pids: &BTreeMap<String, u32>,
    trackers: &mut BTreeMap<String, Tracker>,
    now: Instant,
) -> PodReadiness {
    let mut status = PodReadiness {
        ready: containers_running(pod, states),
        waiting_on: None,
        notes: Vec::new(),
    };
    if !status.ready {
        return status;
    }
    let sockets = OnceCell::new();
    for (container, probe) in &pod.probes {
        let probe = match probe {
            Ok(probe) => probe,
            Err(why) => {
                status
                    .notes
                    .push(format!("container `{container}`: {why}; taken as ready once running"));
                continue;
            }
        };
        if !probe.evaluated_fully() {
            status.notes.push(format!(
                "container `{container}`: its {} readiness probe is judged by its port listening only",
                probe.kind
            ));
        }
        let tracker = trackers
            .entry(container_name(&pod.name, container))
            .or_insert_with(|| Tracker::new(probe, now));
        if tracker.due(now) {
            let result = match &probe.check {
                Check::Exec(command) => host::exec_probe(&container_name(&pod.name, container), command, probe.timeout),
                Check::Port(port) => {
                    let listening = sockets.get_or_init(|| {
                        infra_pids
                            .get(&pod.name)
                            .and_then(|infra| procnet::read_namespace(Path::new(&format!("/proc/{infra}"))).ok())
                            .unwrap_or_default()
                    });
                    if listening.iter().any(|s| s.port == *port) {
                        Ok(())
                    } else {
                        Err(format!("port {port} does not listen"))
                    }
                }
            };
            tracker.record(probe, result, now);
        }
        if !tracker.ready() {
            status.ready = false;
            status.waiting_on = Some(format!(
                "container `{container}`: its {} readiness probe has not passed after {} s{}",
                probe.kind,
                tracker.age(now).as_secs(),
                tracker
                    .last_failure
                    .as_ref()
                    .map(|f| format!(" (last: {f})"))
                    .unwrap_or_default()
            ));
        }
    }
    status
}

/// Why a pod is not ready, for the probe-incomplete note.
fn not_ready_detail(pod: &PlannedPod, states: &BTreeMap<String, ContainerState>, waiting_on: Option<&str>) -> String {
    let mut parts = Vec::new();
    for container in &pod.containers {
        let name = container_name(&pod.name, container);
        match states.get(&name) {
            Some(ContainerState {
                state, exit_code: exit, ..
            }) if state != "running" => {
                let logs = last_log_lines(&name, 5);
                parts.push(format!(
                    "container `{container}` is {state} (exit code {exit}){}",
                    if logs.is_empty() {
                        String::new()
                    } else {
                        format!("; last log lines: {}", logs.join(" | "))
                    }
                ));
            }
            None => parts.push(format!("container `{container}` was not created")),
            _ => {}
        }
    }
    if let (true, Some(waiting)) = (parts.is_empty(), waiting_on) {
        waiting.to_string()
    } else if parts.is_empty() {
        "not all containers were running".into()
    } else {
        parts.join("; ")
    }
}

/// The last `n` lines a container wrote (podman hands its output over on
/// stdout and stderr alike).
fn last_log_lines(container: &str, n: usize) -> Vec<String> {
    let logs = podman()
        .args(["logs", "--tail", &n.to_string(), container])
        .output()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default();
    let mut lines: Vec<String> = logs
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    // podman may hand the same line over on both streams.
    lines.dedup();
    lines
}

/// Whether `pod` will never become ready: with `restartPolicy: Never`
/// (see the module documentation), a container that has exited stays
/// exited. Why is said once the wait ends ([`not_ready_detail`]).
fn has_stopped(pod: &PlannedPod, states: &BTreeMap<String, ContainerState>) -> bool {
    pod.containers.iter().any(|container| {
        states
            .get(&container_name(&pod.name, container))
            .is_some_and(|state| matches!(state.state.as_str(), "exited" | "stopped" | "dead"))
    })
}

impl PodmanSandbox {
    /// Redirect the Services' ports to their target ports in each pod's
    /// network namespace, once every pod runs: after the install, and
    /// after a restart (a pod's namespace goes with its infra container).
    fn redirect_service_ports(&mut self) -> Result<()> {
        self.refresh_infra_pids()?;
        let Some(network) = &self.network else {
            return Ok(());
        };
        let redirected: Vec<(usize, &PlannedPod)> = self
            .plan
            .pods
            .iter()
            .enumerate()
            .filter(|(_, pod)| !pod.host_network && !pod.redirects.is_empty())
            .collect();
        if redirected.is_empty() {
            return Ok(());
        }
        for (i, pod) in redirected {
            let infra = *self
                .infra_pids
                .get(&pod.name)
                .with_context(|| format!("no process for the infra container of pod {}", pod.name))?;
            network::redirect_ports(infra, network.pod_address(i), &pod.redirects)?;
        }
        Ok(())
    }

    /// One sample of the flows the pods make (the infra processes looked
    /// up once they all run).
    fn sample_flows(&mut self) -> Result<()> {
        self.refresh_infra_pids()?;
        if let Some(network) = &self.network {
            flows::sample(
                &mut self.flows,
                &self.plan.pods,
                &self.clients,
                network,
                &self.infra_pids,
            );
        }
        Ok(())
    }

    /// Look the pods' infra processes up again while some pod has none
    /// (not started yet, or restarted: [`Sandbox::restart`] forgets them).
    fn refresh_infra_pids(&mut self) -> Result<()> {
        if self.plan.pods.iter().any(|p| !self.infra_pids.contains_key(&p.name)) {
            self.infra_pids = host::process_info(&self.plan.name, &[])?.0;
        }
        Ok(())
    }

    /// Pull what `pull` asks for, before anything is played: the pods run
    /// with `imagePullPolicy: Never`, so a missing image is an error naming
    /// it rather than a pod that never starts.
    fn pull_images(&self) -> Result<()> {
        self.ensure_images(self.plan.pods.iter().flat_map(|p| p.images.iter()).collect())
    }

    /// [`Self::pull_images`] for `images`.
    fn ensure_images(&self, images: BTreeSet<&String>) -> Result<()> {
        let mut missing = Vec::new();
        for image in images {
            let present = || -> Result<bool> {
                let exists = podman().args(["image", "exists", image]).output().map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        anyhow::anyhow!("podman not found: install it (Debian: apt-get install podman runc)")
                    } else {
                        anyhow::anyhow!("cannot run podman: {e}")
                    }
                })?;
                Ok(exists.status.success())
            };
            let pull = match self.pull {
                PullPolicy::Always => true,
                PullPolicy::Missing => !present()?,
                PullPolicy::Never => {
                    if !present()? {
                        missing.push(image.clone());
                    }
                    false
                }
            };
            if pull {
                interrupt::check()?;
                interrupt::output(podman().args(["pull", "--quiet", image]))
                    .map_err(anyhow::Error::from)
                    .and_then(|output| {
                        if output.status.success() {
                            Ok(())
                        } else {
                            // The last line is the error; those before, its retries.
                            let text = String::from_utf8_lossy(&output.stderr);
                            let last = text.lines().rev().find(|l| !l.trim().is_empty());
                            bail!(
                                "{}",
                                crate::source::failure_summary(output.status, last.unwrap_or("").as_bytes(), "podman")
                            )
                        }
                    })
                    .with_context(|| format!("cannot pull image {image}"))?;
            }
        }
        if !missing.is_empty() {
            bail!(
                "image{} not available locally: {} (--pull never: build or load {} first, e.g. `podman load`, or let netaudit pull with --pull missing)",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            );
        }
        Ok(())
    }
}

impl Sandbox for PodmanSandbox {
    fn runtime(&self) -> &'static str {
        "podman"
    }

    fn name(&self) -> &str {
        &self.plan.name
    }

    fn describe(&self) -> String {
        format!("podman sandbox {} ({} pods)", self.plan.name, self.plan.pods.len())
    }

    fn removal_hint(&self) -> String {
        format!(
            "podman pod ps -q --filter label={SANDBOX_LABEL}={0} | xargs -r podman pod rm -f; podman volume ls -q --filter name=^{0}- | xargs -r podman volume rm -f; podman network rm -f {0}",
            self.plan.name
        )
    }

    fn host_baseline(&mut self) -> Result<Vec<OpenSocket>> {
        // Rootful podman: this process is in the host's network namespace.
        Ok(procnet::read_namespace(Path::new("/proc/self"))?)
    }

    fn install(&mut self) -> Result<()> {
        if self.plan.pods.is_empty() {
            return Ok(());
        }
        self.pull_images()?;
        self.installed = true;
        let network = self.network.insert(network::Network::create(&self.plan.name)?);
        self.plan.write(&network.resolver())?;
        let names: Vec<_> = self
            .plan
            .pods
            .iter()
            .enumerate()
            .filter(|(_, pod)| !pod.host_network)
            .map(|(i, pod)| (network.pod_address(i), pod.dns_names.clone()))
            .collect();
        network.start_dns(&names)?;
        for (i, pod) in self.plan.pods.iter().enumerate() {
            interrupt::check()?;
            // Host-network pods are played with `--network host`: the
            // sandbox's network would override their `hostNetwork`.
            let mut play = podman();
            play.args(["kube", "play", "--start", "--network"]);
            match pod.host_network {
                true => play.arg("host"),
                false => play
                    .arg(&network.name)
                    .arg("--ip")
                    .arg(network.pod_address(i).to_string()),
            };
            run(play.arg(&pod.file))
                .with_context(|| format!("cannot start the pod for {} `{}`", pod.owner.kind, pod.owner.name))?;
        }
        self.redirect_service_ports()
    }

    fn wait_ready(&mut self, timeout: Duration, waiting: &mut dyn FnMut(&Waiting)) -> Result<Vec<PodStatus>> {
        let start = Instant::now();
        // Done: every pod ready (every container running and every readiness
        // probe passed, run as the kubelet runs them) or stopped for good;
        // twice in a row, so a container that dies right after starting is
        // not taken for ready.
        let mut trackers = BTreeMap::new();
        let mut consecutive = 0;
        loop {
            interrupt::check()?;
            let now = Instant::now();
            let states = host::container_states(&self.plan.name)?;
            self.sample_flows()?;
            let infra_pids = &self.infra_pids;
            let polls: Vec<PodReadiness> = self
                .plan
                .pods
                .iter()
                .map(|p| poll_pod(p, &states, infra_pids, &mut trackers, now))
                .collect();
            let stopped: Vec<bool> = self
                .plan
                .pods
                .iter()
                .zip(&polls)
                .map(|(pod, poll)| !poll.ready && has_stopped(pod, &states))
                .collect();
            waiting(&Waiting {
                ready: polls.iter().filter(|p| p.ready).count(),
                total: polls.len(),
                stopped: stopped.iter().filter(|s| **s).count(),
            });
            consecutive = if polls.iter().zip(&stopped).all(|(p, stopped)| p.ready || *stopped) {
                consecutive + 1
            } else {
                0
            };
            if consecutive >= 2 || start.elapsed() >= timeout {
                self.ready = self
                    .plan
                    .pods
                    .iter()
                    .zip(&polls)
                    .filter(|(_, poll)| poll.ready)
                    .map(|(pod, _)| pod.name.clone())
                    .collect();
                return Ok(self
                    .plan
                    .pods
                    .iter()
                    .zip(polls)
                    .zip(stopped)
                    .map(|((p, poll), stopped)| PodStatus {
                        pod: p.name.clone(),
                        owner: p.owner.clone(),
                        ready: poll.ready,
                        stopped,
                        detail: if poll.ready {
                            String::new()
                        } else {
                            not_ready_detail(p, &states, poll.waiting_on.as_deref())
                        },
                        notes: poll.notes,
                    })
                    .collect());
            }
            interrupt::sleep(Duration::from_millis(250))?;
        }
    }

    fn probe(&mut self) -> Result<Vec<PodSockets>> {
        let states = host::container_states(&self.plan.name)?;
        let ids: Vec<&str> = states.values().map(|s| s.id.as_str()).collect();
        let (infra_pids, processes) = host::process_info(&self.plan.name, &ids)?;
        if let Some(network) = &self.network {
            flows::sample(&mut self.flows, &self.plan.pods, &self.clients, network, &infra_pids);
        }
        let by_namespace = host::processes_by_pid_namespace();
        let mut result = Vec::new();
        for (i, pod) in self.plan.pods.iter().enumerate() {
            if !self.ready.contains(&pod.name) || !containers_running(pod, &states) {
                continue;
            }
            let infra = *infra_pids
                .get(&pod.name)
                .with_context(|| format!("no process for the infra container of pod {}", pod.name))?;
            let sockets = procnet::read_namespace(&PathBuf::from(format!("/proc/{infra}")))
                .with_context(|| format!("cannot read the sockets of pod {}", pod.name))?;
            // Which container and process hold which socket: the socket
            // inodes in the fds of every process of the container. Forked
            // workers share their parent's socket: the lowest PID (the one
            // that bound it, as a rule) names it.
            let mut owners: BTreeMap<u64, (String, Option<ProcessName>)> = BTreeMap::new();
            for container in &pod.containers {
                let Some(state) = states.get(&container_name(&pod.name, container)) else {
                    continue;
                };
                let cgroup = processes
                    .get(&state.id)
                    .map(|(_, cgroup)| cgroup.as_str())
                    .unwrap_or("");
                let mut pids = host::container_processes(state.pid, cgroup, &by_namespace);
                pids.sort_unstable();
                for pid in pids {
                    let dir = PathBuf::from(format!("/proc/{pid}"));
                    let inodes = procnet::socket_inodes_of_process(&dir).unwrap_or_default();
                    if inodes.is_empty() {
                        continue;
                    }
                    let process = host::process_name(&dir);
                    for inode in inodes {
                        owners
                            .entry(inode)
                            .or_insert_with(|| (container.clone(), process.clone()));
                    }
                }
            }
            self.flows
                .name_processes(i, |inode| Some(owners.get(&inode)?.1.as_ref()?.name.clone()));
            let sockets = sockets
                .into_iter()
                .map(|socket| {
                    let (container, process) = owners.get(&socket.inode).cloned().unzip();
                    AttributedSocket {
                        container,
                        process: process.flatten(),
                        socket,
                    }
                })
                // A host-network pod sees every socket of the host: keep the
                // ones its own containers hold.
                .filter(|s| !pod.host_network || s.container.is_some())
                .collect();
            result.push(PodSockets {
                pod: pod.name.clone(),
                owner: pod.owner.clone(),
                host_network: pod.host_network,
                ephemeral_range: host::ephemeral_range(infra),
                sockets,
            });
        }
        Ok(result)
    }

    fn restart(&mut self) -> Result<()> {
        if self.plan.pods.is_empty() {
            return Ok(());
        }
        // `pod restart` has no timeout and waits 10 s for any PID 1 that
        // ignores SIGTERM; stop with a 1 s grace period, then start.
        let names: Vec<&str> = self.plan.pods.iter().map(|p| p.name.as_str()).collect();
        self.infra_pids.clear();
        run(podman().args(["pod", "stop", "-i", "-t", "1"]).args(&names))?;
        run(podman().args(["pod", "start"]).args(&names))?;
        self.redirect_service_ports()
    }

    fn flows(&mut self) -> Vec<crate::model::ObservedFlow> {
        self.flows.take()
    }

    fn run_client(
        &mut self,
        client: &crate::probe::exercise::ClientPod,
        timeout: Duration,
    ) -> Result<crate::probe::exercise::ClientRun> {
        self.run_client_pod(client, timeout)
    }

    fn run_tests(
        &mut self,
        hooks: &[crate::probe::chart_tests::TestHook],
        timeout: Duration,
    ) -> Result<crate::model::ChartTests> {
        self.run_test_pods(hooks, timeout)
    }

    fn cleanup(&mut self) -> Result<()> {
        if !self.installed {
            return Ok(());
        }
        if let Some(network) = &mut self.network {
            network.stop_dns();
        }
        if let Err(error) = leftovers::remove_sandbox(&self.plan.name) {
            self.plan.keep_only_the_marker();
            return Err(error);
        }
        self.installed = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};
    use serde_json::Value;

    #[test]
    fn plays_each_workload_as_a_prefixed_self_contained_pod() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/podman/plan.yaml")).unwrap();
        let manifests =
            Manifests::load(vec![Input::new("c", "rel", "default", text)], Detail::WithConfiguration).unwrap();
        let index = manifests.index();
        let mut sandbox = PodmanSandbox::new(&index, "rel").unwrap();
        let resolver = network::Resolver {
            nameserver: "10.222.7.1".parse().unwrap(),
        };
        sandbox.plan.write(&resolver).unwrap();
        assert_eq!(sandbox.plan.pods.len(), 1, "the Job is not played");
        let pod = &sandbox.plan.pods[0];
        assert!(pod.host_network);
        let probe = pod
            .probes
            .values()
            .next()
            .expect("the readiness probe")
            .as_ref()
            .unwrap();
        assert_eq!((probe.kind, &probe.check), ("tcpSocket", &Check::Port(5432)));
        let text = std::fs::read_to_string(&pod.file).unwrap();
        let docs: Vec<Value> = text
            .split("\n---\n")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let p = &sandbox.plan.name;
        // ConfigMaps first (the Secret converted and decoded), then the pod.
        assert_eq!(docs[0]["metadata"]["name"], format!("{p}-conf"));
        assert_eq!(docs[1]["metadata"]["name"], format!("{p}-creds"));
        assert_eq!(docs[1]["data"]["password"], "hunter2");
        let spec = &docs[2]["spec"];
        assert_eq!(docs[2]["metadata"]["labels"][SANDBOX_LABEL], p.as_str());
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["dnsPolicy"], "None");
        assert_eq!(spec["dnsConfig"]["nameservers"][0], "10.222.7.1");
        let container = &spec["containers"][0];
        assert!(container.get("ports").is_none() && container.get("readinessProbe").is_none());
        assert_eq!(container["imagePullPolicy"], "Never");
        assert_eq!(
            container["env"][0]["valueFrom"]["configMapKeyRef"]["name"],
            format!("{p}-creds")
        );
        let volume_name = container["volumeMounts"][0]["name"].as_str().unwrap();
        assert_eq!(spec["volumes"][0]["name"], volume_name);
        assert!(volume_name.starts_with(p.as_str()));
        assert_eq!(spec["volumes"][0]["configMap"]["name"], format!("{p}-conf"));
        assert_eq!(
            spec["volumes"][1]["persistentVolumeClaim"]["claimName"],
            format!("{p}-data")
        );
    }
}
