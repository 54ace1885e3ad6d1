//! exec, behind a trait: run a command in a container.

use anyhow::{anyhow, bail, Context, Result};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use kube::Client;
use std::future::Future;

/// Which container of which pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// What a streamed command's lines go to.
pub type LineSink = Box<dyn FnMut(&str) + Send>;

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

    /// Run `command` in a container until it ends or the returned future
    /// is dropped (which closes the stream: the command's next write
    /// fails), handing each line it prints to `on_line`. Fails with the
    /// runtime's message when the command could not run.
    fn stream(
        &self,
        client: Client,
        target: ExecTarget,
        command: Vec<String>,
        on_line: LineSink,
    ) -> BoxFuture<'static, Result<()>> {
        let _ = (client, command, on_line);
        Box::pin(async move { bail!("cannot stream from {}/{}", target.pod, target.container) })
    }
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

    fn stream(
        &self,
        client: Client,
        target: ExecTarget,
        command: Vec<String>,
        mut on_line: LineSink,
    ) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            use tokio::io::AsyncBufReadExt;
            let pods: Api<Pod> = Api::namespaced(client, &target.namespace);
            let params = AttachParams::default()
                .container(target.container.as_str())
                .stdin(false)
                .stdout(true)
                .stderr(false);
            let mut process = pods
                .exec(&target.pod, command, &params)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            let reader = process
                .stdout()
                .with_context(|| format!("no output stream from {}/{}", target.pod, target.container))?;
            let mut lines = tokio::io::BufReader::new(reader).lines();
            while let Some(line) = lines
                .next_line()
                .await
                .with_context(|| format!("cannot read the output of exec in {}/{}", target.pod, target.container))?
            {
                on_line(&line);
            }
            let status = match process.take_status() {
                Some(status) => status.await,
                None => None,
            };
            let _ = process.join().await;
            match status {
                Some(s) if s.status.as_deref() != Some("Success") => bail!("{}", s.message.unwrap_or_default()),
                _ => Ok(()),
            }
        })
    }
}
