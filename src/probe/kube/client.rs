//! netaudit's own client pods in a kube sandbox (`--exercise`): a bare pod
//! in the sandbox namespace (typed, `k8s-openapi`), run to its end while
//! its flows are watched, its output read from its log, then deleted (the
//! namespace would take it anyway).

use super::exec::PodExec;
use super::installer::Installer;
use super::sandbox::KubeSandbox;
use super::{block, within};
use crate::model::WorkloadRef;
use crate::probe::exercise::{ClientPod, ClientRun};
use crate::probe::naming::{MANAGED_BY, MANAGED_BY_LABEL, SANDBOX_LABEL};
use crate::source::interrupt;
use anyhow::{anyhow, Result};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, LogParams, PostParams};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The container of a client pod.
const CONTAINER: &str = "client";

/// How often a client's phase is read (its flows are streamed meanwhile).
const POLL: Duration = Duration::from_millis(250);

impl<I: Installer, E: PodExec> KubeSandbox<I, E> {
    pub(super) fn run_client_pod(&mut self, client: &ClientPod, timeout: Duration) -> Result<ClientRun> {
        let name = format!("netaudit-{}", client.name);
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
                    (SANDBOX_LABEL.to_string(), self.name.clone()),
                ])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                restart_policy: Some("Never".into()),
                automount_service_account_token: Some(false),
                containers: vec![Container {
                    name: CONTAINER.into(),
                    image: Some(client.image.clone()),
                    image_pull_policy: Some("IfNotPresent".into()),
                    command: Some(vec!["sh".into(), "-c".into(), client.script.clone()]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let limit = self.options.api_timeout;
        let what = format!("cannot create the client pod {name} in namespace {}", self.name);
        block(
            &self.runtime,
            within(limit, what, async {
                pods.create(&PostParams::default(), &pod)
                    .await
                    .map_err(|e| anyhow!("{e}"))
            }),
        )?;
        let owner = WorkloadRef {
            kind: "Pod".into(),
            namespace: self.options.model_namespace.clone(),
            name: name.clone(),
        };
        let outcome = self.await_client(&pods, &name, &owner, client, timeout);
        let logs = block(
            &self.runtime,
            within(limit, format!("cannot read the log of the client pod {name}"), async {
                let params = LogParams {
                    container: Some(CONTAINER.into()),
                    ..Default::default()
                };
                pods.logs(&name, &params).await.map_err(|e| anyhow!("{e}"))
            }),
        );
        let _ = block(
            &self.runtime,
            within(limit, "cannot delete the client pod", async {
                pods.delete(&name, &DeleteParams::default().grace_period(0))
                    .await
                    .map(|_| ())
                    .map_err(|e| anyhow!("{e}"))
            }),
        );
        let failed = match (outcome, &logs) {
            (Err(e), _) if interrupt::is_interrupt(&e) => return Err(e),
            (Err(e), _) => Some(format!("{e:#}")),
            (Ok(()), Err(e)) => Some(format!("{e:#}")),
            (Ok(()), Ok(_)) => None,
        };
        Ok(ClientRun {
            pod: name,
            output: logs.unwrap_or_default(),
            failed,
        })
    }

    /// Read the client's phase until it has ended (or `timeout` passed),
    /// watching its flows and naming its address meanwhile.
    fn await_client(
        &mut self,
        pods: &Api<Pod>,
        name: &str,
        owner: &WorkloadRef,
        client: &ClientPod,
        timeout: Duration,
    ) -> Result<()> {
        let start = Instant::now();
        let limit = self.options.api_timeout;
        loop {
            interrupt::check()?;
            let what = format!("cannot read the client pod {name}");
            let pod = block(
                &self.runtime,
                within(limit, what, async { pods.get(name).await.map_err(|e| anyhow!("{e}")) }),
            )?;
            self.flows
                .watch_client(&self.runtime, &self.client, &self.exec, &pod, owner, client.origin);
            self.flows.drain();
            let phase = pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            match phase.as_str() {
                "Succeeded" | "Failed" => return Ok(()),
                _ if start.elapsed() >= timeout => {
                    let waiting = pod
                        .status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref()?.first()?.state.as_ref()?.waiting.clone())
                        .map(|w| format!(" ({})", w.reason.unwrap_or_default()))
                        .unwrap_or_default();
                    return Err(anyhow!(
                        "the client did not finish within --timeout ({}s; it was {phase}{waiting})",
                        timeout.as_secs()
                    ));
                }
                _ => block(&self.runtime, async {
                    tokio::time::sleep(POLL).await;
                    Ok(())
                })?,
            }
        }
    }
}
