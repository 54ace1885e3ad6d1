//! Waivers: the `netaudit.io/ignore` annotation and `ignore:` rules of the
//! config. A waived finding is kept (reports list it as suppressed, with its
//! reason); a waiver that matches nothing is reported, so stale waivers do
//! not pile up (cargo-deny does the same).

use super::config::{glob_match, Config};
use crate::checks::{self, CheckInfo, Finding};
use crate::model::{Index, Object};

pub const ANNOTATION: &str = "netaudit.io/ignore";

#[derive(Debug, Clone)]
pub enum WaiverOrigin<'a> {
    /// `netaudit.io/ignore` on an object.
    Annotation { object: &'a Object },
    /// An `ignore:` rule of the config file.
    Config { path: String, line: u32, pattern: String },
}

#[derive(Debug, Clone)]
pub struct Waiver<'a> {
    pub checks: Vec<&'static CheckInfo>,
    pub reason: String,
    pub origin: WaiverOrigin<'a>,
}

impl Waiver<'_> {
    fn matches(&self, finding: &Finding<'_>) -> bool {
        self.checks.iter().any(|c| c.id == finding.check.id)
            && finding.subjects.iter().any(|s| match &self.origin {
                WaiverOrigin::Annotation { object } => std::ptr::eq(*object, s.object),
                WaiverOrigin::Config { pattern, .. } => glob_match(pattern, &s.object.id()),
            })
    }

    /// Where the waiver is written, for messages.
    pub fn describe(&self) -> String {
        let ids: Vec<&str> = self.checks.iter().map(|c| c.id).collect();
        match &self.origin {
            WaiverOrigin::Annotation { object } => format!(
                "annotation {ANNOTATION} ({}) on {}{}",
                ids.join(","),
                object.id(),
                object.template.as_ref().map(|t| format!(" in {t}")).unwrap_or_default()
            ),
            WaiverOrigin::Config { path, line, pattern } => {
                format!("ignore rule for {} on {pattern} at {path}:{line}", ids.join(","))
            }
        }
    }
}

/// Something the report must say besides findings: a problem with a waiver
/// itself (unknown check, no reason, never matched), an input that rendered
/// nothing, a note of the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
}

impl Warning {
    pub fn new(message: impl Into<String>) -> Warning {
        Warning {
            message: message.into(),
        }
    }
}

/// Parse `"M4B: reason"` / `"M4B, M5D: reason"`; several clauses on separate lines.
pub fn parse_annotation(value: &str) -> Vec<Result<(Vec<&'static CheckInfo>, String), String>> {
    value
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|clause| {
            let (ids, reason) = clause.split_once(':').unwrap_or((clause, ""));
            let mut found = Vec::new();
            for id in ids.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
                found.push(checks::find(id).ok_or_else(|| format!("unknown check {id:?}"))?);
            }
            if found.is_empty() {
                return Err(format!(
                    "no check ID in {clause:?} (expected \"{}: reason\")",
                    checks::M4B.id
                ));
            }
            if reason.trim().is_empty() {
                return Err(format!(
                    "{clause:?} gives no reason (expected \"{}: reason\")",
                    checks::M4B.id
                ));
            }
            Ok((found, reason.trim().to_string()))
        })
        .collect()
}

pub fn collect_waivers<'a>(index: &Index<'a>, config: &Config) -> (Vec<Waiver<'a>>, Vec<Warning>) {
    let mut waivers = Vec::new();
    let mut warnings = Vec::new();
    for object in index.objects {
        let Some(value) = object.annotation(ANNOTATION) else {
            continue;
        };
        for clause in parse_annotation(value) {
            match clause {
                Ok((checks, reason)) => waivers.push(Waiver {
                    checks,
                    reason,
                    origin: WaiverOrigin::Annotation { object },
                }),
                Err(problem) => warnings.push(Warning::new(format!(
                    "ignored {ANNOTATION} on {}: {problem}",
                    object.id()
                ))),
            }
        }
    }
    let path = config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for rule in &config.ignores {
        waivers.push(Waiver {
            checks: rule.checks.clone(),
            reason: rule.reason.clone(),
            origin: WaiverOrigin::Config {
                path: path.clone(),
                line: rule.line,
                pattern: rule.object.clone(),
            },
        });
    }
    (waivers, warnings)
}

/// Split findings into reported and suppressed; warn about waivers that
/// waived nothing.
pub fn apply<'a>(
    findings: Vec<Finding<'a>>,
    waivers: &[Waiver<'a>],
    warnings: &mut Vec<Warning>,
) -> (Vec<Finding<'a>>, Vec<(Finding<'a>, Waiver<'a>)>) {
    let mut used = vec![false; waivers.len()];
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for finding in findings {
        match waivers.iter().position(|w| w.matches(&finding)) {
            Some(i) => {
                used[i] = true;
                suppressed.push((finding, waivers[i].clone()));
            }
            None => kept.push(finding),
        }
    }
    for (waiver, used) in waivers.iter().zip(used) {
        if !used {
            warnings.push(Warning::new(format!(
                "{} matched no finding: remove it",
                waiver.describe()
            )));
        }
    }
    (kept, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_syntax() {
        let parsed = parse_annotation("M4B, m5d: two services on purpose\nM6: policies live in another repo");
        let ok: Vec<_> = parsed.into_iter().map(Result::unwrap).collect();
        assert_eq!(ok[0].0.iter().map(|c| c.id).collect::<Vec<_>>(), ["M4B", "M5D"]);
        assert_eq!(ok[1].1, "policies live in another repo");
        assert!(parse_annotation("M4B")[0].as_ref().unwrap_err().contains("no reason"));
        assert!(parse_annotation("M42: x")[0]
            .as_ref()
            .unwrap_err()
            .contains("unknown check"));
    }
}
