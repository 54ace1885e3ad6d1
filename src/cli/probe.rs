//! The flags of the commands that run things: `install --probe`, `audit`,
//! `cleanup`.

use super::{parse_duration, RenderArgs, ReportArgs};
use crate::probe::{PullPolicy, RuntimeChoice};
use clap::{Args, ValueEnum};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// podman (install); for cleanup, both
    Auto,
    /// Pods in a throwaway namespace of the current Kubernetes context (HELM_KUBECONTEXT, KUBECONFIG)
    Kube,
    /// Local pods with `podman kube play` (no cluster needed; root)
    Podman,
}

impl Runtime {
    pub fn choice(self) -> RuntimeChoice {
        match self {
            Runtime::Auto => RuntimeChoice::Auto,
            Runtime::Kube => RuntimeChoice::Kube,
            Runtime::Podman => RuntimeChoice::Podman,
        }
    }
}

/// When the podman runtime pulls the chart's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Pull {
    /// Pull images that are not in local storage (as Kubernetes' IfNotPresent)
    Missing,
    /// Pull every image, present or not (as Kubernetes' Always)
    Always,
    /// Never pull: every image must be in local storage already
    Never,
}

impl Pull {
    pub fn policy(self) -> PullPolicy {
        match self {
            Pull::Missing => PullPolicy::Missing,
            Pull::Always => PullPolicy::Always,
            Pull::Never => PullPolicy::Never,
        }
    }
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Install into a throwaway sandbox and probe the sockets the pods open (required: netaudit
    /// never installs anywhere else)
    #[arg(long, help_heading = "Probe")]
    pub probe: bool,
    /// Where the sandbox runs: auto is podman; a Kubernetes cluster is used only with --runtime kube
    #[arg(long, value_enum, default_value = "auto", help_heading = "Probe")]
    pub runtime: Runtime,
    /// kube runtime: install even what lands outside the sandbox namespace (cluster-scoped objects
    /// such as ClusterRoles, CRDs and webhook configurations, and objects of other namespaces);
    /// without it netaudit lists them and installs nothing
    #[arg(long = "allow-cluster-scoped", help_heading = "Probe")]
    pub allow_cluster_scoped: bool,
    /// podman runtime: when to pull the chart's images (on Kubernetes the cluster pulls, as each
    /// container's imagePullPolicy says)
    #[arg(long, value_enum, default_value = "missing", help_heading = "Probe")]
    pub pull: Pull,
    /// kube runtime: an argument appended to `helm install` as it is (repeatable). Helm 4 against
    /// Kubernetes older than 1.22 gets --server-side=false by itself unless a --server-side flag is
    /// given here
    #[arg(
        long = "helm-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        help_heading = "Probe"
    )]
    pub helm_args: Vec<String>,
    /// Image of netaudit's containers: kube's debug container for shell-less containers; the
    /// --exercise client (needs `sh` and `nc`)
    #[arg(long = "probe-image", default_value = crate::probe::kube::DEFAULT_PROBE_IMAGE, help_heading = "Probe")]
    pub probe_image: String,
    /// After the last run, a client pod connects once to every TCP Service port (by name) and
    /// the report says which answered (its flows: origin `exercise`)
    #[arg(long, help_heading = "Probe")]
    pub exercise: bool,
    /// After the last run, run the chart's test hooks (`helm.sh/hook: test` Pods and Jobs) in
    /// the sandbox as `helm test` would; the report says which passed (their flows: origin `test`)
    #[arg(long = "run-tests", help_heading = "Probe")]
    pub run_tests: bool,
    /// Probe runs; the pods are restarted between runs to find dynamic ports (M2)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=5), help_heading = "Probe")]
    pub runs: u8,
    /// How long to wait for the pods to become ready, per run (e.g. 90s, 5m)
    #[arg(long, default_value = "5m", value_parser = parse_duration, help_heading = "Probe")]
    pub timeout: Duration,
    /// Pause after readiness before reading sockets, for servers that bind late
    #[arg(long, default_value = "2s", value_parser = parse_duration, help_heading = "Probe")]
    pub settle: Duration,
    /// Leave the sandbox in place for inspection (prints how to remove it)
    #[arg(long, help_heading = "Probe")]
    pub keep: bool,
    /// Install the chart with every NetworkPolicy its values switch off (the keys the M6 hint
    /// names) set to true, and say what the policies close of what the probe found, against the
    /// chart as its values render it
    #[arg(long = "enable-chart-policies", help_heading = "Probe")]
    pub enable_chart_policies: bool,
    /// Print every flow the pods made as a table grouped by destination port, instead of the
    /// findings (exit code as --fail-on says). Human output only: -o json has probe.flows
    #[arg(long, help_heading = "Probe")]
    pub flows: bool,
    /// No progress lines on stderr
    #[arg(short = 'q', long, help_heading = "Probe")]
    pub quiet: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Only these sandboxes (as a failed cleanup or --keep names them); all by default
    #[arg(value_name = "SANDBOX")]
    pub sandboxes: Vec<String>,
    /// Where to look: podman, kube (the current context), or auto: both, podman when installed and
    /// kube when the current context answers
    #[arg(long, value_enum, default_value = "auto", hide_possible_values = true)]
    pub runtime: Runtime,
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only sandboxes at least this old (30m, 2h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The installed release to audit; without it, every release of the namespace (-n), or of
    /// the whole cluster with --all-namespaces: a fleet audit
    #[arg(value_name = "RELEASE")]
    pub release: Option<String>,
    /// Namespace of the release, or of the fleet (helm passes its -n as HELM_NAMESPACE; default:
    /// `default`)
    #[arg(short = 'n', long, env = "HELM_NAMESPACE")]
    pub namespace: Option<String>,
    /// A fleet audit of every Helm release in every namespace (from helm's own release records):
    /// one summary row per release, M4G across all of them
    #[arg(short = 'A', long = "all-namespaces", conflicts_with = "release")]
    pub all_namespaces: bool,
    /// Fleet audits: also read the sockets of the releases' running pods, in place and read-only
    /// (`audit RELEASE` always does). Without it a fleet audit is static and needs no pod access
    #[arg(long, help_heading = "Probe")]
    pub probe: bool,
    /// Read containers without a shell from an ephemeral debug container added to their pod (the
    /// one write audit can make; Kubernetes cannot remove an ephemeral container afterwards).
    /// Without it such containers are reported as not probed
    #[arg(long = "allow-debug-containers", help_heading = "Probe")]
    pub allow_debug_containers: bool,
    /// With --allow-debug-containers: the debug container's image
    #[arg(long = "probe-image", default_value = crate::probe::kube::DEFAULT_PROBE_IMAGE, help_heading = "Probe")]
    pub probe_image: String,
    /// No progress lines on stderr
    #[arg(short = 'q', long, help_heading = "Probe")]
    pub quiet: bool,
    #[command(flatten)]
    pub report: ReportArgs,
}
