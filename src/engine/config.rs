//! `.netaudit.yaml`: disable checks, change severities, waive findings.
//!
//! ```yaml
//! disable: [M6]                 # checks not to run
//! severity: {M3: high, M6: low} # per-check severity overrides
//! ignore:                       # waivers; each needs a reason
//!   - check: M4B
//!     object: Deployment/shop/api   # Kind/namespace/name, `*` matches anything
//!     reason: the debug Service is only rendered in dev
//! ```

use crate::checks::{self, CheckInfo, Severity};
use crate::yaml::{parse_documents, Node};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".netaudit.yaml";

#[derive(Debug, Default)]
pub struct Config {
    /// Where it was read from (None: defaults).
    pub path: Option<PathBuf>,
    pub disabled: Vec<&'static CheckInfo>,
    pub severities: BTreeMap<&'static str, Severity>,
    pub ignores: Vec<IgnoreRule>,
}

#[derive(Debug, Clone)]
pub struct IgnoreRule {
    pub checks: Vec<&'static CheckInfo>,
    /// `Kind/namespace/name` glob.
    pub object: String,
    pub reason: String,
    pub line: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub line: u32,
    pub message: String,
}

impl Config {
    /// The checks to run, in registry order.
    pub fn enabled_checks(&self) -> Vec<&'static CheckInfo> {
        checks::REGISTRY
            .iter()
            .copied()
            .filter(|c| !self.disabled.iter().any(|d| d.id == c.id))
            .collect()
    }

    pub fn severity_of(&self, check: &CheckInfo) -> Severity {
        self.severities.get(check.id).copied().unwrap_or(check.default_severity)
    }

    /// `--config FILE`, else `.netaudit.yaml` in the first of `search_dirs`
    /// that has one, else defaults.
    pub fn discover(explicit: Option<&Path>, search_dirs: &[PathBuf]) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        for dir in search_dirs {
            let candidate = dir.join(FILE_NAME);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
        }
        Ok(Config::default())
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: shown.clone(),
            line: 0,
            message: format!("cannot read config: {e}"),
        })?;
        let mut config = Config::parse(&text, &shown)?;
        config.path = Some(path.to_path_buf());
        Ok(config)
    }

    pub fn parse(text: &str, shown: &str) -> Result<Config, ConfigError> {
        let err = |line: u32, message: String| ConfigError {
            path: shown.to_string(),
            line,
            message,
        };
        let docs = parse_documents(text, 1).map_err(|e| err(e.line, format!("invalid YAML: {}", e.message)))?;
        let mut config = Config::default();
        let Some(root) = docs.into_iter().find(|d| !d.is_null()) else {
            return Ok(config);
        };
        if !root.is_map() {
            return Err(err(
                root.line,
                "expected a mapping with `disable`, `severity`, `ignore`".into(),
            ));
        }
        let check_named = |node: &Node| -> Result<&'static CheckInfo, ConfigError> {
            let id = node.scalar_text().unwrap_or("");
            checks::find(id).ok_or_else(|| err(node.line, format!("unknown check {id:?} (see `netaudit checks`)")))
        };
        for (key, value) in root.entries() {
            match key.text.as_str() {
                "disable" => {
                    for item in value.as_seq() {
                        config.disabled.push(check_named(item)?);
                    }
                }
                "severity" => {
                    for (id, sev) in value.entries() {
                        let check = checks::find(&id.text)
                            .ok_or_else(|| err(id.line, format!("unknown check {:?}", id.text)))?;
                        let text = sev.scalar_text().unwrap_or("");
                        let severity = Severity::parse(text).ok_or_else(|| {
                            err(sev.line, format!("unknown severity {text:?}: use low, medium or high"))
                        })?;
                        config.severities.insert(check.id, severity);
                    }
                }
                "ignore" => {
                    for rule in value.as_seq() {
                        let checks_node = rule
                            .get("check")
                            .ok_or_else(|| err(rule.line, "an ignore entry needs `check`".into()))?;
                        let checks = if checks_node.is_seq() {
                            checks_node
                                .as_seq()
                                .iter()
                                .map(check_named)
                                .collect::<Result<Vec<_>, _>>()?
                        } else {
                            vec![check_named(checks_node)?]
                        };
                        let reason = rule.get("reason").and_then(Node::scalar_text).unwrap_or("").trim();
                        if reason.is_empty() {
                            return Err(err(rule.line, "an ignore entry needs a `reason`".into()));
                        }
                        config.ignores.push(IgnoreRule {
                            checks,
                            object: rule
                                .get("object")
                                .and_then(Node::scalar_text)
                                .unwrap_or("*")
                                .to_string(),
                            reason: reason.to_string(),
                            line: rule.line,
                        });
                    }
                }
                other => {
                    return Err(err(
                        key.line,
                        format!("unknown key {other:?}: expected disable, severity or ignore"),
                    ))
                }
            }
        }
        Ok(config)
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_sections() {
        let c = Config::parse(
            "disable: [M6]\nseverity: {M7: low}\nignore:\n- check: M4B\n  object: Deployment/*/api\n  reason: on purpose\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.disabled[0].id, "M6");
        assert_eq!(c.severity_of(checks::find("M7").unwrap()), Severity::Low);
        assert_eq!(c.ignores[0].object, "Deployment/*/api");
        assert!(!c.enabled_checks().iter().any(|c| c.id == "M6"));
    }

    #[test]
    fn unknown_check_and_missing_reason_are_errors_with_lines() {
        let e = Config::parse("disable: [M6, M99]\n", "cfg.yaml").unwrap_err();
        assert_eq!((e.line, e.to_string().contains("M99")), (1, true));
        let e = Config::parse("ignore:\n- check: M4B\n", "cfg.yaml").unwrap_err();
        assert!(e.message.contains("reason"), "{e}");
        let e = Config::parse("disabled: [M6]\n", "cfg.yaml").unwrap_err();
        assert!(e.message.contains("unknown key"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(glob_match("Deployment/*/api", "Deployment/shop/api"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("*/api*", "Service/ns/api-headless"));
        assert!(!glob_match("Deployment/*/api", "Deployment/shop/apis"));
        assert!(!glob_match("a*a", "a"));
    }
}
