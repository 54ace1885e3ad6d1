//! docs/checks.md, generated from the registry (`netaudit gen-docs`).

use crate::checks::REGISTRY;

pub fn checks_markdown() -> String {
    let mut out = String::from(
        "# Checks\n\n<!-- Generated from the check registry by `cargo run -- gen-docs`; do not edit by hand. -->\n\n\
         Each check's text is the doc comment of its file in `src/checks/`. The exact definitions are in the\n\
         project's check specification; `netaudit explain ID` prints the same text. M1-M7 are the paper's\n\
         misconfigurations; NP1-NP3 are policy hygiene checks of our own (the NP prefix keeps them apart).\n\n\
         Every finding about a port (M1, M2, M3, M5A, M5B, M5C) or a workload (M4A-M4G, M6, M7) also says\n\
         who can open a connection to it under the Kubernetes, Cilium and Calico policies of the input: its\n\
         *exposure* (\"reachable from any pod in the cluster\", \"reachable only from pods of release `shop` in\n\
         namespace `shop`\", \"reachable from nobody\"; see json-schema.md). A policy construct the tool does\n\
         not evaluate (an L7 rule, a Calico tier) makes the answer \"reachable\", with a note naming it.\n\n\
         | ID | Name | Default severity | Analysis | Reported when |\n|---|---|---|---|---|\n",
    );
    for check in REGISTRY {
        out.push_str(&format!(
            "| [{id}](#{anchor}) | `{}` | {} | {} | {} |\n",
            check.name,
            check.default_severity,
            check.analysis_text(),
            check.summary,
            id = check.id,
            anchor = format!("{}-{}", check.id, check.name).to_lowercase(),
        ));
    }
    for check in REGISTRY {
        let doc = check.documentation().replace("\n## ", "\n### ");
        let doc = doc.strip_prefix("## ").map(|d| format!("### {d}")).unwrap_or(doc);
        out.push_str(&format!(
            "\n## {} {}\n\nDefault severity: **{}**. Analysis: {}.\n\n{}\n",
            check.id,
            check.name,
            check.default_severity,
            check.analysis_text(),
            doc
        ));
    }
    out
}

/// `netaudit explain ID` and `netaudit checks`.
pub fn explain(check: &crate::checks::CheckInfo) -> String {
    format!(
        "{} {} (default severity: {}, analysis: {})\n\n{}\n",
        check.id,
        check.name,
        check.default_severity,
        check.analysis_text(),
        check.documentation()
    )
}

pub fn checks_list() -> String {
    let mut out = String::new();
    for check in REGISTRY {
        out.push_str(&format!(
            "{:<4} {:<34} {:<7} {}\n",
            check.id, check.name, check.default_severity, check.summary
        ));
    }
    out
}
