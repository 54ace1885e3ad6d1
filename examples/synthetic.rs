//! A synthetic cluster dump for the scale benchmark (`scripts/bench-scale.sh`):
//! N Deployments with a Service each over 100 namespaces, one NetworkPolicy
//! per namespace, and a label collision every 50 workloads.
//!
//!   cargo run --release --example synthetic -- 100000 > /tmp/cluster.yaml

use std::io::{BufWriter, Write};

const NAMESPACES: usize = 100;

fn main() -> std::io::Result<()> {
    let count: usize = match std::env::args().nth(1).map(|n| n.parse()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: synthetic WORKLOADS");
            std::process::exit(2);
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for i in 0..count {
        let namespace = format!("ns-{}", i % NAMESPACES);
        // Every 50th workload takes its predecessor's labels: M4A.
        let label = if i % 50 == 1 { i - 1 } else { i };
        write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {namespace}\n\
             spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app-{label}}}\n  template:\n    metadata:\n      \
             labels: {{app: app-{label}, tier: web}}\n    spec:\n      containers:\n        - name: c\n          \
             image: busybox:1.36\n          ports: [{{name: http, containerPort: 8080}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: {namespace}\nspec:\n  \
             selector: {{app: app-{label}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
        )?;
    }
    for n in 0..NAMESPACES {
        write!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: ns-{n}\n\
             spec:\n  podSelector: {{matchLabels: {{tier: web}}}}\n  policyTypes: [Ingress]\n  ingress:\n    \
             - from:\n        - podSelector: {{matchLabels: {{app: app-{n}}}}}\n      ports: [{{port: 8080}}]\n"
        )?;
    }
    out.flush()
}
