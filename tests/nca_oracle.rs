//! Differential test: `netaudit reach` (the `Matrix`) against IBM np-guard's
//! Network Config Analyzer (NCA 2.1.0, an independent implementation of
//! Kubernetes and Calico policy semantics), cell by cell: (destination
//! workload, port/protocol, source) over every chart of the shared corpus
//! that has policies (skipped when ../shared/corpus is absent), the edge
//! cases of testdata/nca/, and the Calico policies `fix --flavor calico`
//! writes for the testdata/fix/ manifests and for corpus charts without
//! policies of their own (each applied to its manifests).
//!
//! NCA runs once, as a library, over every case (scripts/nca/connectivity.py,
//! which also says how its input is normalized); probe pods stand for the
//! sources of other namespaces (tests/nca/probes.rs). A difference is either
//! a listed exception with its reason (tests/nca/exceptions.rs), or a
//! failure.
//!
//! Needs `NETAUDIT_NCA` (the venv's python; scripts/test.sh sets it): without
//! it the test skips, saying how to enable it.

mod common;
mod nca;

use nca::exceptions::{classify, Diff, Facts};
use nca::probes::{self, Probe};
use netaudit::model::{Detail, Manifests};
use netaudit::reach::matrix::Matrix;
use netaudit::reach::{Direction, Evaluator};
use netaudit::source::{self, InputSpec};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One input: a corpus chart or an edge case.
struct Case {
    name: String,
    file: PathBuf,
    namespace: String,
    spec: InputSpec,
}

/// One cell of the matrix: what netaudit says, and what to know about it
/// to tell an exception.
struct Cell {
    source: String,
    netaudit: bool,
    facts: Facts,
}

/// One row: the NCA query, and netaudit's cells in the order of its sources.
struct Query {
    to: String,
    port: Option<u16>,
    protocol: Option<String>,
    cells: Vec<Cell>,
}

fn corpus_cases() -> Vec<Case> {
    // Only charts with policies say anything NCA could disagree with.
    corpus_cases_where(|text| text.contains("NetworkPolicy"))
}

/// The corpus charts whose rendered text passes `keep`.
fn corpus_cases_where(keep: impl Fn(&str) -> bool) -> Vec<Case> {
    let Some(corpus) = common::corpus_charts() else {
        eprintln!("nca_oracle: only the edge cases of testdata/nca/ (and fix's output for testdata/fix/)");
        return Vec::new();
    };
    corpus
        .into_iter()
        .filter(|chart| keep(&std::fs::read_to_string(&chart.rendered).unwrap()))
        .map(|chart| Case {
            spec: InputSpec::RenderedChart {
                path: chart.rendered.clone(),
                name: chart.name(),
                release: chart.chart.clone(),
                namespace: chart.chart.clone(),
                default_values: None,
            },
            name: chart.name(),
            file: chart.rendered,
            namespace: chart.chart,
        })
        .collect()
}

fn edge_cases() -> Vec<Case> {
    let dir = common::repo().join("testdata/nca");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|path| Case {
            name: format!("testdata/nca/{}", path.file_name().unwrap().to_string_lossy()),
            spec: InputSpec::Manifests {
                path: path.display().to_string(),
                namespace: "nca".into(),
            },
            file: path,
            namespace: "nca".into(),
        })
        .collect()
}

/// What `fix --flavor calico` writes for the testdata/fix/ manifests and
/// every corpus chart without policies of its own, applied to them (as
/// `kubectl kustomize` of its output gives them), in files under `dir`:
/// NCA's own Calico reader parses each, and its answers must agree.
fn calico_fix_cases(dir: &std::path::Path) -> Vec<Case> {
    use netaudit::fix::policy::{flavors::Flavor, PolicyOptions};
    let fixes = common::repo().join("testdata/fix");
    let mut sources: Vec<(String, PathBuf, String)> = std::fs::read_dir(&fixes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                format!("testdata/fix/{}", p.file_name().unwrap().to_string_lossy()),
                p,
                "default".to_string(),
            )
        })
        .collect();
    let corpus: Vec<Case> =
        corpus_cases_where(|text| !text.contains("NetworkPolicy") && text.contains("kind: Deployment"));
    sources.extend(corpus.into_iter().map(|c| (c.name, c.file, c.namespace)));
    sources.sort();
    let options = PolicyOptions {
        flavor: Flavor::Calico,
        ..PolicyOptions::default()
    };
    let mut cases = Vec::new();
    for (i, (name, path, namespace)) in sources.into_iter().enumerate() {
        let spec = InputSpec::Manifests {
            path: path.display().to_string(),
            namespace: namespace.clone(),
        };
        let inputs = source::acquire(std::slice::from_ref(&spec)).unwrap();
        let manifests = Manifests::load(inputs, Detail::WithConfiguration).unwrap();
        let outcome = netaudit::fix::plan::plan(&manifests, &Default::default(), &[], &options);
        if outcome.policy_count() == 0 {
            continue;
        }
        let applied = netaudit::fix::flows::apply(&manifests, &outcome).unwrap();
        let file = dir.join(format!("calico-{i}.yaml"));
        std::fs::write(&file, &applied.inputs[0].text).unwrap();
        cases.push(Case {
            name: format!("fix --flavor calico: {name}"),
            spec: InputSpec::Manifests {
                path: file.display().to_string(),
                namespace: namespace.clone(),
            },
            file,
            namespace,
        });
    }
    cases
}

/// netaudit's matrix of a case as NCA queries, and the probes they use.
fn netaudit_side(case: &Case) -> (Vec<Probe>, Vec<Query>) {
    let inputs = source::acquire(std::slice::from_ref(&case.spec)).unwrap_or_else(|e| panic!("{}: {e:#}", case.name));
    let manifests = Manifests::load(inputs, Detail::Checks).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let index = manifests.index();
    let matrix = Matrix::of(&index);
    let eval = Evaluator::new(&index);
    let probes = probes::probes(&index, eval.audited());
    let case_facts = nca::exceptions::case_facts(&index);
    let mut queries = Vec::new();
    for row in &matrix.rows {
        let dest = index
            .workloads
            .iter()
            .find(|w| w.obj.id() == row.to)
            .expect("a row's workload");
        let row_facts = nca::exceptions::row_facts(&eval, dest, row, &case_facts);
        let mut cells = Vec::new();
        for (j, source) in index.workloads.iter().enumerate() {
            cells.push(Cell {
                source: source.obj.id(),
                netaudit: row.from_workloads[j],
                facts: row_facts.with_source(nca::exceptions::source_facts(source, dest)),
            });
        }
        // The peers of the policies that select this destination: the
        // probes the matrix has an answer for.
        let keys: Vec<probes::PeerKey> = eval
            .selecting(dest, Direction::Ingress)
            .flat_map(|(_, side)| side.rules.iter().flat_map(|r| r.peers.iter().flatten()))
            .filter_map(|peer| match peer {
                netaudit::model::PolicyPeer::Pods {
                    namespaces: netaudit::model::Namespaces::Selected(namespaces),
                    pods,
                } => Some(probes::key_of(namespaces, pods.as_ref())),
                _ => None,
            })
            .collect();
        for probe in &probes {
            let netaudit = match &probe.key {
                None => row.others.from_any_pod,
                Some(key) if keys.contains(key) => {
                    row.others.host_network
                        || row
                            .others
                            .from_pods
                            .iter()
                            .any(|p| (&p.pods, &p.namespaces) == (&key.0, &key.1))
                }
                Some(_) => continue,
            };
            cells.push(Cell {
                source: probe.id(),
                netaudit,
                facts: row_facts.with_source(nca::exceptions::probe_facts(probe)),
            });
        }
        cells.push(Cell {
            source: "outside".into(),
            netaudit: row.others.from_outside,
            facts: row_facts.with_source(nca::exceptions::Source::Outside),
        });
        queries.push(Query {
            to: row.to.clone(),
            port: row.port,
            protocol: row.protocol.map(|p| p.as_str().to_string()),
            cells,
        });
    }
    (probes, queries)
}

/// NCA's answer for one case.
enum Answer {
    /// Per query, per source: allowed, blocked, or `None` (not compared).
    Cells(Vec<Vec<Option<bool>>>),
    /// The case has kinds of policies NCA does not model.
    Skipped(String),
    Refused(String),
}

/// NCA's answers, by case name.
fn nca_side(python: &std::path::Path, request: &Value) -> BTreeMap<String, Answer> {
    let answer = common::nca_answers(python, request);
    answer["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let name = case["name"].as_str().unwrap().to_string();
            let answer = if let Some(error) = case["error"].as_str() {
                Answer::Refused(error.to_string())
            } else if let Some(why) = case["skipped"].as_str() {
                Answer::Skipped(why.to_string())
            } else {
                Answer::Cells(serde_json::from_value(case["answers"].clone()).unwrap())
            };
            (name, answer)
        })
        .collect()
}

#[test]
fn reach_agrees_with_nca() {
    let Some(python) = common::nca_python() else {
        return;
    };
    let mut cases = corpus_cases();
    let corpus = cases.len();
    cases.extend(edge_cases());
    let fixes = tempfile::tempdir().unwrap();
    let calico = calico_fix_cases(fixes.path());
    let expected = if corpus > 0 { 150 } else { 8 };
    assert!(calico.len() >= expected, "only {} fix outputs to compare", calico.len());
    cases.extend(calico);
    let mut sides = Vec::new();
    let mut request = Vec::new();
    for case in &cases {
        let (probes, queries) = netaudit_side(case);
        request.push(json!({
            "name": case.name,
            "file": case.file,
            "namespace": case.namespace,
            "probes": probes.iter().map(Probe::to_json).collect::<Vec<_>>(),
            "queries": queries.iter().map(|q| json!({
                "to": q.to, "port": q.port, "protocol": q.protocol,
                "from": q.cells.iter().map(|c| &c.source).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }));
        sides.push(queries);
    }
    let answers = nca_side(&python, &json!({ "cases": request }));

    let (mut compared, mut not_compared, mut blocked) = (0usize, 0usize, 0usize);
    let mut skipped = Vec::new();
    let mut excepted: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, queries) in cases.iter().zip(&sides) {
        let rows = match &answers[&case.name] {
            Answer::Cells(rows) => rows,
            Answer::Skipped(why) => {
                skipped.push(format!("{} ({why})", case.name));
                continue;
            }
            Answer::Refused(error) => {
                failures.push(format!("{}: NCA refused the case: {error}", case.name));
                continue;
            }
        };
        for (query, row) in queries.iter().zip(rows) {
            for (cell, nca) in query.cells.iter().zip(row) {
                let Some(nca) = *nca else {
                    not_compared += 1;
                    continue;
                };
                compared += 1;
                blocked += usize::from(!nca);
                if cell.netaudit == nca {
                    continue;
                }
                let diff = Diff {
                    case: &case.name,
                    to: &query.to,
                    port: query.port,
                    protocol: query.protocol.as_deref(),
                    source: &cell.source,
                    netaudit: cell.netaudit,
                    nca,
                    facts: &cell.facts,
                };
                match classify(&diff) {
                    Some(e) => excepted.entry(e.name).or_insert((0, e.reason)).0 += 1,
                    None => failures.push(diff.line()),
                }
            }
        }
    }
    eprintln!(
        "nca_oracle: {} cases ({corpus} corpus charts), {compared} cells compared ({blocked} blocked by NCA), \
         {not_compared} not (NCA has no such pods: a single pod reaching itself, pods an operator makes)",
        cases.len()
    );
    for case in &skipped {
        eprintln!("  skipped {case}");
    }
    for (name, (count, reason)) in &excepted {
        eprintln!("  exception \"{name}\": {count} cells ({reason})");
    }
    // Both answers occur: a harness that saw only one would compare nothing.
    assert!(
        compared > 100 && blocked > 10 && compared - blocked > 10,
        "suspiciously uniform: {compared} cells compared, {blocked} blocked"
    );
    assert!(
        failures.is_empty(),
        "{} cells where netaudit and NCA disagree, unexplained:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// docs/checks.md lists every exception, by name, in its table.
#[test]
fn every_exception_is_documented() {
    let docs = std::fs::read_to_string(common::repo().join("docs/checks.md")).unwrap();
    for exception in nca::exceptions::EXCEPTIONS {
        assert!(
            docs.contains(&format!("| {} |", exception.name)),
            "docs/checks.md does not list the NCA exception \"{}\"",
            exception.name
        );
    }
}
