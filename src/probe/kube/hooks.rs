//! The chart's test hooks in a kube sandbox (`--run-tests`): `helm test`
//! itself, run as a child process against the sandbox namespace, while
//! the sandbox watches the pods it makes (their flows are of origin
//! `test`); then each hook's outcome, read from its Pod or Job.

use super::installer::Installer;
use super::sandbox::KubeSandbox;
use super::status::{last_line, stopped_reason};
use super::{block, within};
use crate::model::{ChartTests, FlowOrigin, TestOutcome, WorkloadRef};
use crate::probe::chart_tests::TestHook;
use crate::source::interrupt;
use anyhow::{anyhow, Result};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use std::time::Duration;

use super::exec::PodExec;

/// How often the test pods are looked for while `helm test` runs.
const POLL: Duration = Duration::from_millis(250);

/// The labels a Job puts on its pods (the old one and the new).
const JOB_NAME_LABELS: [&str; 2] = ["job-name", "batch.kubernetes.io/job-name"];

impl<I: Installer, E: PodExec> KubeSandbox<I, E> {
    pub(super) fn run_test_hooks(&mut self, hooks: &[TestHook], timeout: Duration) -> Result<ChartTests> {
        let Some(mut command) = self.installer.test_command(&self.name, timeout) else {
            return Ok(ChartTests {
                failed: Some("this sandbox has no helm to run `helm test` with".into()),
                ran: Vec::new(),
            });
        };
        let output = interrupt::output_while(&mut command, POLL, || self.watch_test_pods(hooks));
        let output = match output {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(interrupt::Interrupted.into()),
            Err(e) => {
                return Ok(ChartTests {
                    failed: Some(format!("cannot run helm test: {e}")),
                    ran: Vec::new(),
                })
            }
            Ok(output) => output,
        };
        // Its last connections, and those of pods that came and went
        // between two looks.
        self.watch_test_pods(hooks);
        let mut ran = Vec::new();
        for hook in hooks {
            if let Some(outcome) = self.test_outcome(hook)? {
                ran.push(outcome);
            }
        }
        // A test that connects and is done within a moment leaves nothing
        // to see from inside its pod (its side closes first, and the pod's
        // network goes with it): said, not guessed.
        for outcome in &ran {
            let owner = self.test_owner(&outcome.kind, &outcome.name);
            if !self.flows.any_from(&owner) {
                self.notes.push(format!(
                    "flows not sampled: test {} `{}` ended before the watch (every 250 ms, from inside the pod) saw a \
                     connection of it; the podman runtime sees such short tests",
                    outcome.kind, outcome.name
                ));
            }
        }
        // helm stops at the first test that fails: that is the reason then.
        let failed = (!output.status.success() && ran.iter().all(|t| t.passed))
            .then(|| crate::source::failure_summary(output.status, &output.stderr, "helm test"));
        Ok(ChartTests { failed, ran })
    }

    /// Name and watch the test pods that exist now (errors wait for the
    /// next look: the outcome is read from the API when helm is done).
    fn watch_test_pods(&mut self, hooks: &[TestHook]) {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        let listed = block(
            &self.runtime,
            within(self.options.api_timeout, "cannot list the test pods", async {
                pods.list(&ListParams::default()).await.map_err(|e| anyhow!("{e}"))
            }),
        );
        let Ok(listed) = listed else { return };
        for pod in &listed.items {
            let Some(hook) = hooks.iter().find(|hook| is_pod_of(pod, hook)) else {
                continue;
            };
            let owner = self.test_owner(&hook.kind, &hook.name);
            self.flows
                .watch_client(&self.runtime, &self.client, &self.exec, pod, &owner, FlowOrigin::Test);
        }
        self.flows.drain();
    }

    /// A test hook as the report names it (in the chart's namespace).
    fn test_owner(&self, kind: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            kind: kind.into(),
            namespace: self.options.model_namespace.clone(),
            name: name.into(),
        }
    }

    /// How `hook` came out; `None` when helm did not get to it.
    fn test_outcome(&mut self, hook: &TestHook) -> Result<Option<TestOutcome>> {
        let limit = self.options.api_timeout;
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        if hook.kind == "Job" {
            let jobs: Api<Job> = Api::namespaced(self.client.clone(), &self.name);
            let what = format!("cannot read the test Job {}", hook.name);
            let job = block(
                &self.runtime,
                within(limit, what, async {
                    jobs.get_opt(&hook.name).await.map_err(|e| anyhow!("{e}"))
                }),
            )?;
            let Some(job) = job else { return Ok(None) };
            let status = job.status.unwrap_or_default();
            return Ok(Some(if status.succeeded.unwrap_or(0) > 0 {
                hook.outcome(true, None)
            } else {
                hook.outcome(false, Some(format!("{} pod(s) failed", status.failed.unwrap_or(0))))
            }));
        }
        let what = format!("cannot read the test pod {}", hook.name);
        let pod = block(
            &self.runtime,
            within(limit, what, async {
                pods.get_opt(&hook.name).await.map_err(|e| anyhow!("{e}"))
            }),
        )?;
        let Some(pod) = pod else { return Ok(None) };
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        if phase == "Succeeded" {
            return Ok(Some(hook.outcome(true, None)));
        }
        let mut why = Vec::new();
        let statuses = pod.status.iter().flat_map(|s| s.container_statuses.iter().flatten());
        for container in statuses {
            let Some(code) = container
                .state
                .as_ref()
                .and_then(|s| Some(s.terminated.as_ref()?.exit_code))
            else {
                continue;
            };
            if code == 0 {
                continue;
            }
            let params = LogParams {
                container: Some(container.name.clone()),
                ..Default::default()
            };
            let logs = block(
                &self.runtime,
                within(limit, "cannot read a test pod's log", async {
                    pods.logs(&hook.name, &params).await.map_err(|e| anyhow!("{e}"))
                }),
            )
            .unwrap_or_default();
            let last = last_line(&logs, &self.options.secrets)
                .map(|line| format!(": {line}"))
                .unwrap_or_default();
            why.push(format!("container `{}` exited with {code}{last}", container.name));
        }
        // Never ran: an image that cannot be pulled, a container that
        // cannot be made.
        if let (true, Some(stop)) = (why.is_empty(), stopped_reason(&pod, &self.options.secrets)) {
            why.push(stop.to_string());
        }
        if why.is_empty() {
            why.push(format!(
                "it ended {}",
                if phase.is_empty() { "unknown" } else { &phase }
            ));
        }
        Ok(Some(hook.outcome(false, Some(why.join("; ")))))
    }
}

/// Whether `pod` is `hook`'s: the hook itself, or a pod of its Job.
fn is_pod_of(pod: &Pod, hook: &TestHook) -> bool {
    match hook.kind.as_str() {
        "Pod" => pod.metadata.name.as_deref() == Some(hook.name.as_str()),
        _ => pod
            .metadata
            .labels
            .as_ref()
            .is_some_and(|labels| JOB_NAME_LABELS.iter().any(|key| labels.get(*key) == Some(&hook.name))),
    }
}
