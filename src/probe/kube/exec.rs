//! exec, behind a trait: run a command in a container.

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube::Client;
use std::future::Future;

/// What a command exec'd in a container printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub success: bool,
    /// The failure message (e.g. "executable file not found"), if any.
    pub message: String,
}

/// Runs a command in a container (kube-rs exec over websockets, or a fake).
pub trait PodExec {
    fn exec(
        &self,
        client: &Client,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[String],
    ) -> impl Future<Output = Result<ExecOutput>>;
}

/// The real exec: `pods/exec` through kube-rs (`ws` feature).
#[derive(Debug, Clone, Copy, Default)]
pub struct KubeExec;

impl PodExec for KubeExec {
    async fn exec(
        &self,
        client: &Client,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[String],
    ) -> Result<ExecOutput> {
        use tokio::io::AsyncReadExt;
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let params = AttachParams::default()
            .container(container)
            .stdin(false)
            .stdout(true)
            .stderr(false);
        let mut process = match pods.exec(pod, command.to_vec(), &params).await {
            Ok(process) => process,
            Err(e) => {
                return Ok(ExecOutput {
                    stdout: String::new(),
                    success: false,
                    message: format!("{e}"),
                })
            }
        };
        let mut stdout = String::new();
        if let Some(mut reader) = process.stdout() {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .await
                .with_context(|| format!("cannot read the output of exec in {pod}/{container}"))?;
            stdout = String::from_utf8_lossy(&bytes).into_owned();
        }
        let status = match process.take_status() {
            Some(status) => status.await,
            None => None,
        };
        let _ = process.join().await;
        let (success, message) = match status {
            Some(s) => (s.status.as_deref() == Some("Success"), s.message.unwrap_or_default()),
            None => (false, "the exec ended without a status".into()),
        };
        Ok(ExecOutput {
            stdout,
            success,
            message,
        })
    }
}
