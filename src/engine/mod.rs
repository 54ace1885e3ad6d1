//! The analysis, independent of how inputs were obtained: index the
//! manifests, run the enabled checks (with the probe's evidence when there
//! is some), apply severities and waivers, and collect every warning. What
//! [`run`] returns is complete: reports only read it.

pub mod chart_policies;
pub mod config;
mod shared_namespace;
pub mod values_space;
pub mod waivers;

use crate::checks::{self, Exposed, Finding, Severity};
use crate::model::{Evidence, Index, Manifests, ProbeReport};
use crate::reach::Evaluator;
use config::Config;
use waivers::{Waiver, Warning};

/// Everything a report shows.
pub struct Audit<'a> {
    pub index: Index<'a>,
    /// Findings that count, in check order.
    pub findings: Vec<Finding<'a>>,
    /// Findings waived by an annotation or a config rule, with the waiver.
    pub suppressed: Vec<(Finding<'a>, Waiver<'a>)>,
    pub warnings: Vec<Warning>,
    /// How the probe went (`install --probe`, `audit`).
    pub probe: Option<&'a ProbeReport>,
    /// `--enable-chart-policies`: what switching the charts' policies on changed.
    pub chart_policies: Vec<chart_policies::Switched>,
    /// `--explore-values`: what the chart's values change.
    pub values_space: Option<values_space::Explored>,
}

impl Audit<'_> {
    /// `--explore-values`: the values keys that decide `finding` (one of
    /// [`Audit::findings`]), with where their defaults are set.
    pub fn values_keys(&self, finding: &Finding<'_>) -> &[crate::model::ValuesKey] {
        let Some(explored) = &self.values_space else {
            return &[];
        };
        self.findings
            .iter()
            .position(|f| std::ptr::eq(f, finding))
            .and_then(|i| explored.finding_keys.get(i))
            .map_or(&[], Vec::as_slice)
    }
}

/// The analysis of `manifests`: the static checks, and the runtime checks
/// (M1, M2, M3, M5A, M5C's runtime half) when `evidence` is given.
pub fn run<'a>(manifests: &'a Manifests, config: &Config, evidence: Option<&'a Evidence>) -> Audit<'a> {
    run_on(manifests, manifests.index(), config, evidence)
}

/// [`run`] on an index of `manifests` the caller already built (the probe
/// built one for its sandbox).
pub fn run_on<'a>(
    manifests: &'a Manifests,
    mut index: Index<'a>,
    config: &Config,
    evidence: Option<&'a Evidence>,
) -> Audit<'a> {
    index.runtime = evidence.map(|e| &e.observations);
    let findings = findings_of(&index, config);
    let warnings = shared_namespace::warnings(&index);
    finish(manifests, index, findings, warnings, config, evidence)
}

/// The static analysis of each input on its own, as if each were audited
/// alone (`lint --separately`), in one report: no selector, policy or
/// label collision reaches from one input into another.
pub fn run_separately<'a>(manifests: &'a Manifests, config: &Config) -> Audit<'a> {
    let parts = manifests.indexes_per_input();
    // Inputs are independent here: their checks run on all cores.
    let per_part = crate::model::parallel::map_in_order(&parts, |_, part| findings_of(part, config));
    let mut findings: Vec<Finding<'a>> = per_part.into_iter().flatten().collect();
    // In check order, as one audit of all inputs orders them (stable: each
    // check's findings stay in input order).
    let order = config.enabled_checks();
    findings.sort_by_key(|f| order.iter().position(|c| std::ptr::eq(*c, f.check)));
    finish(
        manifests,
        Index::joined(manifests, parts),
        findings,
        Vec::new(),
        config,
        None,
    )
}

/// The enabled checks' findings on `index`, with their severities and
/// exposure.
fn findings_of<'a>(index: &Index<'a>, config: &Config) -> Vec<Finding<'a>> {
    let mut findings = checks::run_checks(index, &config.enabled_checks());
    for finding in &mut findings {
        if !finding.to_confirm {
            finding.severity = config.severity_of(finding.check);
        }
    }
    add_exposure(index, &mut findings);
    findings
}

/// Waivers and warnings on top of the findings.
fn finish<'a>(
    manifests: &'a Manifests,
    index: Index<'a>,
    findings: Vec<Finding<'a>>,
    mut warnings: Vec<Warning>,
    config: &Config,
    evidence: Option<&'a Evidence>,
) -> Audit<'a> {
    let (waivers, waiver_warnings) = waivers::collect_waivers(&index, config);
    warnings.extend(waiver_warnings);
    for input in manifests.empty_inputs.iter().map(|&i| &manifests.inputs[i]) {
        warnings.push(Warning::new(if input.deployed {
            format!(
                "{}: the release's manifest holds no Kubernetes object (only hooks, or nothing): nothing to audit",
                input.name
            )
        } else if input.rendered_by_helm {
            format!(
                "{} rendered no Kubernetes objects with these values: nothing to audit",
                input.name
            )
        } else {
            format!(
                "{} holds no Kubernetes object (empty, or only comments): nothing to audit",
                input.name
            )
        }));
    }
    for (input, twice) in &manifests.duplicate_keys {
        warnings.push(Warning::new(duplicate_key_warning(manifests, *input, twice)));
    }
    for malformed in &index.malformed {
        let input = &manifests.inputs[malformed.obj.input].name;
        warnings.push(Warning::new(format!("{input}: {}", malformed.describe())));
    }
    let (mut findings, mut suppressed) = waivers::apply(findings, &waivers, &mut warnings);
    // After the waivers: a live object's own waiver still matches its own
    // finding (no "never matched" warning), which is then not reported.
    if manifests.inputs.iter().any(|i| i.live) {
        findings.retain(|f| first_audited_input(&manifests.inputs, f).is_some());
        suppressed.retain(|(f, _)| first_audited_input(&manifests.inputs, f).is_some());
        // A live object cannot be edited from the chart: a finding is placed
        // (SARIF, compact, GitHub annotations) at the chart's side of it.
        for finding in findings.iter_mut().chain(suppressed.iter_mut().map(|(f, _)| f)) {
            if let Some(first) = finding
                .subjects
                .iter()
                .position(|s| !manifests.inputs[s.object.input].live)
            {
                finding.subjects[..=first].rotate_right(1);
            }
        }
    }
    if let Some(evidence) = evidence {
        warnings.extend(evidence.notes.iter().map(|note| Warning::new(note.clone())));
    }
    Audit {
        index,
        findings,
        suppressed,
        warnings,
        probe: evidence.map(|e| &e.probe),
        chart_policies: Vec::new(),
        values_space: None,
    }
}

/// Who can reach each finding's ports or workloads, under the policies of
/// the input.
pub fn add_exposure(index: &Index<'_>, findings: &mut [Finding<'_>]) {
    let eval = Evaluator::new(index);
    // Each workload's position by its object, once: a cluster has a
    // finding for most of its workloads (M6).
    let positions: std::collections::HashMap<*const crate::model::Object, usize> = index
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| (w.obj as *const _, i))
        .collect();
    // Findings about the same workloads and ports share their exposure (a
    // collision is often M4A, M4B and M4C at once).
    type Asked = (Vec<usize>, Vec<(u16, crate::model::Protocol)>);
    let mut known: std::collections::HashMap<Asked, crate::model::Exposure> = std::collections::HashMap::new();
    for finding in findings {
        let mut ports = match &finding.exposed {
            Exposed::Nothing => continue,
            Exposed::AnyPort => Vec::new(),
            Exposed::Ports(ports) => ports.clone(),
        };
        ports.sort();
        ports.dedup();
        let mut workloads: Vec<usize> = finding
            .subjects
            .iter()
            .filter_map(|s| positions.get(&(s.object as *const _)).copied())
            .collect();
        workloads.sort();
        workloads.dedup();
        if !workloads.is_empty() {
            let exposure = known
                .entry((workloads, ports))
                .or_insert_with_key(|(workloads, ports)| crate::reach::exposure(&eval, index, workloads, ports));
            finding.exposure = Some(exposure.clone());
        }
    }
}

/// The first input among a finding's subjects that is not live objects
/// (`lint --cluster`); `None` when the finding concerns only those.
fn first_audited_input(inputs: &[crate::model::Input], finding: &Finding<'_>) -> Option<usize> {
    finding
        .subjects
        .iter()
        .map(|s| s.object.input)
        .find(|&i| !inputs[i].live)
}

impl<'a> Audit<'a> {
    /// The input a finding is counted under: its first subject's, unless
    /// that is a live object (`lint --cluster`), then the first audited
    /// input among its subjects.
    pub fn counted_under(&self, finding: &Finding<'a>) -> Option<usize> {
        first_audited_input(self.index.inputs, finding)
    }

    /// Per input, its findings counted per check as summaries count them
    /// (the spec's "Counting for summaries": a check counted once per
    /// input counts 1, the others their `counts_as`).
    pub fn counts(&self) -> Vec<std::collections::BTreeMap<&'static str, usize>> {
        let mut counts = vec![std::collections::BTreeMap::new(); self.index.inputs.len()];
        for finding in &self.findings {
            let Some(input) = self.counted_under(finding) else {
                continue;
            };
            let n = counts[input].entry(finding.check.id).or_insert(0);
            *n = match finding.check.counting {
                checks::Counting::OncePerInput => 1,
                _ => *n + finding.counts_as,
            };
        }
        counts
    }

    /// Is any reported finding at or above `threshold`? (`None`: never fail.)
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| self.findings.iter().any(|f| f.severity >= t))
    }
}

/// "`shop/templates/api.yaml:12`: `image` is written twice in one mapping of
/// Deployment `api` (lines 9 and 12 of its rendered template): …", or the
/// input and its line for what no template rendered.
fn duplicate_key_warning(manifests: &Manifests, input: usize, twice: &crate::yaml::DuplicateKey) -> String {
    let object = manifests
        .objects
        .iter()
        .find(|o| o.input == input && (o.doc_lines.0..=o.doc_lines.1).contains(&twice.line));
    let (first, last) = (twice.first_line, twice.line);
    let placed = object.and_then(|o| {
        let template = o.template.as_ref()?;
        let line = |l: u32| o.location(l).template_line.unwrap_or(l);
        Some(format!(
            "{}:{}: `{}` is written twice in one mapping of {} `{}` (lines {} and {} of its rendered template)",
            manifests.inputs[input].template_file(template),
            line(last),
            twice.key,
            o.kind,
            o.name,
            line(first),
            line(last)
        ))
    });
    let placed = placed.unwrap_or_else(|| {
        format!(
            "{}:{last}: `{}` is written twice in one mapping (lines {first} and {last})",
            manifests.inputs[input].name, twice.key
        )
    });
    format!("{placed}: Kubernetes reads the last, and so does netaudit")
}
