//! `--explore-values`: each variant's findings against the defaults'. A
//! finding is the same in two renders when its check, its objects and its
//! port are (objects by kind, namespace and name).
//!
//! What a report says for each finding of the defaults, and for each that
//! appears only under some values, is the values keys that decide it: the
//! keys of the conditions around its object in its template
//! ([`ValuesSpace::guards_of`]) and the keys of the variants that remove
//! it or bring it.

use super::Audit;
use crate::checks::Finding;
use crate::model::{Setting, ValuesKey, ValuesSpace};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A finding as the comparison names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRef {
    pub check: String,
    pub severity: crate::checks::Severity,
    /// The object the finding is about (`Kind/namespace/name`), and the others.
    pub objects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub message: String,
    /// The keys of the conditions its object is rendered under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guarded_by: Vec<ValuesKey>,
    /// Every key its object's template reads where it decides something
    /// the checks look at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<ValuesKey>,
}

impl FindingRef {
    fn of(finding: &Finding<'_>, space: &ValuesSpace) -> FindingRef {
        let primary = finding.primary().object;
        FindingRef {
            check: finding.check.id.to_string(),
            severity: finding.severity,
            objects: finding.subjects.iter().map(|s| s.object.id()).collect(),
            port: finding.port,
            message: finding.message.clone(),
            guarded_by: primary
                .template
                .as_deref()
                .map(|t| space.guards_of(t, &primary.kind))
                .unwrap_or_default(),
            reads: primary
                .template
                .as_deref()
                .map(|t| space.reads_of(t, &primary.kind))
                .unwrap_or_default(),
        }
    }

    /// `M7 Deployment/shop/web`, `M5B Service/shop/metrics port 9100`.
    pub fn describe(&self) -> String {
        let port = self.port.map(|p| format!(" port {p}")).unwrap_or_default();
        format!(
            "{} {}{port}",
            self.check,
            self.objects.first().map_or("", String::as_str)
        )
    }
}

/// A finding present with and without the variant, reachable otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureChange {
    pub finding: FindingRef,
    pub before: String,
    pub after: String,
}

/// What one variant did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Rendered {
        /// Findings of the variant.
        findings: usize,
        /// The explored chart's findings per check, as `--summary` counts them.
        counts: BTreeMap<String, usize>,
        /// Findings the defaults do not have.
        appears: Vec<FindingRef>,
        /// Findings of the defaults the variant does not have.
        removes: Vec<FindingRef>,
        /// Findings of both whose exposure differs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exposure: Vec<ExposureChange>,
    },
    /// helm refused the variant (a `required` or `fail` of the chart).
    Failed { reason: String },
    /// Stopped at the per-render timeout.
    TimedOut { seconds: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantReport {
    /// The keys set away from their defaults.
    pub settings: Vec<Setting>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl VariantReport {
    /// `hostNetwork=true, metrics.enabled=true`.
    pub fn describe(&self) -> String {
        crate::model::Variant {
            settings: self.settings.clone(),
        }
        .describe()
    }
}

/// The exploration of one chart's values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explored {
    /// The chart, as the user named it.
    pub chart: String,
    /// Findings of the defaults.
    pub defaults: usize,
    /// The explored chart's findings per check in the defaults, as
    /// `--summary` counts them.
    pub defaults_counts: BTreeMap<String, usize>,
    pub variants: Vec<VariantReport>,
    /// Variants beyond `--max-renders`, not rendered.
    pub left_out: usize,
    /// Per finding of the defaults' report, in its order: the values keys
    /// that decide it (the guards of its object, the keys of the variants
    /// that remove it).
    #[serde(skip)]
    pub finding_keys: Vec<Vec<ValuesKey>>,
}

/// A variant's audit, or why it has none.
pub enum VariantAudit<'v, 'a> {
    Audited(&'v Audit<'a>),
    Failed(String),
    TimedOut(u64),
}

type Identity = (&'static str, Vec<String>, Option<u16>);

/// The defaults' findings, and each variant compared with them as it
/// comes (a variant's objects need not outlive its comparison).
pub struct Comparison<'d, 'a> {
    defaults: &'d Audit<'a>,
    space: &'d ValuesSpace,
    before: BTreeMap<Identity, &'d Finding<'a>>,
    reports: Vec<VariantReport>,
    /// The keys of each variant that removed a finding of the defaults.
    removed_by: BTreeMap<Identity, Vec<BTreeSet<ValuesKey>>>,
}

impl<'d, 'a> Comparison<'d, 'a> {
    pub fn new(defaults: &'d Audit<'a>, space: &'d ValuesSpace) -> Self {
        Comparison {
            defaults,
            space,
            before: defaults.findings.iter().map(|f| (identity(f), f)).collect(),
            reports: Vec::new(),
            removed_by: BTreeMap::new(),
        }
    }

    /// Compare the next variant of the space (in its order).
    pub fn add(&mut self, audit: VariantAudit<'_, '_>) {
        let Some(variant) = self.space.variants.get(self.reports.len()) else {
            return;
        };
        let space = self.space;
        let outcome = match audit {
            VariantAudit::Failed(reason) => Outcome::Failed { reason },
            VariantAudit::TimedOut(seconds) => Outcome::TimedOut { seconds },
            VariantAudit::Audited(audit) => {
                let after: BTreeMap<Identity, &Finding<'_>> = audit.findings.iter().map(|f| (identity(f), f)).collect();
                let appears: Vec<FindingRef> = after
                    .iter()
                    .filter(|(k, _)| !self.before.contains_key(*k))
                    .map(|(_, f)| FindingRef::of(f, space))
                    .collect();
                let mut removes = Vec::new();
                let mut exposure = Vec::new();
                for (key, f) in &self.before {
                    match after.get(key) {
                        None => {
                            let removed = FindingRef::of(f, space);
                            // A variant that trades the finding for another
                            // on the same object (hostNetwork: M7 for M6)
                            // does not decide it away.
                            if !appears.iter().any(|a| a.objects.first() == removed.objects.first()) {
                                self.removed_by
                                    .entry(key.clone())
                                    .or_default()
                                    .push(variant.settings.iter().map(|s| s.key.clone()).collect());
                            }
                            removes.push(removed);
                        }
                        Some(g) => {
                            let words = |f: &Finding<'_>| f.exposure.as_ref().map(|e| e.describe());
                            if words(f) != words(g) {
                                exposure.push(ExposureChange {
                                    finding: FindingRef::of(f, space),
                                    before: words(f).unwrap_or_default(),
                                    after: words(g).unwrap_or_default(),
                                });
                            }
                        }
                    }
                }
                Outcome::Rendered {
                    findings: audit.findings.len(),
                    counts: chart_counts(audit),
                    appears,
                    removes,
                    exposure,
                }
            }
        };
        self.reports.push(VariantReport {
            settings: variant.settings.clone(),
            outcome,
        });
    }

    pub fn finish(self) -> Explored {
        let finding_keys = self
            .defaults
            .findings
            .iter()
            .map(|f| {
                let mut keys: BTreeSet<ValuesKey> = FindingRef::of(f, self.space).guarded_by.into_iter().collect();
                // The smallest variants that removed it: a pair whose one
                // key alone removes it names only that key.
                let removers = self.removed_by.get(&identity(f)).map_or(&[][..], Vec::as_slice);
                for set in removers {
                    if !removers
                        .iter()
                        .any(|smaller| smaller.len() < set.len() && smaller.is_subset(set))
                    {
                        keys.extend(set.iter().cloned());
                    }
                }
                keys.into_iter().collect()
            })
            .collect();
        Explored {
            chart: self.space.chart.clone(),
            defaults: self.defaults.findings.len(),
            defaults_counts: chart_counts(self.defaults),
            variants: self.reports,
            left_out: self.space.left_out,
            finding_keys,
        }
    }
}

/// The explored chart's (the first input's) counts.
fn chart_counts(audit: &Audit<'_>) -> BTreeMap<String, usize> {
    audit
        .counts()
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|(check, n)| (check.to_string(), n))
        .collect()
}

/// How two renders' findings are matched.
fn identity(finding: &Finding<'_>) -> Identity {
    (
        finding.check.id,
        finding.subjects.iter().map(|s| s.object.id()).collect(),
        finding.port,
    )
}

impl VariantReport {
    /// Whether every setting of `self` is in `other`, which has more.
    fn smaller_than(&self, other: &VariantReport) -> bool {
        self.settings.len() < other.settings.len() && self.settings.iter().all(|s| other.settings.contains(s))
    }

    /// What it changed, by description.
    fn effects(&self) -> Option<(Vec<String>, Vec<String>, Vec<String>)> {
        let Outcome::Rendered {
            appears,
            removes,
            exposure,
            ..
        } = &self.outcome
        else {
            return None;
        };
        let words = |list: &[FindingRef]| list.iter().map(FindingRef::describe).collect();
        let changes = exposure
            .iter()
            .map(|c| format!("{}: {} -> {}", c.finding.describe(), c.before, c.after))
            .collect();
        Some((words(appears), words(removes), changes))
    }
}

impl Explored {
    /// Every finding that only some values bring, once, with the smallest
    /// variants that bring it (a pair whose one setting alone brings it
    /// too is left out).
    pub fn only_with_values(&self) -> Vec<(&FindingRef, Vec<&VariantReport>)> {
        let mut found: Vec<(&FindingRef, Vec<&VariantReport>)> = Vec::new();
        for variant in &self.variants {
            let Outcome::Rendered { appears, .. } = &variant.outcome else {
                continue;
            };
            for finding in appears {
                match found
                    .iter_mut()
                    .find(|(f, _)| f.describe() == finding.describe() && f.objects == finding.objects)
                {
                    Some((_, variants)) => variants.push(variant),
                    None => found.push((finding, vec![variant])),
                }
            }
        }
        for (_, variants) in &mut found {
            let all = variants.clone();
            variants.retain(|v| !all.iter().any(|smaller| smaller.smaller_than(v)));
        }
        found
    }

    /// The variants worth reporting: not a pair that changed exactly what
    /// one of its settings alone changed.
    pub fn telling(&self) -> Vec<&VariantReport> {
        self.variants
            .iter()
            .filter(|v| {
                let Some(effects) = v.effects() else { return true };
                !self
                    .variants
                    .iter()
                    .any(|smaller| smaller.smaller_than(v) && smaller.effects().as_ref() == Some(&effects))
            })
            .collect()
    }
}
