//! Audit the shared real-world chart corpus and summarise the findings.
//!
//! ```sh
//! cargo run --release --example corpus -- [CORPUS_DIR] [--markdown docs/corpus-results.md] [--findings FILE]
//! ```
//!
//! `CORPUS_DIR` defaults to `../shared/corpus` (relative to the current
//! directory, then to the crate root). It holds `rendered/<dataset>/<chart>.yaml`
//! (`helm template <chart> <dir> --namespace <chart>`) and
//! `values/<dataset>/<chart>.yaml` (the chart's default values). Every chart is
//! audited on its own, as its own release, with the default namespace equal to
//! its file stem and the NetworkPolicy toggles of its values file (for the M6
//! hint), exactly as `netaudit lint` audits one rendered chart.
//!
//! Prints one row per dataset (charts, affected charts, findings per check
//! counted as the spec's "Counting for summaries" says, summed over the
//! dataset's charts) and a total row. `--markdown FILE` also writes the report
//! (per-dataset and per-chart tables, load errors, comparison with the paper);
//! a hand-written part of an existing FILE, from the line
//! `<!-- hand-written: kept when this file is regenerated -->` to the end, is
//! kept. `--findings FILE` writes every finding as one JSON object per line
//! (for manual review). Without a corpus it prints a message and exits 0.

use netaudit::engine::{self, config::Config};
use netaudit::model::{Detail, Manifests};
use netaudit::report::summary::Summary;
use netaudit::source::{self, InputSpec};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[path = "corpus/exposure.rs"]
mod exposure;

const HAND_WRITTEN_MARKER: &str = "<!-- hand-written: kept when this file is regenerated -->";

/// Datasets in the order of the corpus README; unknown ones follow, sorted.
const DATASET_ORDER: &[&str] = &[
    "bitnami",
    "bitnami-removed",
    "banzaicloud",
    "banzaicloud-removed",
    "eea",
    "cncf",
];

struct Args {
    corpus: Option<PathBuf>,
    markdown: Option<PathBuf>,
    findings: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        corpus: None,
        markdown: None,
        findings: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--markdown" => args.markdown = Some(it.next().ok_or("--markdown needs a FILE")?.into()),
            "--findings" => args.findings = Some(it.next().ok_or("--findings needs a FILE")?.into()),
            "-h" | "--help" => {
                return Err(
                    "usage: cargo run --release --example corpus -- [CORPUS_DIR] [--markdown FILE] [--findings FILE]"
                        .into(),
                )
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if args.corpus.is_none() => args.corpus = Some(s.into()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    Ok(args)
}

fn default_corpus() -> PathBuf {
    let here = PathBuf::from("../shared/corpus");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

thread_local! {
    /// The message of the last panic, caught per chart so one bad file does not stop the run.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Run `f`, turning a panic into an error that names where it happened.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| LAST_PANIC.with(|l| format!("PANIC: {}", l.borrow())))
}

/// One chart's result.
struct ChartResult {
    dataset: String,
    chart: String,
    bytes: usize,
    objects: usize,
    workloads: usize,
    services: usize,
    /// `None` when the chart failed to load.
    counts: Option<BTreeMap<&'static str, usize>>,
    affected: bool,
    error: Option<String>,
    /// The values file could not be read for the M6 hint.
    values_error: Option<String>,
    /// What `fix` would generate: policies, and skipped workloads by reason.
    policies: PolicyStats,
    /// Whether `fix`'s output (default options) lets every needed flow through.
    needs: NeedStats,
    /// Misconfigured endpoints and who can reach them.
    exposure: exposure::ExposureStats,
}

#[derive(Default, Clone)]
struct NeedStats {
    needed: usize,
    allowed: usize,
    /// Needed flows whose clients nothing names (the whole release may connect).
    guessed: usize,
    /// Needed flows netaudit cannot tell (UNKNOWN: a host no Service of the chart is).
    unknown: usize,
    /// `route: why it is needed (what blocks it)`.
    blocked: Vec<String>,
    /// Of `blocked`, those a generated policy blocks (the others: only the chart's own).
    blocked_by_generated: usize,
    /// Needed flows still blocked with `--also-covered` (netaudit's policy
    /// added next to the chart's own).
    blocked_also_covered: usize,
    /// The applied manifests could not be evaluated.
    error: Option<String>,
}

/// The needed flows of a chart once `fix`'s output (default options, the
/// chart's own policies kept for the workloads they select) is applied.
fn need_stats(manifests: &Manifests, config: &Config) -> NeedStats {
    use netaudit::fix::{flows, plan, policy::PolicyOptions};
    let outcome = plan::plan(manifests, config, &[], &PolicyOptions::default());
    let also_covered = PolicyOptions {
        also_covered: true,
        ..PolicyOptions::default()
    };
    let blocked_also_covered = flows::tables(manifests, &plan::plan(manifests, config, &[], &also_covered))
        .map(|t| t.blocked().count())
        .unwrap_or(usize::MAX);
    let tables = match flows::tables(manifests, &outcome) {
        Ok(t) => t,
        Err(e) => {
            return NeedStats {
                error: Some(format!("{e:#}")),
                ..NeedStats::default()
            }
        }
    };
    let generated: Vec<String> = outcome
        .generated
        .iter()
        .filter_map(|g| g.as_policy()?.0.pointer("/metadata/name")?.as_str().map(str::to_string))
        .collect();
    NeedStats {
        blocked_also_covered,
        blocked_by_generated: tables
            .blocked()
            .filter(|(_, verdict)| verdict.blocked_by.iter().any(|p| generated.contains(p)))
            .count(),
        needed: tables.needs.len(),
        allowed: tables.needs.len() - tables.blocked().count() - tables.unknown().count(),
        unknown: tables.unknown().count(),
        guessed: tables.needs.iter().filter(|(need, _)| need.guessed).count(),
        blocked: tables
            .blocked()
            .map(|(need, verdict)| {
                format!(
                    "{}: {} ({})",
                    need.route(),
                    need.why,
                    verdict.blocked.as_deref().unwrap_or_default()
                )
            })
            .collect(),
        error: None,
    }
}

#[derive(Default, Clone)]
struct PolicyStats {
    generated: usize,
    host_network: usize,
    collision: usize,
    no_labels: usize,
    /// Policies whose comments say who may connect had to fall back to the
    /// whole release for some port (nothing in the chart names the Service).
    with_fallback: usize,
    /// Policies that, for some such port, fall back to any pod of any
    /// namespace (no other workload of the release can be a client).
    with_cluster_fallback: usize,
}

impl PolicyStats {
    fn skipped(&self) -> usize {
        self.host_network + self.collision + self.no_labels
    }
}

fn policy_stats(index: &netaudit::model::Index<'_>) -> PolicyStats {
    use netaudit::fix::policy::{generate, Generated, PolicyOptions};
    let mut stats = PolicyStats::default();
    // Every workload's own policy, also where the chart's policies select it
    // (what `fix --also-covered` writes): the generator's reach, not the
    // chart's.
    let options = PolicyOptions {
        also_covered: true,
        ..PolicyOptions::default()
    };
    for generated in generate(index, &options) {
        match generated {
            Generated::Policy { explanations, .. } => {
                stats.generated += 1;
                if explanations
                    .iter()
                    .any(|e| e.contains("allowed from the whole release"))
                {
                    stats.with_fallback += 1;
                }
                if explanations
                    .iter()
                    .any(|e| e.contains("allowed from any pod of any namespace"))
                {
                    stats.with_cluster_fallback += 1;
                }
            }
            Generated::Skipped { reason, .. } if reason.contains("hostNetwork") => stats.host_network += 1,
            Generated::Skipped { reason, .. } if reason.contains("have no labels") => stats.no_labels += 1,
            Generated::Skipped { .. } => stats.collision += 1,
            Generated::Covered { .. } => {}
        }
    }
    stats
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    std::panic::set_hook(Box::new(|info| {
        // `<crate>-<version>/src/x.rs:1:2`, without the local cargo registry path.
        let place = info.location().map_or(String::new(), |l| {
            let file = l.file();
            let file = file
                .split_once("/registry/src/")
                .and_then(|(_, rest)| rest.split_once('/'))
                .map_or(file, |(_, rest)| rest);
            format!(" at {file}:{}", l.line())
        });
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        LAST_PANIC.with(|l| *l.borrow_mut() = format!("panicked{place}: {}", payload.replace('\n', " ")));
    }));
    let corpus = args.corpus.clone().unwrap_or_else(default_corpus);
    let rendered = corpus.join("rendered");
    if !rendered.is_dir() {
        println!(
            "corpus not found at {} (no rendered/ directory), skipping",
            corpus.display()
        );
        return ExitCode::SUCCESS;
    }
    match run(&args, &corpus) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn datasets(rendered: &Path) -> std::io::Result<Vec<String>> {
    let mut found: Vec<String> = std::fs::read_dir(rendered)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort_by_key(|d| {
        (
            DATASET_ORDER.iter().position(|o| o == d).unwrap_or(usize::MAX),
            d.clone(),
        )
    });
    Ok(found)
}

fn charts(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

fn io(p: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", p.display())
}

fn run(args: &Args, corpus: &Path) -> Result<(), String> {
    let rendered = corpus.join("rendered");
    let config = Config::default();
    let checks: Vec<&'static str> = netaudit::checks::REGISTRY.iter().map(|c| c.id).collect();
    let mut results: Vec<ChartResult> = Vec::new();
    let mut findings_out = String::new();
    let started = Instant::now();
    for dataset in datasets(&rendered).map_err(io(&rendered))? {
        let dir = rendered.join(&dataset);
        for path in charts(&dir).map_err(io(&dir))? {
            let chart = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let size = std::fs::metadata(&path).map_err(io(&path))?.len() as usize;
            let mut result = ChartResult {
                dataset: dataset.clone(),
                chart: chart.clone(),
                bytes: size,
                objects: 0,
                workloads: 0,
                services: 0,
                counts: None,
                affected: false,
                error: None,
                values_error: None,
                policies: PolicyStats::default(),
                needs: NeedStats::default(),
                exposure: exposure::ExposureStats::default(),
            };
            // These files are `helm template` output: audit them as `lint CHART` would.
            let values_path = corpus.join("values").join(&dataset).join(format!("{chart}.yaml"));
            let spec = InputSpec::RenderedChart {
                path: path.clone(),
                name: format!("{dataset}/{chart}"),
                release: chart.clone(),
                namespace: chart.clone(),
                default_values: Some(values_path),
            };
            let inputs = match no_panic(|| source::acquire(std::slice::from_ref(&spec))) {
                Ok(Ok(inputs)) => inputs,
                Ok(Err(e)) => {
                    result.error = Some(format!("{e:#}"));
                    results.push(result);
                    continue;
                }
                Err(panic) => {
                    result.values_error = Some(panic);
                    results.push(result);
                    continue;
                }
            };
            let manifests = match no_panic(|| Manifests::load(inputs.clone(), Detail::Checks)) {
                Ok(Ok(m)) => m,
                Ok(Err(e)) => {
                    result.error = Some(e.to_string());
                    results.push(result);
                    continue;
                }
                Err(panic) => {
                    result.error = Some(panic);
                    results.push(result);
                    continue;
                }
            };
            let audit = match no_panic(|| engine::run(&manifests, &config, None)) {
                Ok(a) => a,
                Err(panic) => {
                    result.error = Some(panic);
                    results.push(result);
                    continue;
                }
            };
            let summary = Summary::of(&audit);
            let row = &summary.rows[0];
            result.objects = manifests.objects.len();
            result.workloads = audit.index.workloads.len();
            result.services = audit.index.services.len();
            result.counts = Some(checks.iter().map(|c| (*c, row.count(c))).collect());
            result.affected = row.affected;
            result.exposure = exposure::stats(&audit);
            // The generator reads ConfigMaps and Ingresses too, as `fix` does.
            match no_panic(|| Manifests::load(inputs, Detail::WithConfiguration)) {
                Ok(Ok(full)) => {
                    result.policies = no_panic(|| policy_stats(&full.index())).unwrap_or_default();
                    result.needs = no_panic(|| need_stats(&full, &config)).unwrap_or_else(|panic| NeedStats {
                        error: Some(panic),
                        ..NeedStats::default()
                    });
                }
                Ok(Err(e)) => result.needs.error = Some(e.to_string()),
                Err(panic) => result.needs.error = Some(panic),
            }
            if args.findings.is_some() {
                for f in &audit.findings {
                    let subjects: Vec<serde_json::Value> = f
                        .subjects
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "object": s.object.id(),
                                "template": s.object.template,
                                "input_line": s.location.line,
                                "label": s.label,
                            })
                        })
                        .collect();
                    let line = serde_json::json!({
                        "dataset": dataset,
                        "chart": chart,
                        "file": path.display().to_string(),
                        "check": f.check.id,
                        "port": f.port,
                        "message": f.message,
                        "help": f.help,
                        "subjects": subjects,
                        "exposure": f.exposure,
                    });
                    findings_out.push_str(&line.to_string());
                    findings_out.push('\n');
                }
            }
            results.push(result);
        }
    }
    let elapsed = started.elapsed();

    let table = dataset_table(&results, &checks);
    print!("{table}");
    let failed: Vec<&ChartResult> = results.iter().filter(|r| r.error.is_some()).collect();
    println!(
        "\n{} charts, {} failed to load; read + load + audit + policy generation took {:.2?} (single thread, {} build)",
        results.len(),
        failed.len(),
        elapsed,
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    for r in &failed {
        println!(
            "  load error: {}/{}: {}",
            r.dataset,
            r.chart,
            r.error.as_deref().unwrap_or("")
        );
    }
    for r in results.iter().filter(|r| r.values_error.is_some()) {
        println!(
            "  values file not used for the M6 hint: {}/{}: {}",
            r.dataset,
            r.chart,
            r.values_error.as_deref().unwrap_or("")
        );
    }
    if let Some(path) = &args.findings {
        std::fs::write(path, findings_out).map_err(io(path))?;
        println!("findings written to {}", path.display());
    }
    if let Some(path) = &args.markdown {
        let kept = std::fs::read_to_string(path)
            .ok()
            .and_then(|old| old.find(HAND_WRITTEN_MARKER).map(|i| old[i..].to_string()));
        let mut doc = markdown(&results, &checks, &table);
        doc.push('\n');
        match kept {
            Some(kept) => doc.push_str(&kept),
            None => {
                doc.push_str(HAND_WRITTEN_MARKER);
                doc.push('\n');
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(path, doc).map_err(io(path))?;
        println!("report written to {}", path.display());
    }
    Ok(())
}

/// Per-dataset sums and a total row, as a Markdown table.
fn dataset_table(results: &[ChartResult], checks: &[&'static str]) -> String {
    let mut order: Vec<&str> = Vec::new();
    for r in results {
        if !order.contains(&r.dataset.as_str()) {
            order.push(&r.dataset);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "| dataset | charts | affected | {} |", checks.join(" | "));
    let _ = writeln!(out, "|---|---:|---:|{}", "---:|".repeat(checks.len()));
    let row = |name: &str, rows: &[&ChartResult], out: &mut String| {
        let counts: Vec<String> = checks
            .iter()
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.counts.as_ref())
                    .map(|m| m[c])
                    .sum::<usize>()
                    .to_string()
            })
            .collect();
        let affected = rows.iter().filter(|r| r.affected).count();
        let _ = writeln!(out, "| {name} | {} | {affected} | {} |", rows.len(), counts.join(" | "));
    };
    for dataset in &order {
        let rows: Vec<&ChartResult> = results.iter().filter(|r| r.dataset == *dataset).collect();
        row(dataset, &rows, &mut out);
    }
    let all: Vec<&ChartResult> = results.iter().collect();
    row("**total**", &all, &mut out);
    out
}

/// The paper's Table 2 (static columns only), by its dataset names.
const PAPER: &[(&str, &str, [usize; 9])] = &[
    // dataset, affected/apps, M4A M4B M4C M4* M5B M5C M5D M6 M7
    ("Banzai Cloud", "51 / 51", [8, 4, 0, 0, 2, 0, 0, 51, 0]),
    ("Bitnami", "158 / 158", [25, 10, 0, 5, 14, 3, 0, 156, 7]),
    ("CNCF", "7 / 10", [0, 0, 0, 0, 0, 0, 0, 7, 0]),
    ("EEA", "8 / 19", [0, 1, 0, 0, 0, 0, 0, 0, 0]),
    ("Prometheus C.", "25 / 25", [0, 0, 0, 0, 4, 0, 0, 25, 4]),
    ("Wikimedia", "10 / 27", [2, 1, 1, 0, 1, 0, 0, 2, 0]),
    ("Total", "259 / 287", [35, 16, 1, 5, 21, 3, 0, 241, 11]),
];
const PAPER_COLUMNS: [&str; 9] = ["M4A", "M4B", "M4C", "M4G", "M5B", "M5C", "M5D", "M6", "M7"];

/// Our datasets grouped as the paper's (Bitnami = current + removed charts, ...).
const GROUPS: &[(&str, &[&str])] = &[
    ("Banzai Cloud", &["banzaicloud", "banzaicloud-removed"]),
    ("Bitnami", &["bitnami", "bitnami-removed"]),
    ("CNCF", &["cncf"]),
    ("EEA", &["eea"]),
];

fn comparison_table(results: &[ChartResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| dataset | source | affected / charts | {} |",
        PAPER_COLUMNS.join(" | ")
    );
    let _ = writeln!(out, "|---|---|---:|{}", "---:|".repeat(PAPER_COLUMNS.len()));
    for (paper_name, ours) in GROUPS {
        if let Some((_, affected, counts)) = PAPER.iter().find(|(n, _, _)| n == paper_name) {
            let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
            let _ = writeln!(out, "| {paper_name} | paper | {affected} | {} |", counts.join(" | "));
        }
        let rows: Vec<&ChartResult> = results.iter().filter(|r| ours.contains(&r.dataset.as_str())).collect();
        let counts: Vec<String> = PAPER_COLUMNS
            .iter()
            .map(|c| {
                rows.iter()
                    .filter_map(|r| r.counts.as_ref())
                    .map(|m| m.get(c).copied().unwrap_or(0))
                    .sum::<usize>()
                    .to_string()
            })
            .collect();
        let _ = writeln!(
            out,
            "| {paper_name} | netaudit ({}) | {} / {} | {} |",
            ours.join(" + "),
            rows.iter().filter(|r| r.affected).count(),
            rows.len(),
            counts.join(" | ")
        );
    }
    out
}

fn markdown(results: &[ChartResult], checks: &[&'static str], table: &str) -> String {
    let mut out = String::new();
    let total_bytes: usize = results.iter().map(|r| r.bytes).sum();
    let failed: Vec<&ChartResult> = results.iter().filter(|r| r.error.is_some()).collect();
    let _ = writeln!(out, "# Results on the real-world chart corpus\n");
    let _ = writeln!(
        out,
        "<!-- The generated part of this file (up to the hand-written marker) comes from\n     \
         `cargo run --release --example corpus -- ../shared/corpus --markdown docs/corpus-results.md`. -->\n"
    );
    let _ = writeln!(
        out,
        "{} charts ({:.1} MB of rendered YAML) from `../shared/corpus` (see its README: \
         `helm template <chart> <dir> --namespace <chart>` with default values, helm v4.1.4), audited by \
         helm-netaudit {} with the default configuration. Every chart is audited on its own, as its own \
         release, with the default namespace equal to the chart name and the NetworkPolicy toggles of the \
         chart's `values.yaml` (for the M6 hint), as `netaudit lint` audits one rendered chart.\n",
        results.len(),
        total_bytes as f64 / 1e6,
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "Reproduce (from the repository root, with the corpus at `../shared/corpus`):\n"
    );
    let _ = writeln!(
        out,
        "```sh\ncargo run --release --example corpus -- ../shared/corpus --markdown docs/corpus-results.md\n```\n"
    );
    let _ = writeln!(
        out,
        "Add `--findings /tmp/findings.jsonl` to get every finding (one JSON object per line). \
         Without the corpus the example prints \"corpus not found, skipping\" and exits 0.\n"
    );
    let _ = writeln!(out, "## Findings per dataset\n");
    let _ = writeln!(
        out,
        "Counts follow the spec's \"Counting for summaries\": findings as reported, except M6, counted once \
         per chart; *affected* = charts with at least one finding. Columns are summed over the dataset's \
         charts. M4G (cross-release collisions) is 0 by construction: every chart is audited alone, in its \
         own namespace.\n"
    );
    out.push_str(table);
    out.push('\n');
    let _ = writeln!(out, "## Charts that failed to load\n");
    if failed.is_empty() {
        let _ = writeln!(out, "None: all {} rendered files load.\n", results.len());
    } else {
        let _ = writeln!(out, "{} of {} charts:\n", failed.len(), results.len());
        for r in &failed {
            let _ = writeln!(
                out,
                "- `{}/{}`: {}",
                r.dataset,
                r.chart,
                r.error.as_deref().unwrap_or("").replace('\n', " ")
            );
        }
        out.push('\n');
    }
    let values_failed: Vec<&ChartResult> = results.iter().filter(|r| r.values_error.is_some()).collect();
    if !values_failed.is_empty() {
        let _ = writeln!(
            out,
            "Values files that could not be read for the M6 hint (the chart itself was audited):\n"
        );
        for r in &values_failed {
            let _ = writeln!(
                out,
                "- `values/{}/{}.yaml`: {}",
                r.dataset,
                r.chart,
                r.values_error.as_deref().unwrap_or("")
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Comparison with the paper's Table 2 (static checks)\n");
    let _ = writeln!(
        out,
        "The paper's Table 2 next to ours for the datasets both have (the paper's Bitnami and Banzai Cloud \
         sets are compared with the current + removed charts of those repositories; Prometheus Community and \
         Wikimedia are not in the corpus). The paper's runtime-only columns (M1, M2, M3, M5A) are left out, \
         and its affected count includes charts affected only by them. The paper's `M4*` is our M4G. See the \
         discussion below the per-chart table.\n"
    );
    out.push_str(&comparison_table(results));
    out.push('\n');
    let exposures: Vec<(String, String, exposure::ExposureStats)> = results
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| (r.dataset.clone(), r.chart.clone(), r.exposure.clone()))
        .collect();
    let _ = writeln!(out, "{}", exposure::section(&exposures));
    let _ = writeln!(out, "{}", policies_section(results));
    let _ = writeln!(out, "## Findings per chart\n");
    let _ = writeln!(
        out,
        "<details>\n<summary>{} charts (objects, workloads and Services after skipping Helm test hooks are \
         the analysed ones)</summary>\n",
        results.len()
    );
    let _ = writeln!(
        out,
        "| chart | KB | objects | workloads | services | affected | {} | needed flows allowed |",
        checks.join(" | ")
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---|{}---:|",
        "---:|".repeat(checks.len())
    );
    for r in results {
        let counts: Vec<String> = match &r.counts {
            Some(m) => checks.iter().map(|c| m[c].to_string()).collect(),
            None => checks.iter().map(|_| "-".to_string()).collect(),
        };
        let affected = match (&r.error, r.affected) {
            (Some(_), _) => "load error",
            (None, true) => "yes",
            (None, false) => "no",
        };
        let _ = writeln!(
            out,
            "| {}/{} | {} | {} | {} | {} | {affected} | {} | {}/{} |",
            r.dataset,
            r.chart,
            r.bytes.div_ceil(1024),
            r.objects,
            r.workloads,
            r.services,
            counts.join(" | "),
            r.needs.allowed,
            r.needs.needed
        );
    }
    let _ = writeln!(out, "\n</details>");
    out
}

/// What `fix` would generate per dataset: policies, needed flows, and the
/// charts that need a person.
fn policies_section(results: &[ChartResult]) -> String {
    let mut out = String::from(
        "## Generated NetworkPolicies (remediation)\n\n\
         For every chart, `helm netaudit fix` was run on the rendered chart with its default options (egress \
         to DNS, to the Services a workload refers to, else to the whole release; the API server for \
         workloads bound by RBAC or taking part in leader election; a workload the chart's own policies \
         already select keeps those and gets none of ours), and netaudit's evaluator checked the result, \
         applied, against every flow the manifests say the application needs (`fix`'s README and `fix \
         --check` list them): a workload's Services as named in its env, arguments and ConfigMaps (those \
         a configuration sidecar loads by label included; and its own Service, for the peers of a cluster; \
         a Service no workload of the chart runs, an operator's, is checked on a stand-in pod with its \
         selector's labels), what scrapers discover (Kubernetes service discovery), ports behind NodePort/LoadBalancer Services, Ingresses, \
         webhooks and APIServices (from outside), scraped ports (from any namespace), the API server, the \
         cluster DNS, and any pod for ingress controllers. A Service port whose clients nothing names is \
         needed from the workloads of the release that name no Service themselves (*guessed*). *Unknown*: \
         a URL whose host looks like a name in the cluster but is no Service of the chart (another \
         release's, one an operator creates): where it goes cannot be told from the chart. The needs \
         come from the same evidence the generator reads: this measures whether the policies, with their \
         ingress and egress sides, named ports, patched port declarations and the chart's own policies, let \
         every such flow through, not whether the evidence is complete.\n\n\
         A chart is **complete** when every workload got a policy (or is covered by the chart's own) and \
         every needed flow passes. It *needs human input* when some workload could not get a policy that \
         selects only its own pods (hostNetwork: policies do not apply; label collision (M4A): no selector \
         separates it; pods without labels) or a needed flow stays blocked. Policy counts are with \
         `--also-covered` (a policy for every workload the generator can select: its reach, not the \
         chart's). *Fallback* counts policies where, for some port, nothing in the chart names the Service \
         in front of it, so the whole release may connect, or, when no other workload of the release can be \
         a client (each names the Services it uses), any pod of any namespace (the policy's comments say so).\n\n\
         | dataset | charts | workloads | policies | fallback: whole release | fallback: any namespace | skipped: hostNetwork | skipped: label collision | skipped: no labels | needed flows | allowed | guessed | unknown | blocked by the chart's own policies | blocked by generated policies | blocked with `--also-covered` | charts complete | charts needing input |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut datasets: Vec<&str> = results.iter().map(|r| r.dataset.as_str()).collect();
    datasets.dedup();
    let mut rows: Vec<(String, Vec<&ChartResult>)> = datasets
        .iter()
        .map(|d| {
            (
                d.to_string(),
                results
                    .iter()
                    .filter(|r| r.dataset == *d && r.error.is_none())
                    .collect(),
            )
        })
        .collect();
    rows.push((
        "**total**".into(),
        results.iter().filter(|r| r.error.is_none()).collect(),
    ));
    let needs_input =
        |r: &ChartResult| r.policies.skipped() > 0 || !r.needs.blocked.is_empty() || r.needs.error.is_some();
    for (name, charts) in rows {
        let sum = |f: fn(&PolicyStats) -> usize| charts.iter().map(|r| f(&r.policies)).sum::<usize>();
        let sum_needs = |f: fn(&NeedStats) -> usize| charts.iter().map(|r| f(&r.needs)).sum::<usize>();
        let workloads: usize = charts.iter().map(|r| r.workloads).sum();
        let needing = charts.iter().filter(|r| needs_input(r)).count();
        let complete = charts.iter().filter(|r| r.workloads > 0 && !needs_input(r)).count();
        out.push_str(&format!(
            "| {name} | {} | {workloads} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {complete} | {needing} |\n",
            charts.len(),
            sum(|p| p.generated),
            sum(|p| p.with_fallback),
            sum(|p| p.with_cluster_fallback),
            sum(|p| p.host_network),
            sum(|p| p.collision),
            sum(|p| p.no_labels),
            sum_needs(|n| n.needed),
            sum_needs(|n| n.allowed),
            sum_needs(|n| n.guessed),
            sum_needs(|n| n.unknown),
            sum_needs(|n| n.blocked.len() - n.blocked_by_generated),
            sum_needs(|n| n.blocked_by_generated),
            sum_needs(|n| n.blocked_also_covered),
        ));
    }
    let blocked: Vec<&ChartResult> = results
        .iter()
        .filter(|r| !r.needs.blocked.is_empty() || r.needs.error.is_some())
        .collect();
    out.push_str("\n### Charts where a needed flow stays blocked\n\n");
    if blocked.is_empty() {
        out.push_str("None: on every chart, every needed flow passes once `fix`'s output is applied.\n");
    }
    for r in blocked {
        out.push_str(&format!("- **{}/{}**\n", r.dataset, r.chart));
        if let Some(e) = &r.needs.error {
            out.push_str(&format!("  - not evaluated: {e}\n"));
        }
        for b in &r.needs.blocked {
            out.push_str(&format!("  - `{}`\n", b.replace('`', "'")));
        }
    }
    out
}
