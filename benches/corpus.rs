//! Analysis time on the real-world chart corpus (`../shared/corpus`), rendering
//! excluded.
//!
//! ```sh
//! cargo bench --bench corpus                       # 10 iterations
//! NETAUDIT_BENCH_ITERS=30 taskset -c 0 cargo bench --bench corpus
//! NETAUDIT_CORPUS=/path/to/corpus cargo bench --bench corpus
//! ```
//!
//! Every rendered chart (and its values file, for the M6 hint) is read into
//! memory first, untimed. Then, on one thread, each iteration runs
//! `Manifests::load` + `engine::run` for every chart, each chart as its own release
//! (as `examples/corpus.rs` and `netaudit lint` do), and the bench reports the
//! minimum, median and maximum over the iterations, split into load (YAML ->
//! objects) and run (index + checks). The largest chart is then timed alone.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it audits the
//! corpus once, untimed, as a smoke test. Without the corpus it prints a message and exits 0.

use netaudit::engine::{self, config::Config};
use netaudit::model::{Detail, Input, Manifests};
use netaudit::source::{self, InputSpec};
use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NETAUDIT_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// Every `rendered/<dataset>/<chart>.yaml`, as an input ready to audit
/// (obtained as `lint CHART` obtains helm's output).
fn read_corpus(corpus: &Path) -> std::io::Result<Vec<Input>> {
    let mut specs = Vec::new();
    let mut datasets: Vec<PathBuf> = std::fs::read_dir(corpus.join("rendered"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    datasets.sort();
    for dir in datasets {
        let dataset = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for path in files {
            let chart = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            specs.push(InputSpec::RenderedChart {
                default_values: Some(corpus.join("values").join(&dataset).join(format!("{chart}.yaml"))),
                name: format!("{dataset}/{chart}"),
                release: chart.clone(),
                namespace: chart,
                path,
            });
        }
    }
    let mut inputs = Vec::new();
    for spec in &specs {
        // A chart that cannot be read is left out (examples/corpus.rs reports it).
        if let Ok(mut read) = source::acquire(std::slice::from_ref(spec)) {
            inputs.append(&mut read);
        }
    }
    Ok(inputs)
}

/// Time of one pass: (load, run, findings, failed charts).
fn pass(inputs: &[Input], detail: Detail, config: &Config) -> (Duration, Duration, usize, usize) {
    let mut load = Duration::ZERO;
    let mut run = Duration::ZERO;
    let mut findings = 0;
    let mut failed = 0;
    for input in inputs {
        let one = vec![input.clone()];
        let t0 = Instant::now();
        // A panic counts as a failed chart (examples/corpus.rs reports it).
        let manifests = catch_unwind(AssertUnwindSafe(|| Manifests::load(one, detail)));
        let t1 = Instant::now();
        load += t1 - t0;
        let Ok(Ok(manifests)) = manifests else {
            failed += 1;
            continue;
        };
        let result = engine::run(&manifests, config, None);
        findings += black_box(result.findings.len());
        drop(result);
        run += t1.elapsed();
        drop(manifests);
    }
    (load, run, findings, failed)
}

struct Stats {
    min: Duration,
    median: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        min: samples[0],
        median: samples[samples.len() / 2],
        max: samples[samples.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    std::panic::set_hook(Box::new(|_| {}));
    let corpus = corpus_dir();
    if !corpus.join("rendered").is_dir() {
        println!(
            "corpus not found at {}, skipping the corpus benchmark",
            corpus.display()
        );
        return;
    }
    let iterations: usize = std::env::var("NETAUDIT_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(10);
    let inputs = match read_corpus(&corpus) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("cannot read the corpus at {}: {e}", corpus.display());
            std::process::exit(2);
        }
    };
    let bytes: usize = inputs.iter().map(|i| i.text.len()).sum();
    let config = Config::default();
    println!(
        "corpus: {} charts, {:.1} MB, from {}",
        inputs.len(),
        bytes as f64 / 1e6,
        corpus.display()
    );
    if !bench_mode {
        // `cargo test --all-targets`: a debug build, whose times mean nothing; just check it runs.
        let (_, _, findings, failed) = pass(&inputs, Detail::Checks, &config);
        println!(
            "smoke run (no --bench): {} charts audited, {findings} findings, {failed} failed to load; \
             `cargo bench --bench corpus` measures",
            inputs.len()
        );
        return;
    }

    // As `--manifests` input (every document's syntax checked), then as
    // `lint CHART` sees helm's output (helm already parsed every document, so
    // the kinds no check reads are skipped, and empty renders are fine).
    let rendered = inputs;
    let mut manifests_input = rendered.clone();
    for input in &mut manifests_input {
        input.rendered_by_helm = false;
    }
    let checks = Detail::Checks;
    measure(
        "as --manifests input",
        &manifests_input,
        checks,
        &config,
        iterations,
        bytes,
    );
    measure(
        "as helm template output (lint CHART)",
        &rendered,
        checks,
        &config,
        iterations,
        bytes,
    );
    // What `fix` and `install --probe` load: ConfigMaps, Secrets and Ingresses too.
    let full = Detail::WithConfiguration;
    measure(
        "with configuration objects (fix)",
        &rendered,
        full,
        &config,
        iterations,
        bytes,
    );

    measure_largest("as --manifests input", &manifests_input, checks, &config, iterations);
    measure_largest(
        "as helm template output (lint CHART)",
        &rendered,
        checks,
        &config,
        iterations,
    );
}

fn measure(label: &str, inputs: &[Input], detail: Detail, config: &Config, iterations: usize, bytes: usize) {
    // Warm-up (everything is in memory already; this warms the allocator and caches).
    let (_, _, findings, failed) = pass(inputs, detail, config);
    let mut totals = Vec::new();
    let mut loads = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..iterations {
        let (load, run, _, _) = pass(inputs, detail, config);
        loads.push(load);
        runs.push(run);
        totals.push(load + run);
    }
    let (t, l, r) = (stats(totals), stats(loads), stats(runs));
    println!(
        "whole corpus {label}, load + run, one thread, {iterations} iterations ({findings} findings, {failed} charts failed to load):"
    );
    println!("                min         median      max");
    println!("  total   {} {} {}", ms(t.min), ms(t.median), ms(t.max));
    println!("  load    {} {} {}", ms(l.min), ms(l.median), ms(l.max));
    println!("  run     {} {} {}", ms(r.min), ms(r.median), ms(r.max));
    println!(
        "  throughput (median): {:.1} MB/s; target < 1 s: {}",
        bytes as f64 / 1e6 / t.median.as_secs_f64(),
        if t.median < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn measure_largest(label: &str, inputs: &[Input], detail: Detail, config: &Config, iterations: usize) {
    let largest = inputs.iter().max_by_key(|i| i.text.len()).expect("a non-empty corpus");
    let reps = iterations * 5;
    let one = std::slice::from_ref(largest);
    let mut totals = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..reps {
        let (load, run, _, _) = pass(one, detail, config);
        loads.push(load);
        totals.push(load + run);
    }
    let (t, l) = (stats(totals), stats(loads));
    println!(
        "largest chart {} ({:.2} MB) {label}, {reps} iterations: min {} median {} max {} (load median {})",
        largest.name,
        largest.text.len() as f64 / 1e6,
        ms(t.min).trim(),
        ms(t.median).trim(),
        ms(t.max).trim(),
        ms(l.median).trim()
    );
}
