//! helm, behind a trait: installs and uninstalls the chart into the sandbox namespace.

use super::env_nonempty;
use super::versions::{helm_major_of, kube_version_refused, server_side_apply_refused};
use crate::source::helm::{Helm, RenderRequest};
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How `helm install` ended when it did not fail outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Installed (helm's hooks, if any, completed).
    Ready,
    /// Installed, but waiting for a hook timed out: the release exists, and
    /// [`Sandbox::wait_ready`] reports the pods that are not ready. The
    /// text is helm's message.
    WaitTimedOut(String),
}

/// Installs and uninstalls the chart into a namespace (helm, or a fake).
pub trait Installer {
    fn install(&mut self, namespace: &str, timeout: Duration) -> Result<InstallOutcome>;
    /// Remove the release; a release that does not exist is not an error.
    fn uninstall(&mut self, namespace: &str) -> Result<()>;
    /// The command a user runs to uninstall by hand.
    fn uninstall_hint(&self, namespace: &str) -> String;
    /// The release it installs.
    fn release(&self) -> &str;
    /// helm's major version, when it says it.
    fn helm_major(&self) -> Option<u32>;
    /// `helm test` of the release in `namespace`, for the sandbox to run
    /// while it watches the test pods; `None` where there is no helm.
    fn test_command(&self, namespace: &str, timeout: Duration) -> Option<Command> {
        let _ = (namespace, timeout);
        None
    }
    /// What goes after the chart's flags on `helm install`: `--helm-arg`,
    /// and what the sandbox adds (`--server-side=false`).
    fn extra_args(&mut self) -> &mut Vec<OsString>;
}

/// The real installer: `$HELM_BIN install RELEASE CHART --namespace NS
/// --timeout Ns [user flags]`. Not `--wait`: the sandbox waits itself, so
/// that a pod that stopped for good ends the wait and run 1 does not wait
/// twice (`--timeout` bounds helm's hooks).
#[derive(Debug, Clone)]
pub struct HelmInstaller {
    pub bin: PathBuf,
    /// The release name (helm template's default `release-name` when the
    /// user gave none, so objects are named as in the rendered model).
    pub release: String,
    /// The chart as the user gave it (for messages).
    pub chart: String,
    /// The chart and the user's flags (values, --set*, --version, --repo).
    pub chart_args: Vec<OsString>,
    /// `--kube-context` for helm (kube-rs uses the same context).
    pub kube_context: Option<String>,
    /// `--helm-arg`: appended to `helm install` as they are; and
    /// `--server-side=false` when the sandbox adds it (Helm 4 on an API
    /// server older than 1.22, see `versions`).
    pub extra_args: Vec<OsString>,
}

impl HelmInstaller {
    /// From the request the chart was rendered with (its `namespace` is the
    /// model's; the install goes to the sandbox namespace instead).
    pub fn from_request(helm: &Helm, request: &RenderRequest) -> HelmInstaller {
        HelmInstaller {
            bin: helm.bin.clone(),
            release: request.release_name(),
            chart: request.chart.clone(),
            chart_args: request.chart_args(),
            kube_context: env_nonempty("HELM_KUBECONTEXT"),
            extra_args: Vec::new(),
        }
    }

    /// The full `helm install` command line (without the binary).
    pub fn install_args(&self, namespace: &str, timeout: Duration) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["install".into(), self.release.clone().into()];
        args.extend(self.chart_args.iter().cloned());
        args.extend(["--namespace".into(), namespace.into(), "--timeout".into()]);
        args.push(format!("{}s", timeout.as_secs().max(1)).into());
        args.extend(self.context_args());
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// helm's major version (`helm version`), if helm says it.
    pub fn major_version(&self) -> Option<u32> {
        let args: Vec<OsString> = vec!["version".into(), "--template".into(), "{{.Version}}".into()];
        let output = self.run_interruptible(&args).ok()?;
        output
            .status
            .success()
            .then(|| helm_major_of(&String::from_utf8_lossy(&output.stdout)))?
    }

    fn context_args(&self) -> Vec<OsString> {
        match &self.kube_context {
            Some(context) => vec!["--kube-context".into(), context.into()],
            None => Vec::new(),
        }
    }

    fn command(&self, args: &[OsString]) -> Command {
        let mut command = Command::new(&self.bin);
        // The sandbox namespace is always given with --namespace.
        command.args(args).env_remove("HELM_NAMESPACE");
        command
    }

    /// Run helm to the end: what cleanup runs, interrupted or not.
    fn run(&self, args: &[OsString]) -> Result<std::process::Output> {
        self.command(args)
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))
    }

    /// Run helm, killed at once by an interrupt (the install: cleanup follows).
    fn run_interruptible(&self, args: &[OsString]) -> Result<std::process::Output> {
        crate::source::interrupt::output(&mut self.command(args)).map_err(|error| {
            if error.kind() == std::io::ErrorKind::Interrupted {
                anyhow::Error::new(crate::source::interrupt::Interrupted)
            } else {
                anyhow::Error::new(error).context(format!("cannot run {}", self.bin.display()))
            }
        })
    }
}

fn stderr_line(output: &std::process::Output) -> String {
    crate::source::failure_summary(output.status, &output.stderr, "helm")
}

impl Installer for HelmInstaller {
    fn install(&mut self, namespace: &str, timeout: Duration) -> Result<InstallOutcome> {
        let output = self.run_interruptible(&self.install_args(namespace, timeout))?;
        if output.status.success() {
            return Ok(InstallOutcome::Ready);
        }
        let message = stderr_line(&output);
        // Waiting for a hook gave up: the objects exist, readiness is ours to report.
        if message.contains("context deadline exceeded") || message.contains("timed out waiting for the condition") {
            return Ok(InstallOutcome::WaitTimedOut(message));
        }
        if let Some(refused) = kube_version_refused(&message, &self.chart) {
            return Err(refused.into());
        }
        let hint = if server_side_apply_refused(&message) {
            " (Helm 4 applies server-side, which this API server cannot do for the chart: \
             --helm-arg=--server-side=false installs client-side)"
        } else {
            ""
        };
        bail!(
            "helm install {} into namespace {namespace} failed: {message}{hint}",
            self.release
        )
    }

    fn uninstall(&mut self, namespace: &str) -> Result<()> {
        let mut args: Vec<OsString> = vec![
            "uninstall".into(),
            self.release.clone().into(),
            "--namespace".into(),
            namespace.into(),
        ];
        args.extend(self.context_args());
        let output = self.run(&args)?;
        if output.status.success() {
            return Ok(());
        }
        let message = stderr_line(&output);
        if message.contains("not found") {
            return Ok(());
        }
        bail!(
            "helm uninstall {} --namespace {namespace} failed: {message}",
            self.release
        )
    }

    fn release(&self) -> &str {
        &self.release
    }

    fn test_command(&self, namespace: &str, timeout: Duration) -> Option<Command> {
        let mut args: Vec<OsString> = vec![
            "test".into(),
            self.release.clone().into(),
            "--namespace".into(),
            namespace.into(),
            "--timeout".into(),
            format!("{}s", timeout.as_secs().max(1)).into(),
        ];
        args.extend(self.context_args());
        Some(self.command(&args))
    }

    fn helm_major(&self) -> Option<u32> {
        self.major_version()
    }

    fn extra_args(&mut self) -> &mut Vec<OsString> {
        &mut self.extra_args
    }

    fn uninstall_hint(&self, namespace: &str) -> String {
        let context = match &self.kube_context {
            Some(c) => format!(" --kube-context {c}"),
            None => String::new(),
        };
        format!("helm uninstall {} --namespace {namespace}{context}", self.release)
    }
}
