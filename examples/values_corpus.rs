//! Explore the values of every chart of a corpus of chart *sources* and
//! write what only some values bring (docs/values-results.md).
//!
//! ```sh
//! cargo run --release --example values_corpus -- [CHARTS_DIR] [--markdown FILE] [-j N] [--max-renders N]
//! ```
//!
//! `CHARTS_DIR` (default `../shared/corpus/charts`) holds
//! `<dataset>/<chart>/`: chart directories as the repositories hold them
//! (Chart.yaml, values.yaml, templates/, charts/ with subcharts as
//! directories or `.tgz`). Each chart is explored as `netaudit lint
//! <chart> --explore-values -n <chart>` explores it (release and namespace
//! the chart's name, as the corpus renders them), `-j` renders at a time
//! (default: the cores), at most `--max-renders` variants per chart
//! (default 64). Prints one line per chart; `--markdown FILE` writes the
//! report (src/report/values_corpus.rs). helm is `HELM_BIN`, else `helm`
//! on PATH. Without the directory it says so and exits 0: the shared
//! corpus holds rendered charts and values files only.

use netaudit::cli::ExploreArgs;
use netaudit::engine::{self, config::Config};
use netaudit::model::{Detail, Manifests};
use netaudit::report::values_corpus::{markdown, ChartExplored};
use netaudit::source::helm::RenderRequest;
use netaudit::source::{self, InputSpec};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    charts: Option<PathBuf>,
    markdown: Option<PathBuf>,
    jobs: Option<u16>,
    max_renders: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        charts: None,
        markdown: None,
        jobs: None,
        max_renders: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--markdown" => args.markdown = Some(PathBuf::from(value("--markdown")?)),
            "-j" | "--jobs" => args.jobs = Some(value("-j")?.parse().map_err(|e| format!("-j: {e}"))?),
            "--max-renders" => {
                args.max_renders = value("--max-renders")?
                    .parse()
                    .map_err(|e| format!("--max-renders: {e}"))?
            }
            other if other.starts_with('-') => return Err(format!("unknown flag {other}")),
            other => args.charts = Some(PathBuf::from(other)),
        }
    }
    Ok(args)
}

/// `(dataset, chart directory)` of every `<dataset>/<chart>/Chart.yaml`, sorted.
fn charts_in(root: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(datasets) = std::fs::read_dir(root) else {
        return found;
    };
    for dataset in datasets.flatten().filter(|e| e.path().is_dir()) {
        let name = dataset.file_name().to_string_lossy().into_owned();
        let Ok(charts) = std::fs::read_dir(dataset.path()) else {
            continue;
        };
        for chart in charts.flatten().map(|e| e.path()) {
            if chart.join("Chart.yaml").is_file() {
                found.push((name.clone(), chart));
            }
        }
    }
    found.sort();
    found
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("values_corpus: {e}");
            return ExitCode::from(2);
        }
    };
    let root = args
        .charts
        .clone()
        .unwrap_or_else(|| PathBuf::from("../shared/corpus/charts"));
    let charts = charts_in(&root);
    if charts.is_empty() {
        println!(
            "values_corpus: no chart sources under {} (<dataset>/<chart>/Chart.yaml): nothing to explore",
            root.display()
        );
        return ExitCode::SUCCESS;
    }
    let explore_args = ExploreArgs {
        explore_values: true,
        max_renders: args.max_renders,
        jobs: args.jobs,
        render_timeout: Duration::from_secs(60),
    };
    let started = Instant::now();
    let mut explored = Vec::new();
    for (dataset, dir) in &charts {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let request = RenderRequest {
            release: Some(name.clone()),
            chart: dir.display().to_string(),
            namespace: name.clone(),
            ..RenderRequest::default()
        };
        let spec = InputSpec::Chart(request.clone());
        let chart_started = Instant::now();
        let outcome = source::acquire(std::slice::from_ref(&spec)).and_then(|inputs| {
            let manifests = Manifests::load(inputs.clone(), Detail::Checks)?;
            let audit = engine::run(&manifests, &Config::default(), None);
            netaudit::commands::values::explore(&request, &inputs, &audit, &Config::default(), &explore_args, true)
        });
        match outcome {
            Ok(result) => {
                println!(
                    "{dataset}/{name}: {} variants, {} findings with the defaults ({:.1} s)",
                    result.variants.len(),
                    result.defaults,
                    chart_started.elapsed().as_secs_f64()
                );
                explored.push(ChartExplored {
                    dataset: dataset.clone(),
                    chart: name,
                    explored: result,
                });
            }
            Err(e) => println!("{dataset}/{name}: not explored: {e:#}"),
        }
    }
    let wall = started.elapsed();
    println!(
        "{} of {} charts explored in {:.1} s",
        explored.len(),
        charts.len(),
        wall.as_secs_f64()
    );
    if let Some(path) = &args.markdown {
        let how = format!(
            "Generated by `cargo run --release --example values_corpus -- {} --markdown {}` ({} of {} charts \
             explored, at most {} variants each, {} renders at a time; {:.0} s wall time).",
            root.display(),
            path.display(),
            explored.len(),
            charts.len(),
            args.max_renders,
            args.jobs
                .map_or_else(|| "as many as cores".to_string(), |j| j.to_string()),
            wall.as_secs_f64()
        );
        if let Err(e) = std::fs::write(path, markdown(&explored, &how)) {
            eprintln!("values_corpus: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
