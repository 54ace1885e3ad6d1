//! Pods that run to their end in a podman sandbox, after the probe:
//! netaudit's own client (`--exercise`) and the chart's test hooks
//! (`--run-tests`). Each is played on the sandbox's network, on the next
//! address after the plan's pods, with the sandbox's DNS and label (so
//! that cleanup finds it), run to its end while its flows are sampled,
//! then removed.

use super::flows::{self, SandboxClient};
use super::host::{self, podman, run};
use super::plan::PlannedPod;
use super::{container_name, PodmanSandbox};
use crate::model::{ChartTests, FlowOrigin, WorkloadRef};
use crate::probe::chart_tests::TestHook;
use crate::probe::exercise::{ClientPod, ClientRun};
use crate::probe::naming::{self, OWNER_KEY, SANDBOX_LABEL};
use crate::source::interrupt;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// The container of netaudit's client pod.
const CONTAINER: &str = "client";

/// How often a running pod's flows are sampled (as the readiness wait's).
const POLL: Duration = Duration::from_millis(250);

impl PodmanSandbox {
    pub(super) fn run_client_pod(&mut self, client: &ClientPod, timeout: Duration) -> Result<ClientRun> {
        let Some(network) = &self.network else {
            bail!("the sandbox has no network: nothing was installed");
        };
        let Some(first) = self.plan.pods.first() else {
            bail!("the sandbox has no pod");
        };
        self.ensure_images(BTreeSet::from([&client.image]))?;
        let pod = format!("{}-{}", self.plan.name, client.name);
        let namespace = first.namespace.clone();
        let document = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod,
                "labels": {SANDBOX_LABEL: self.plan.name, OWNER_KEY: naming::owner()},
            },
            "spec": {
                "restartPolicy": "Never",
                "dnsPolicy": "None",
                "dnsConfig": network.resolver().dns_config(&namespace),
                "containers": [{
                    "name": CONTAINER,
                    "image": client.image,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", client.script],
                }],
            },
        });
        let file = first.file.with_file_name(format!("{}.client.json", client.name));
        std::fs::write(&file, document.to_string()).with_context(|| format!("cannot write {}", file.display()))?;
        let owner = WorkloadRef {
            kind: "Pod".into(),
            namespace,
            name: format!("netaudit-{}", client.name),
        };
        let played = self.play_to_end(&pod, &file, &[CONTAINER.to_string()], owner, client.origin, timeout)?;
        let failed = match played.ended {
            Err(e) if interrupt::is_interrupt(&e) => return Err(e),
            Err(e) => Some(format!("{e:#}")),
            Ok(()) => None,
        };
        let output = played.logs.get(CONTAINER).cloned().unwrap_or_default();
        played
            .removed
            .with_context(|| format!("cannot remove the client pod {pod}"))?;
        Ok(ClientRun { pod, output, failed })
    }

    /// Play the chart's test hooks one after the other (as `helm test`, the
    /// first that fails ends the run); a hook's pod passes when every
    /// container exited 0.
    pub(super) fn run_test_pods(&mut self, hooks: &[TestHook], timeout: Duration) -> Result<ChartTests> {
        let mut tests = ChartTests::default();
        if self.network.is_none() {
            tests.failed = Some("the sandbox has no network: nothing was installed".into());
            return Ok(tests);
        }
        let images: BTreeSet<String> = self.plan.tests.iter().flat_map(|p| p.images.clone()).collect();
        if let Err(e) = self.ensure_images(images.iter().collect()) {
            tests.failed = Some(format!("{e:#}"));
            return Ok(tests);
        }
        // Without it, a short test's connections may go unseen.
        if let Ok(Some(image)) = host::infra_image(&self.plan.name) {
            self.plan.hold_test_pods_open(&image)?;
        }
        let planned = self.plan.tests.clone();
        let started = Instant::now();
        let mut unplayable = Vec::new();
        for hook in hooks {
            let of_hook = |p: &&PlannedPod| p.owner.kind == hook.kind && p.owner.name == hook.name;
            let Some(pod) = planned.iter().find(of_hook) else {
                unplayable.push(format!("{} `{}`", hook.kind, hook.name));
                continue;
            };
            let left = timeout.saturating_sub(started.elapsed());
            let started_pod = self.play_to_end(
                &pod.name,
                &pod.file,
                &pod.containers,
                pod.owner.clone(),
                FlowOrigin::Test,
                left,
            );
            let played = match started_pod {
                Ok(played) => played,
                Err(e) if interrupt::is_interrupt(&e) => return Err(e),
                // As `helm test` when a hook cannot be created: it fails, and the run ends.
                Err(e) => {
                    tests.ran.push(hook.outcome(false, Some(format!("{e:#}"))));
                    break;
                }
            };
            let outcome = match played.ended {
                Err(e) if interrupt::is_interrupt(&e) => return Err(e),
                Err(e) => hook.outcome(false, Some(format!("{e:#}"))),
                Ok(()) => {
                    let failed: Vec<String> = played
                        .exit_codes
                        .iter()
                        .filter(|(_, code)| **code != 0)
                        .map(|(container, code)| match played.tails.get(container) {
                            Some(lines) if !lines.is_empty() => {
                                format!("container `{container}` exited with {code}: {}", lines.join(" | "))
                            }
                            _ => format!("container `{container}` exited with {code}"),
                        })
                        .collect();
                    hook.outcome(failed.is_empty(), (!failed.is_empty()).then(|| failed.join("; ")))
                }
            };
            played
                .removed
                .with_context(|| format!("cannot remove the test pod {}", pod.name))?;
            let passed = outcome.passed;
            tests.ran.push(outcome);
            if !passed {
                break;
            }
        }
        if !unplayable.is_empty() {
            tests.failed = Some(format!("no pod to play for {}", unplayable.join(", ")));
        }
        Ok(tests)
    }

    /// Play the pod of `file` (named `pod`) on the next address, sample
    /// every pod's flows until its `containers` have all ended (or
    /// `timeout` passed), read their logs and exit codes, and remove it.
    /// Fails only when it could not be started.
    fn play_to_end(
        &mut self,
        pod: &str,
        file: &Path,
        containers: &[String],
        owner: WorkloadRef,
        origin: FlowOrigin,
        timeout: Duration,
    ) -> Result<Played> {
        let Some(network) = &self.network else {
            bail!("the sandbox has no network: nothing was installed");
        };
        let index = self.plan.pods.len() + self.clients.len();
        let address = network
            .checked_pod_address(index)
            .with_context(|| format!("no address left on the sandbox's network for the pod {pod}"))?;
        let network_name = network.name.clone();
        self.clients.push(SandboxClient {
            pod: pod.to_string(),
            owner,
            origin,
        });
        let played = run(podman()
            .args(["kube", "play", "--start", "--network", &network_name, "--ip"])
            .arg(address.to_string())
            .arg(file));
        if let Err(e) = played {
            let _ = run(podman().args(["pod", "rm", "-f", pod]));
            return Err(e.context(format!("cannot start the pod {pod}")));
        }
        let ended = self.await_end(pod, containers, timeout);
        let mut logs = BTreeMap::new();
        for container in containers {
            let text = run(podman().args(["logs", &container_name(pod, container)])).unwrap_or_default();
            logs.insert(container.clone(), text);
        }
        let exit_codes = match &ended {
            Ok(codes) => codes.clone(),
            Err(_) => BTreeMap::new(),
        };
        // Why a container failed: its last lines, stderr included.
        let tails = exit_codes
            .iter()
            .filter(|(_, code)| **code != 0)
            .map(|(container, _)| {
                (
                    container.clone(),
                    super::last_log_lines(&container_name(pod, container), 3),
                )
            })
            .collect();
        // Its flows stay in the log; the pod goes now, not with the sandbox.
        let removed = run(podman().args(["pod", "rm", "-f", pod])).map(|_| ());
        Ok(Played {
            ended: ended.map(|_| ()),
            exit_codes,
            logs,
            tails,
            removed,
        })
    }

    /// Sample every pod's flows (the new pod's too) until every container
    /// of `containers` in `pod` has exited, or `timeout` passed; their exit
    /// codes.
    fn await_end(&mut self, pod: &str, containers: &[String], timeout: Duration) -> Result<BTreeMap<String, i64>> {
        let start = Instant::now();
        loop {
            interrupt::check()?;
            // The new pod's infra process is new: look every one up again.
            let (infra_pids, _) = host::process_info(&self.plan.name, &[])?;
            if let Some(network) = &self.network {
                flows::sample(&mut self.flows, &self.plan.pods, &self.clients, network, &infra_pids);
            }
            let states = host::container_states(&self.plan.name)?;
            let ended: Option<BTreeMap<String, i64>> = containers
                .iter()
                .map(|c| {
                    let state = states.get(&container_name(pod, c))?;
                    matches!(state.state.as_str(), "exited" | "stopped" | "dead").then(|| (c.clone(), state.exit_code))
                })
                .collect();
            match ended {
                Some(codes) => {
                    // Its last connections, closed (TIME_WAIT) in its own
                    // network namespace: its infra process, looked up again
                    // (a pod that ran only a moment may have ended before
                    // the first lookup), holds it while a container runs.
                    let (infra_pids, _) = host::process_info(&self.plan.name, &[])?;
                    if let Some(network) = &self.network {
                        flows::sample(&mut self.flows, &self.plan.pods, &self.clients, network, &infra_pids);
                    }
                    return Ok(codes);
                }
                None if start.elapsed() >= timeout => {
                    bail!("the pod did not finish within --timeout ({}s)", timeout.as_secs())
                }
                None => interrupt::sleep(POLL)?,
            }
        }
    }
}

/// How a pod played to its end went.
struct Played {
    /// `Err`: it did not end (timed out, interrupted).
    ended: Result<()>,
    /// Each container's exit code, when it ended.
    exit_codes: BTreeMap<String, i64>,
    /// Each container's output (stdout).
    logs: BTreeMap<String, String>,
    /// The last lines of each container that exited with an error.
    tails: BTreeMap<String, Vec<String>>,
    /// Whether the pod could be removed.
    removed: Result<()>,
}
