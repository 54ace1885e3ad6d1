//! netaudit's own client pods in a podman sandbox (`--exercise`): a pod
//! on the sandbox's network, on the address after the plan's pods, with the
//! sandbox's DNS and the sandbox's label (so that cleanup finds it), run to
//! its end while its flows are sampled, then removed.

use super::flows::{self, SandboxClient};
use super::host::{self, podman, run};
use super::{container_name, PodmanSandbox};
use crate::model::WorkloadRef;
use crate::probe::exercise::{ClientPod, ClientRun};
use crate::probe::naming::{self, OWNER_KEY, SANDBOX_LABEL};
use crate::source::interrupt;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The container of a client pod.
const CONTAINER: &str = "client";

/// How often a running client's flows are sampled (as the readiness wait's).
const POLL: Duration = Duration::from_millis(250);

impl PodmanSandbox {
    pub(super) fn run_client_pod(&mut self, client: &ClientPod, timeout: Duration) -> Result<ClientRun> {
        let Some(network) = &self.network else {
            bail!("the sandbox has no network: nothing was installed");
        };
        let Some(first) = self.plan.pods.first() else {
            bail!("the sandbox has no pod");
        };
        let index = self.plan.pods.len() + self.clients.len();
        let address = network.checked_pod_address(index).with_context(|| {
            format!(
                "no address left on the sandbox's network for the client {}",
                client.name
            )
        })?;
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
        self.clients.push(SandboxClient {
            pod: pod.clone(),
            owner: WorkloadRef {
                kind: "Pod".into(),
                namespace,
                name: format!("netaudit-{}", client.name),
            },
            origin: client.origin,
        });
        let played = run(podman()
            .args(["kube", "play", "--start", "--network", &network.name, "--ip"])
            .arg(address.to_string())
            .arg(&file));
        if let Err(e) = played {
            let _ = run(podman().args(["pod", "rm", "-f", &pod]));
            return Err(e.context(format!("cannot start the client pod {pod}")));
        }
        let outcome = self.await_client(&pod, timeout);
        let output = run(podman().args(["logs", &container_name(&pod, CONTAINER)])).unwrap_or_default();
        // Its flows stay in the log; the pod goes now, not with the sandbox.
        let removed = run(podman().args(["pod", "rm", "-f", &pod]));
        let failed = match outcome {
            Err(e) if interrupt::is_interrupt(&e) => return Err(e),
            Err(e) => Some(format!("{e:#}")),
            Ok(()) => None,
        };
        removed.with_context(|| format!("cannot remove the client pod {pod}"))?;
        Ok(ClientRun { pod, output, failed })
    }

    /// Sample every pod's flows (the client's too) until the client's
    /// container has exited, or `timeout` passed.
    fn await_client(&mut self, pod: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let container = container_name(pod, CONTAINER);
        loop {
            interrupt::check()?;
            // The client's infra process is new: look every one up again.
            let (infra_pids, _) = host::process_info(&self.plan.name, &[])?;
            if let Some(network) = &self.network {
                flows::sample(&mut self.flows, &self.plan.pods, &self.clients, network, &infra_pids);
            }
            let states = host::container_states(&self.plan.name)?;
            match states.get(&container) {
                Some(state) if matches!(state.state.as_str(), "exited" | "stopped" | "dead") => {
                    // Its last connections: the other ends still hold them.
                    if let Some(network) = &self.network {
                        flows::sample(&mut self.flows, &self.plan.pods, &self.clients, network, &infra_pids);
                    }
                    return Ok(());
                }
                _ if start.elapsed() >= timeout => {
                    bail!("the client did not finish within --timeout ({}s)", timeout.as_secs())
                }
                _ => interrupt::sleep(POLL)?,
            }
        }
    }
}
