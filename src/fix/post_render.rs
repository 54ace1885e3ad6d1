//! `netaudit post-render`: the manifest stream with the port patches applied
//! and the policies appended.

use super::plan::Outcome;
use crate::model::documents;
use crate::yaml;
use anyhow::{anyhow, Result};

/// The post-renderer: the stream with the port patches applied to its
/// objects (a patched object is re-emitted; the others pass unchanged) and
/// the policies appended. Returns the text and the patches that found no
/// object.
pub fn post_render(text: &str, outcome: &Outcome) -> Result<(String, Vec<String>)> {
    let mut applied = vec![false; outcome.ports.patches.len()];
    let mut out = String::with_capacity(text.len() + 4096);
    for chunk in documents::split_documents(text) {
        let doc = chunk.text;
        let targets: Vec<usize> = if outcome.ports.patches.is_empty() {
            Vec::new()
        } else {
            match yaml::parse_documents(doc, 1) {
                Ok(nodes) if nodes.len() == 1 => {
                    let json = nodes[0].to_json();
                    (0..outcome.ports.patches.len())
                        .filter(|i| outcome.ports.patches[*i].targets(&json))
                        .collect()
                }
                _ => Vec::new(),
            }
        };
        if targets.is_empty() {
            out.push_str(doc);
            continue;
        }
        let nodes = yaml::parse_documents(doc, 1).map_err(|e| anyhow!("line {}: {}", e.line, e.message))?;
        let mut json = nodes[0].to_json();
        for i in targets {
            applied[i] |= outcome.ports.patches[i].apply(&mut json);
        }
        // Keep the separator and the leading comments (`# Source: ...`).
        for line in doc.split_inclusive('\n') {
            if documents::is_separator(line) || documents::is_blank_line(line) {
                out.push_str(line);
            } else {
                break;
            }
        }
        out.push_str(&yaml::writer::to_yaml(&json));
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if outcome.policy_count() > 0 {
        out.push_str(&super::policy::to_yaml(&outcome.generated));
    }
    out.push_str(&super::policy::baseline_yaml(outcome));
    let missed = outcome
        .ports
        .patches
        .iter()
        .zip(&applied)
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| {
            format!(
                "port {}/{} not declared: container {} of {} is not in the manifests",
                p.port,
                p.protocol.as_str(),
                p.container,
                p.workload
            )
        })
        .collect();
    Ok((out, missed))
}
