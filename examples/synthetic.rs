//! A synthetic cluster dump for the scale benchmark (`scripts/bench-scale.sh`):
//! N Deployments with a Service each, one NetworkPolicy per namespace, and
//! a label collision every 50 workloads. Shapes:
//!
//! - `selected` (the default): 100 namespaces, every workload selected by
//!   its namespace's policy.
//! - `unprotected`: 50 namespaces, each policy selecting a seventh of the
//!   workloads (a `team` label): most workloads are selected by no policy,
//!   as in real clusters (M6, exposure to any pod).
//!
//!   cargo run --release --example synthetic -- 100000 [selected|unprotected] > /tmp/cluster.yaml

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let usage = || -> ! {
        eprintln!("usage: synthetic WORKLOADS [selected|unprotected]");
        std::process::exit(2);
    };
    let count: usize = match std::env::args().nth(1).map(|n| n.parse()) {
        Some(Ok(n)) => n,
        _ => usage(),
    };
    let unprotected = match std::env::args().nth(2).as_deref() {
        None | Some("selected") => false,
        Some("unprotected") => true,
        Some(_) => usage(),
    };
    let namespaces = if unprotected { 50 } else { 100 };
    // The label a namespace's policy selects: every workload's, or a seventh's.
    let selected = if unprotected { "team: t0" } else { "tier: web" };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for i in 0..count {
        let namespace = format!("ns-{}", i % namespaces);
        // Every 50th workload takes its predecessor's labels: M4A.
        let label = if i % 50 == 1 { i - 1 } else { i };
        // The `team` label only in the unprotected shape: the selected one
        // stays the dump docs/performance.md has quoted all along.
        let team = match unprotected {
            true => format!(", team: t{}", (i / namespaces) % 7),
            false => String::new(),
        };
        write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {namespace}\n\
             spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app-{label}}}\n  template:\n    metadata:\n      \
             labels: {{app: app-{label}, tier: web{team}}}\n    spec:\n      containers:\n        - name: c\n          \
             image: busybox:1.36\n          ports: [{{name: http, containerPort: 8080}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: {namespace}\nspec:\n  \
             selector: {{app: app-{label}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
        )?;
    }
    for n in 0..namespaces {
        write!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: ns-{n}\n\
             spec:\n  podSelector: {{matchLabels: {{{selected}}}}}\n  policyTypes: [Ingress]\n  ingress:\n    \
             - from:\n        - podSelector: {{matchLabels: {{app: app-{n}}}}}\n      ports: [{{port: 8080}}]\n"
        )?;
    }
    out.flush()
}
