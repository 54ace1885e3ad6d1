//! Command-line interface (helm-style flags). clap only: the domain types
//! derive nothing from clap; the value enums here mirror them.

use crate::checks::Severity;
use crate::fix::policy::flavors::Flavor;
use crate::fix::policy::{ApiServer, EgressMode};
use crate::report::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

mod probe;
pub use probe::{AuditArgs, CleanupArgs, InstallArgs, Pull, Runtime};

#[derive(Debug, Parser)]
#[command(
    name = "netaudit",
    version,
    about = "Find network misconfigurations in Helm charts: label collisions, Services with wrong references, missing NetworkPolicies, hostNetwork",
    long_about = "Find network misconfigurations in Helm charts and Kubernetes manifests: the holes an attacker \
who controls one pod uses to move sideways through a cluster.\n\nAs a Helm plugin: `helm netaudit lint CHART`. \
Standalone: `netaudit lint CHART`.\n\nExit codes: 0 no finding at or above --fail-on, 1 findings, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a chart (as `helm template` does) or read rendered manifests, and run the static checks
    #[command(
        after_help = "Examples:\n  helm netaudit lint ./mychart -f prod-values.yaml\n  helm netaudit lint shop ./mychart -n shop --set networkPolicy.enabled=true\n  helm template shop ./mychart | helm netaudit lint --manifests -\n  helm netaudit lint ./mychart --manifests other.yaml   # audit two releases together (M4G)\n  helm netaudit lint --manifests a.yaml --manifests b.yaml --separately --summary   # a batch, each on its own\n  helm netaudit lint ./mychart -o sarif --output-file netaudit.sarif"
    )]
    Lint(Box<LintArgs>),
    /// Install the chart into a throwaway sandbox (--probe), probe the sockets its pods open, and
    /// report static and runtime findings together; the sandbox is always removed
    #[command(
        after_help = "Examples:\n  helm netaudit install ./mychart --probe\n  helm netaudit install shop ./mychart --probe -f values.yaml --runs 2 --timeout 3m -o json\n  helm netaudit install ./mychart --probe --keep      # leave the sandbox for inspection"
    )]
    Install(Box<InstallArgs>),
    /// Probe an installed release in place, read-only: read the sockets its running pods open and
    /// report static and runtime findings together (nothing is installed, restarted or deleted)
    #[command(
        long_about = "Probe a release that is already installed, in place and read-only: its rendered manifests \
come from `helm get manifest`, its pods (found through their ownerReferences) are taken as they are, and \
the sockets of the ready ones are read by exec in each container. Nothing is installed, restarted, created, \
changed or deleted; pods that are not Ready are reported as probe incomplete, not waited for. One probe run: \
dynamic ports (M2) are only those in the pod's ephemeral port range.\n\nThe only exception is \
--allow-debug-containers: a container without a shell can then be read from an ephemeral debug container \
added to its pod, and Kubernetes can never remove an ephemeral container from a pod (it stays in the pod's \
spec until the pod is replaced). Without the flag such containers are reported as not probed.\n\n\
Without RELEASE it is a fleet audit: every deployed, failed or pending Helm release of the namespace (-n), or of \
every namespace (--all-namespaces), read from helm's release records and audited together, so M4G finds \
label collisions between releases. The human output is then the summary table, one row per release; \
-o json gives every finding, -o jsonl a line per release. Static unless --probe.",
        after_help = "Examples:\n  helm netaudit audit shop -n prod\n  helm netaudit audit --all-namespaces                 # the fleet: a row per release\n  helm netaudit audit -n prod --probe -o jsonl         # every release of prod, probed in place\n  helm netaudit audit shop -n prod -o json --output-file netaudit.json\n  HELM_KUBECONTEXT=staging netaudit audit shop -n prod --fail-on medium"
    )]
    Audit(Box<AuditArgs>),
    /// Generate fixes for a chart without touching it: NetworkPolicies (M6), port declarations
    /// from a probe report (M1), a kustomization and a README, written into a directory
    #[command(
        after_help = "Examples:\n  helm netaudit fix ./mychart --output-dir netaudit-fix\n  helm netaudit install shop ./mychart --probe -o json --output-file report.json\n  helm netaudit fix shop ./mychart --from-report report.json --egress strict --output-dir netaudit-fix\n  kubectl kustomize netaudit-fix | kubectl apply -f -"
    )]
    Fix(Box<FixArgs>),
    /// Helm post-renderer: read manifests on stdin, write them on stdout with the port
    /// declarations of a probe report patched in and a NetworkPolicy per workload appended
    #[command(
        name = "post-render",
        after_help = "Examples:\n  helm template shop ./mychart | netaudit post-render --from-report report.json\n  helm install shop ./mychart --post-renderer ./scripts/netaudit-post-renderer           # helm 3\n  helm install shop ./mychart --post-renderer netaudit-post-renderer                     # helm 4 (plugin)\n  helm install shop ./mychart --post-renderer netaudit-post-renderer --post-renderer-args=--from-report=report.json"
    )]
    PostRender(Box<PostRenderArgs>),
    /// Show who may connect to each workload port under the network policies of the input
    /// (Kubernetes, Cilium, Calico, admin tiers): a truth table per port for a small input, ports
    /// with the same answer grouped for a large one
    #[command(
        after_help = "Examples:\n  helm netaudit reach ./mychart\n  helm netaudit reach ./mychart --enable-chart-policies   # with the chart's own policies switched on\n  helm template shop ./mychart | helm netaudit reach --manifests - -o json\n  helm netaudit reach --manifests cluster.yaml --summary\n  helm netaudit reach --manifests cluster.yaml --to shop --from 'app.kubernetes.io/name=frontend'\n  helm netaudit reach --manifests cluster.yaml -o dot | dot -Tsvg > reach.svg"
    )]
    Reach(Box<ReachArgs>),
    /// Find the sandboxes earlier runs left behind (netaudit killed by SIGKILL, --keep, a
    /// cleanup the runtime refused), say how old they are, and remove them
    #[command(
        long_about = "Find the sandboxes earlier runs left behind and remove them: podman pods labelled \
netaudit.io/sandbox (with the volumes named after them and the plan files in the temporary directory, which \
hold the chart's Secrets, decoded), and kube namespaces labelled app.kubernetes.io/managed-by=helm-netaudit \
and netaudit.io/sandbox=<the namespace> (helm uninstall of their release, then the namespace). Nothing \
without these labels is ever touched. A sandbox whose netaudit still runs on this host is in use and left.",
        after_help = "Examples:\n  helm netaudit cleanup --dry-run\n  helm netaudit cleanup --runtime podman netaudit-shop-0a1b2c\n  HELM_KUBECONTEXT=staging helm netaudit cleanup --runtime kube --older-than 1h"
    )]
    Cleanup(CleanupArgs),
    /// Show the documentation of a check (what it finds, why it matters, how to fix it)
    Explain {
        /// Check ID or name, e.g. M4B or service-label-collision
        check: String,
    },
    /// List the checks with their default severity
    Checks,
    /// Print the version (as --version does)
    Version,
    /// Write docs/checks.md from the check registry
    #[command(hide = true)]
    GenDocs {
        /// Where to write
        #[arg(default_value = "docs/checks.md")]
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Every finding, those only the cluster can confirm (severity info) included
    Info,
    /// Every finding but those only the cluster can confirm (the default)
    Low,
    Medium,
    High,
    /// Never exit 1 because of findings
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Never => None,
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Diagnostics with the rendered YAML of every object involved
    Human,
    /// The JSON report (docs/json-schema.md)
    Json,
    /// JSON Lines: one object per chart or release, with its counts and findings (large fleets)
    #[value(name = "jsonl")]
    JsonLines,
    /// SARIF 2.1.0 (GitHub code scanning)
    Sarif,
    /// One line per finding: path:line:col: ID severity message
    Compact,
    /// JUnit XML (CI test reports)
    Junit,
    /// GitHub Actions annotations
    Github,
    /// Your own handlebars template (--template FILE), with the JSON report as its context
    Template,
    /// One self-contained HTML page: the release as a graph, the findings with their YAML, filters
    Html,
    /// The release as a graph in Graphviz's language (dot -Tsvg)
    Dot,
    /// PolicyReports (wgpolicyk8s.io/v1alpha2) per namespace, for audit and lint --cluster (--apply writes them)
    #[value(name = "policyreport")]
    PolicyReport,
}

impl OutputFormat {
    pub fn format(self) -> Format {
        match self {
            OutputFormat::Human => Format::Human,
            OutputFormat::Json => Format::Json,
            OutputFormat::JsonLines => Format::JsonLines,
            OutputFormat::Sarif => Format::Sarif,
            OutputFormat::Compact => Format::Compact,
            OutputFormat::Junit => Format::Junit,
            OutputFormat::Github => Format::Github,
            OutputFormat::Template => Format::Template,
            OutputFormat::Html => Format::Html,
            OutputFormat::Dot => Format::Dot,
            OutputFormat::PolicyReport => Format::PolicyReport,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Audit each chart and manifests file on its own, exactly as if it were run alone (one report,
    /// a summary row each); without it, inputs are audited together: selectors and policies match
    /// across them in a shared namespace, which is what finds M4G
    #[arg(long, help_heading = "Inputs")]
    pub separately: bool,
    /// Check the inputs together with what already runs in the current kube context (KUBECONFIG,
    /// HELM_KUBECONTEXT), read-only with LIST requests: M4G against other releases cluster-wide,
    /// M5D against running pods, M6 and exposure under the live policies. Only findings that
    /// involve the inputs are reported; the installed copy of the audited release is left out
    #[arg(long, help_heading = "Inputs")]
    pub cluster: bool,
    #[command(flatten)]
    pub explore: ExploreArgs,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--explore-values` and its limits.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Render the chart (a chart directory) again with each values key it offers that decides a
    /// Service, a port, a NetworkPolicy, hostNetwork, labels, an Ingress or a monitor flipped
    /// (booleans of values.yaml, booleans and enums of values.schema.json), then pairs that guard
    /// the same object; lint: which findings only some values bring, which values remove
    /// findings, and for each finding the values keys that decide it; reach: a row per render
    /// (ports open to any pod, to outside, isolated); fix: the values that remove findings
    #[arg(long = "explore-values", help_heading = "Values")]
    pub explore_values: bool,
    /// With --explore-values: render at most this many variants (single flips first)
    #[arg(
        long = "max-renders",
        value_name = "N",
        default_value_t = 64,
        requires = "explore_values",
        help_heading = "Values"
    )]
    pub max_renders: usize,
    /// With --explore-values: renders run at once (default: the cores)
    #[arg(short = 'j', long = "jobs", value_name = "N", requires = "explore_values", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Values")]
    pub jobs: Option<u16>,
    /// With --explore-values: stop a variant's render after this long (it is listed as stopped)
    #[arg(long = "render-timeout", value_name = "DURATION", default_value = "60s", value_parser = parse_duration, requires = "explore_values", help_heading = "Values")]
    pub render_timeout: Duration,
}

/// What `lint` and `reach` audit: charts, manifests, and whether to switch
/// the charts' own policies on.
#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Another chart to audit together with the first (repeatable; rendered with its defaults,
    /// the same namespace and --kube-version/--api-versions)
    #[arg(long = "chart", value_name = "[RELEASE=]CHART", help_heading = "Inputs")]
    pub extra_charts: Vec<String>,
    /// Already rendered manifests to audit (repeatable; `-` reads stdin): helm template or
    /// helm get manifest output, kustomize build output, plain files
    #[arg(long, value_name = "FILE", help_heading = "Inputs")]
    pub manifests: Vec<String>,
    /// Render each chart again with every NetworkPolicy its values switch off (the keys the M6
    /// hint names, such as networkPolicy.enabled) set to true, audit that, and say what the
    /// policies close and what stays reachable (manifests files are audited as they are)
    #[arg(long = "enable-chart-policies", help_heading = "Inputs")]
    pub enable_chart_policies: bool,
    /// The largest input read (a manifests file, stdin, a chart's render), e.g. 512MiB for a
    /// cluster's worth of manifests; larger inputs are refused
    #[arg(long = "max-input-size", value_name = "SIZE", default_value = "32MiB", value_parser = parse_size, help_heading = "Inputs")]
    pub max_input_size: usize,
}

/// The chart and the `helm template` flags passed through.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// `[RELEASE] CHART` as for `helm template`: a chart directory, packaged chart, repo/chart or OCI reference
    #[arg(value_name = "[RELEASE] CHART", num_args = 0..=2)]
    pub positional: Vec<String>,

    /// Values file for the chart (repeatable), passed to helm
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILE",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub values: Vec<PathBuf>,
    /// Set values on the command line (repeatable), passed to helm
    #[arg(long, value_name = "KEY=VAL", help_heading = "Rendering (passed to helm template)")]
    pub set: Vec<String>,
    /// Set STRING values (repeatable), passed to helm
    #[arg(
        long = "set-string",
        value_name = "KEY=VAL",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub set_string: Vec<String>,
    /// Set values from files (repeatable), passed to helm
    #[arg(
        long = "set-file",
        value_name = "KEY=PATH",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub set_file: Vec<String>,
    /// Set JSON values (repeatable), passed to helm
    #[arg(
        long = "set-json",
        value_name = "KEY=JSON",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub set_json: Vec<String>,
    /// Namespace of objects that set none (helm passes its -n as HELM_NAMESPACE)
    #[arg(
        short = 'n',
        long,
        env = "HELM_NAMESPACE",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub namespace: Option<String>,
    /// Chart version constraint, passed to helm
    #[arg(long, help_heading = "Rendering (passed to helm template)")]
    pub version: Option<String>,
    /// Chart repository URL, passed to helm
    #[arg(long, value_name = "URL", help_heading = "Rendering (passed to helm template)")]
    pub repo: Option<String>,
    /// Kubernetes version for Capabilities.KubeVersion, passed to helm
    #[arg(long = "kube-version", help_heading = "Rendering (passed to helm template)")]
    pub kube_version: Option<String>,
    /// Kubernetes API versions for Capabilities.APIVersions (repeatable), passed to helm
    #[arg(
        short = 'a',
        long = "api-versions",
        help_heading = "Rendering (passed to helm template)"
    )]
    pub api_versions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReachArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Only the destinations in SELECTOR: a workload `Kind/namespace/name`, a namespace, or a
    /// label selector on pod labels (`app=web,tier in (a,b)`); repeat for any of several
    #[arg(long, value_name = "SELECTOR", help_heading = "Selection")]
    pub to: Vec<String>,
    /// Only the sources in SELECTOR (as --to): rows none of them may reach are left out
    #[arg(long, value_name = "SELECTOR", help_heading = "Selection")]
    pub from: Vec<String>,
    /// Per namespace: how many ports are open to any pod, to outside, isolated
    #[arg(long, help_heading = "Output")]
    pub summary: bool,
    /// Group destination ports with the same answer even for a small input (the human output
    /// of an input of more than 20 workloads always is)
    #[arg(long, help_heading = "Output")]
    pub grouped: bool,
    #[command(flatten)]
    pub explore: ExploreArgs,
    /// Output format (json, jsonl: rows and source groups as data, docs/json-schema.md; csv: a
    /// line per destination port; dot: a Graphviz graph)
    #[arg(short = 'o', long, value_enum, default_value = "human", help_heading = "Output")]
    pub output: ReachFormat,
    /// Write to FILE (atomically) instead of stdout
    #[arg(long = "output-file", value_name = "FILE", help_heading = "Output")]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Human,
    Json,
    /// One JSON object per line: the source groups, then the rows
    Jsonl,
    Csv,
    /// Graphviz (dot -Tsvg)
    Dot,
    /// One self-contained HTML page: the graph and who may connect to each port
    Html,
}

/// Output and exit-code flags shared by `lint` and `install --probe`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value = "human", help_heading = "Output")]
    pub output: OutputFormat,
    /// The handlebars template of `-o template` (its context: the JSON report, docs/json-schema.md)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub template: Option<PathBuf>,
    /// Print a table (one row per chart, one column per check) instead of the findings
    #[arg(long, help_heading = "Output")]
    pub summary: bool,
    /// Write the report to FILE (atomically) instead of stdout
    #[arg(long = "output-file", value_name = "FILE", help_heading = "Output")]
    pub output_file: Option<PathBuf>,
    /// With -o policyreport: server-side apply the reports in the current kube context (field manager netaudit), replacing netaudit's previous ones
    #[arg(long, help_heading = "Output")]
    pub apply: bool,
    /// Exit with 1 when a finding is at or above this severity
    #[arg(long = "fail-on", value_enum, default_value = "low", help_heading = "Output")]
    pub fail_on: FailOn,
    /// Colors in human output
    #[arg(long, value_enum, default_value = "auto", help_heading = "Output")]
    pub color: ColorChoice,
    /// Config file (default: .netaudit.yaml in the chart directory, else in the current directory)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What the generated NetworkPolicies allow out of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Egress {
    /// DNS, the Services the workload refers to, else the whole release
    Dns,
    /// DNS and the Services the workload refers to, nothing more
    Strict,
    /// No egress rules (ingress-only policies)
    None,
}

impl Egress {
    pub fn mode(self) -> EgressMode {
        match self {
            Egress::Dns => EgressMode::Dns,
            Egress::Strict => EgressMode::Strict,
            Egress::None => EgressMode::None,
        }
    }
}

/// The language `fix` and `post-render` write policies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFlavor {
    /// networking.k8s.io/v1 NetworkPolicy (any CNI that enforces policies)
    Kubernetes,
    /// cilium.io/v2 CiliumNetworkPolicy (the API server as an entity, DNS through Cilium's proxy, outside hosts by name)
    Cilium,
    /// projectcalico.org/v3 NetworkPolicy (the API server as the Service default/kubernetes)
    Calico,
}

impl PolicyFlavor {
    pub fn flavor(self) -> Flavor {
        match self {
            PolicyFlavor::Kubernetes => Flavor::Kubernetes,
            PolicyFlavor::Cilium => Flavor::Cilium,
            PolicyFlavor::Calico => Flavor::Calico,
        }
    }
}

/// How `fix` and `post-render` write policies.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The policy language to write: the same flows in each, with the CNI's own constructs for the
    /// API server, the nodes and the DNS where it has them
    #[arg(long, value_enum, default_value = "kubernetes", help_heading = "Policies")]
    pub flavor: PolicyFlavor,
    /// What the policies allow out of each workload
    #[arg(long, value_enum, default_value = "dns", help_heading = "Policies")]
    pub egress: Egress,
    /// Where the Kubernetes API server is, for workloads that call it (repeatable; default: any
    /// address on TCP 443 and 6443). `kubectl get endpoints kubernetes -n default` shows it. The
    /// Kubernetes flavor writes these addresses; Cilium and Calico name the API server their own
    /// way and take the ports
    #[arg(long = "api-server", value_name = "CIDR[:PORT]", value_parser = parse_api_server, help_heading = "Policies")]
    pub api_server: Vec<ApiServer>,
    /// Read where the API server is from the current kube context (KUBECONFIG, HELM_KUBECONTEXT):
    /// the addresses and ports of the Endpoints default/kubernetes, one read-only GET. The
    /// Kubernetes flavor names exactly those; Cilium and Calico name the API server their own way
    /// and take its ports
    #[arg(long, help_heading = "Policies", conflicts_with = "api_server")]
    pub cluster: bool,
    /// Also write a policy for workloads the chart's own NetworkPolicies already select
    /// (policies add up: the pods are then allowed the union of both)
    #[arg(long = "also-covered", help_heading = "Policies")]
    pub also_covered: bool,
    /// The namespace Prometheus runs in: ports a ServiceMonitor, PodMonitor or prometheus.io
    /// annotation scrapes are allowed from it (default: from any namespace)
    #[arg(long = "monitoring-namespace", value_name = "NAME", value_parser = parse_namespace, help_heading = "Policies")]
    pub monitoring_namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Already rendered manifests to fix instead of a chart (`-` reads stdin)
    #[arg(long, value_name = "FILE", help_heading = "Inputs", conflicts_with = "positional")]
    pub manifests: Option<String>,
    /// A report of `install --probe -o json` (or `audit -o json`): M1 ports declared, M1/M2 ports
    /// allowed, M2/M3 explained, every observed flow allowed and needed (--check: checked)
    #[arg(long = "from-report", value_name = "FILE", help_heading = "Inputs")]
    pub from_report: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Also write baseline.yaml: the cluster-wide default of the release's namespaces in the
    /// flavor's cluster-wide kind (ClusterNetworkPolicy of the Baseline tier,
    /// CiliumClusterwideNetworkPolicy, Calico GlobalNetworkPolicy): all ingress and all egress
    /// but DNS denied, unless a policy allows it
    #[arg(long, help_heading = "Policies", conflicts_with = "check")]
    pub baseline: bool,
    #[command(flatten)]
    pub explore: ExploreArgs,
    /// Directory to write into (created if missing)
    #[arg(
        long = "output-dir",
        value_name = "DIR",
        help_heading = "Output",
        required_unless_present = "check"
    )]
    pub output_dir: Option<PathBuf>,
    /// Write nothing: check the NetworkPolicies in the manifests as they are (yours, the chart's,
    /// or the output of a previous `fix`): every flow the application needs, allowed, BLOCKED or
    /// UNKNOWN (--from-report: the observed flows too), and every flow they allow. Exit 1 when a
    /// needed flow is blocked or unknown
    #[arg(long, help_heading = "Output", conflicts_with_all = ["output_dir", "force"])]
    pub check: bool,
    /// With --check: needed flows netaudit cannot decide (UNKNOWN: where they go is not known, or
    /// they pass only through a construct it does not evaluate) do not make the exit code 1
    #[arg(long = "unknown-ok", help_heading = "Output", requires = "check")]
    pub unknown_ok: bool,
    /// Overwrite files that already exist in the directory
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// Config file (default: .netaudit.yaml in the chart directory, else in the current
    /// directory): its disabled checks and waivers apply to the findings the README lists
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PostRenderArgs {
    /// A JSON report of `install --probe -o json`: its M1 ports are declared on the containers
    #[arg(long = "from-report", value_name = "FILE")]
    pub from_report: Option<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Namespace of objects that set none (helm passes its -n as HELM_NAMESPACE)
    #[arg(short = 'n', long, env = "HELM_NAMESPACE")]
    pub namespace: Option<String>,
    /// Config file (default: .netaudit.yaml in the current directory)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A namespace name: a DNS-1123 label (lowercase alphanumerics and `-`, at
/// most 63 characters, starting and ending alphanumeric).
fn parse_namespace(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid namespace name {text:?}: lowercase letters, digits and '-', at most 63 characters"
        ))
    }
}

fn parse_api_server(text: &str) -> Result<ApiServer, String> {
    ApiServer::parse(text)
}

/// The longest duration accepted: far beyond any sensible wait, and far
/// from overflowing a deadline computed from it.
const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// `90s`, `5m`, `1m30s`, `500ms`, `2h`, or plain seconds; at most a week.
/// The largest `--max-input-size`: what a 64-bit machine can hold as one
/// text, and then some.
const MAX_SIZE: u64 = 64 << 30;

/// A size: bytes, or a number with `KB`/`MB`/`GB` (powers of 1000) or
/// `KiB`/`MiB`/`GiB` (powers of 1024), e.g. `512MiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("invalid size {text:?}: use e.g. 32MiB, 1GiB, 500MB or a number of bytes");
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "MB" => 1000 * 1000,
        "GB" => 1000 * 1000 * 1000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = number
        .checked_mul(factor)
        .filter(|b| (1..=MAX_SIZE).contains(b))
        .ok_or_else(|| format!("size {text:?} is out of range: 1 byte to 64GiB"))?;
    usize::try_from(bytes).map_err(|_| format!("size {text:?} is more than this machine can address"))
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: use e.g. 90s, 5m, 1m30s, 500ms");
    let too_long = || format!("duration {text:?} is too long: at most 168h (a week)");
    let total = if let Ok(seconds) = text.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let mut total = Duration::ZERO;
        let mut number = String::new();
        let mut chars = text.chars().peekable();
        let mut any = false;
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let value: u64 = match number.parse() {
                Ok(value) => value,
                Err(_) if !number.is_empty() => return Err(too_long()),
                Err(_) => return Err(bad()),
            };
            number.clear();
            let unit = match (c, chars.peek()) {
                ('m', Some('s')) => {
                    chars.next();
                    Some(Duration::from_millis(value))
                }
                ('h', _) => value.checked_mul(3600).map(Duration::from_secs),
                ('m', _) => value.checked_mul(60).map(Duration::from_secs),
                ('s', _) => Some(Duration::from_secs(value)),
                _ => return Err(bad()),
            };
            total = unit.and_then(|u| total.checked_add(u)).ok_or_else(too_long)?;
            any = true;
        }
        if !number.is_empty() || !any {
            return Err(bad());
        }
        total
    };
    if total > MAX_DURATION {
        return Err(too_long());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(super::parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(super::parse_size("500MB"), Ok(500_000_000));
        assert_eq!(super::parse_size("4096"), Ok(4096));
        for bad in ["", "MiB", "12 parsecs", "-1MiB", "0", "65GiB", "99999999999999999999"] {
            assert!(super::parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(super::parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(super::parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(super::parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(super::parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(super::parse_duration("5x").is_err());
        assert!(super::parse_duration("m").is_err());
        // Overflow is an error, never a panic or a wrap-around.
        for huge in [
            "18446744073709551615s1s",
            "5124095576030432h",
            "99999999999999999999999s",
            "18446744073709551615",
            "169h",
        ] {
            assert!(super::parse_duration(huge).unwrap_err().contains("too long"), "{huge}");
        }
        assert_eq!(super::parse_duration("168h"), Ok(Duration::from_secs(168 * 3600)));
    }
}
