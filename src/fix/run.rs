//! What `netaudit fix` and `netaudit post-render` compute from rendered
//! manifests (and, optionally, a probe report): the NetworkPolicies, the port
//! patches, the patched stream and the README. No I/O here.

use super::policy::{self, EgressMode, Generated, PolicyOptions};
use super::ports::{self, PortPlan, RuntimeFinding};
use crate::model::{yaml, Index, Input};
use crate::probe::WorkloadRef;
use anyhow::{anyhow, Result};
use serde_json::Value;

/// Everything generated for one set of rendered manifests.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub generated: Vec<Generated>,
    pub ports: PortPlan,
    /// Static findings on the input that the generated files address, for
    /// the README: (check, workload or object, message).
    pub findings: Vec<(String, String, String)>,
}

impl Outcome {
    pub fn policy_count(&self) -> usize {
        self.generated
            .iter()
            .filter(|g| matches!(g, Generated::Policy { .. }))
            .count()
    }
}

pub fn plan(inputs: &[Input], findings: &[RuntimeFinding], egress: EgressMode) -> Result<Outcome> {
    let objects = crate::audit::load(inputs).map_err(|e| anyhow!("{e}"))?;
    let index = Index::new(inputs, &objects);
    let options = PolicyOptions {
        egress,
        observed_ports: ports::observed_ports(findings),
    };
    let mut generated = policy::generate(&index, &options);
    // A workload without `metadata.namespace` goes wherever it is installed
    // (helm's -n, kubectl's -n): its policy must follow it there.
    for g in &mut generated {
        if let Generated::Policy { workload, policy, .. } = g {
            let implicit = index.workloads.iter().any(|w| {
                w.obj.kind == workload.kind
                    && w.obj.name == workload.name
                    && w.obj.namespace == workload.namespace
                    && w.obj.root.path(&["metadata", "namespace"]).is_none()
            });
            if implicit {
                if let Some(meta) = policy.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("namespace");
                }
            }
        }
    }
    let ports = ports::plan(&index, findings);
    let audit = crate::audit::run(inputs, &objects, &crate::config::Config::default());
    let findings = audit
        .findings
        .iter()
        .filter(|f| matches!(f.check.id, "M6" | "M5B" | "M4A" | "M7"))
        .map(|f| {
            let subject = f
                .subjects
                .first()
                .map(|s| format!("{}/{}/{}", s.object.kind, s.object.namespace, s.object.name))
                .unwrap_or_default();
            (f.check.id.to_string(), subject, f.message.clone())
        })
        .collect();
    Ok(Outcome {
        generated,
        ports,
        findings,
    })
}

/// Split a manifest stream into documents, each with its separator line.
fn documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if (bare == "---" || bare.starts_with("--- ")) && offset > start {
            docs.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    if offset > start {
        docs.push(&text[start..offset]);
    }
    docs
}

/// The post-renderer: the stream with the port patches applied to its
/// objects (a patched object is re-emitted; the others pass unchanged) and
/// the policies appended. Returns the text and the patches that found no
/// object.
pub fn post_render(text: &str, outcome: &Outcome) -> Result<(String, Vec<String>)> {
    let mut applied = vec![false; outcome.ports.patches.len()];
    let mut out = String::with_capacity(text.len() + 4096);
    for doc in documents(text) {
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
            let bare = line.trim();
            if bare.starts_with("---") || bare.starts_with('#') || bare.is_empty() {
                out.push_str(line);
            } else {
                break;
            }
        }
        out.push_str(&policy::value_to_yaml(&json));
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if outcome.policy_count() > 0 {
        out.push_str(&policy::to_yaml(&outcome.generated));
    }
    let missed = outcome
        .ports
        .patches
        .iter()
        .zip(&applied)
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| {
            format!(
                "port {}/{} not declared: container {} of {}/{}/{} is not in the manifests",
                p.port,
                p.protocol.as_str(),
                p.container,
                p.workload.kind,
                p.workload.namespace,
                p.workload.name
            )
        })
        .collect();
    Ok((out, missed))
}

/// `kustomization.yaml` for the `fix` directory.
pub fn kustomization(outcome: &Outcome) -> String {
    let mut out = String::from(
        "# Generated by `helm netaudit fix`: `kubectl kustomize .` (or `kustomize build .`) gives the\n\
         # chart's manifests with the NetworkPolicies added and the port declarations patched in.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n  - rendered.yaml\n",
    );
    if outcome.policy_count() > 0 {
        out.push_str("  - networkpolicies.yaml\n");
    }
    if !outcome.ports.patches.is_empty() {
        // kustomize v5 reads several strategic-merge patches from one file.
        out.push_str("patches:\n  - path: ports.patch.yaml\n");
    }
    out
}

fn workload_id(w: &WorkloadRef) -> String {
    format!("{}/{}/{}", w.kind, w.namespace, w.name)
}

/// `README.md` for the `fix` directory: finding by finding, what was
/// generated and why, and what needs a person.
pub fn readme(outcome: &Outcome, source: &str, report: Option<&str>, egress: EgressMode) -> String {
    let mut out = String::new();
    out.push_str("# netaudit fix\n\n");
    out.push_str(&format!(
        "Generated by `helm netaudit fix` from {source}{}. Nothing in the chart was changed: \
         review these files, then apply them with `kubectl apply -k .` (or `kubectl kustomize .`), \
         or use `netaudit post-render` as a Helm post-renderer (see docs/cli.md).\n\n",
        match report {
            Some(r) => format!(" and the probe report {r}"),
            None => " (no probe report: no port declarations)".to_string(),
        }
    ));
    out.push_str(
        "| file | what |\n|---|---|\n\
         | `rendered.yaml` | the manifests as rendered (unchanged) |\n\
         | `networkpolicies.yaml` | one NetworkPolicy per workload, each rule explained in a comment |\n\
         | `ports.patch.yaml` | strategic-merge patches declaring the ports a probe saw open (M1), and comments for what needs a person (M2, M3) |\n\
         | `kustomization.yaml` | `rendered.yaml` + `networkpolicies.yaml`, patched with `ports.patch.yaml` |\n\n",
    );
    let egress_text = match egress {
        EgressMode::Dns => "DNS, the Services each workload refers to, and the whole release for a workload whose references cannot be inferred (`--egress dns`)",
        EgressMode::Strict => "DNS and the Services each workload refers to only (`--egress strict`)",
        EgressMode::None => "not restricted (`--egress none`: policies are ingress-only)",
    };
    out.push_str("## NetworkPolicies (M6)\n\n");
    out.push_str(&format!(
        "Each policy selects exactly one workload's pods and denies all ingress but its declared (and \
         observed) ports, from the pods of the release, from the workloads that refer to it, or from \
         anywhere for ports behind NodePort/LoadBalancer Services and Ingresses. Egress: {egress_text}. \
         Traffic to outside the cluster is never allowed: extend a policy by hand if the application needs it.\n\n"
    ));
    for g in &outcome.generated {
        match g {
            Generated::Policy {
                workload,
                policy,
                explanations,
            } => {
                let name = policy
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                out.push_str(&format!("- **{}**: policy `{name}`\n", workload_id(workload)));
                for e in explanations {
                    out.push_str(&format!("  - {}\n", e.replace('\n', " ")));
                }
            }
            Generated::Skipped { workload, reason } => {
                out.push_str(&format!(
                    "- **{}**: **skipped, needs a person**: {}\n",
                    workload_id(workload),
                    reason.replace('\n', " ")
                ));
            }
        }
    }
    if outcome.generated.is_empty() {
        out.push_str("- no workload in the manifests.\n");
    }
    let others: Vec<_> = outcome.findings.iter().filter(|(c, _, _)| c != "M6").collect();
    if !others.is_empty() {
        out.push_str("\n## Static findings not fixed here (need a change in the chart)\n\n");
        for (check, subject, message) in others {
            out.push_str(&format!("- {check} {subject}: {}\n", message.replace('\n', " ")));
        }
    }
    out.push_str("\n## Port declarations (M1, M2, M3)\n\n");
    if report.is_none() {
        out.push_str(
            "No probe report was given (`--from-report`): run `helm netaudit install CHART --probe -o json \
             --output-file report.json` and `fix --from-report report.json` to declare the ports the pods \
             really open.\n",
        );
    } else {
        if outcome.ports.patches.is_empty() {
            out.push_str("No open-but-undeclared port (M1) to declare.\n");
        }
        for p in &outcome.ports.patches {
            out.push_str(&format!(
                "- **{}**: M1, port {}/{} open but undeclared: declared as `{}` on container `{}`{}.\n",
                workload_id(&p.workload),
                p.port,
                p.protocol.as_str(),
                p.name,
                p.container,
                match &p.container_note {
                    Some(n) => format!(" ({n})"),
                    None => String::new(),
                }
            ));
        }
        if !outcome.ports.notes.is_empty() {
            out.push_str("\nNeeds a person:\n\n");
            for n in &outcome.ports.notes {
                out.push_str(&format!("- {}\n", n.text));
            }
        }
    }
    out
}
