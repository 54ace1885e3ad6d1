//! A synthetic cluster dump for the scale benchmark (`scripts/bench-scale.sh`):
//! N Deployments with a Service each, network policies, and a label
//! collision every 50 workloads. Shapes:
//!
//! - `selected` (the default): 100 namespaces, every workload selected by
//!   its namespace's policy (one NetworkPolicy per namespace).
//! - `unprotected`: 50 namespaces, each policy selecting a seventh of the
//!   workloads (a `team` label): most workloads are selected by no policy,
//!   as in real clusters (M6, exposure to any pod).
//! - `policies`: one policy per component (10 workloads sharing a
//!   `component` label), so 10,000 policies at 100,000 workloads, over
//!   N/1000 namespaces (at least 10) whose `Namespace` objects carry `team`,
//!   `env` and `tier` labels. Each workload has a `role` (frontend, api,
//!   worker, db, cache); peers are mostly namespace labels and roles, with
//!   named ports, ipBlocks with `except` and some egress rules. 80 % of the
//!   policies are Kubernetes NetworkPolicies, 10 % Calico NetworkPolicies
//!   (`selector` expressions, `order`, Allow and Deny), 10 % Cilium
//!   CiliumNetworkPolicies (`endpointSelector`, `fromEndpoints` on
//!   namespace labels, `toPorts`); two Calico GlobalNetworkPolicies (the
//!   databases of `env: prod` namespaces reach only the cluster's
//!   workloads; a quarantine label).
//! - `namespaces`: 1,000 namespaces with labelled `Namespace` objects,
//!   the workloads spread over them, and a NetworkPolicy per namespace
//!   allowing ingress by `namespaceSelector` on those labels (same team
//!   and env; the tier in front).
//!
//! The `selected` and `unprotected` dumps stay byte for byte what
//! docs/performance.md has quoted.
//!
//!   cargo run --release --example synthetic -- 100000 [selected|unprotected|policies|namespaces] > /tmp/cluster.yaml

use std::io::{BufWriter, Write};

const ROLES: [&str; 5] = ["frontend", "api", "worker", "db", "cache"];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const TIERS: [&str; 3] = ["frontend", "backend", "data"];

fn main() -> std::io::Result<()> {
    let usage = || -> ! {
        eprintln!("usage: synthetic WORKLOADS [selected|unprotected|policies|namespaces]");
        std::process::exit(2);
    };
    let count: usize = match std::env::args().nth(1).map(|n| n.parse()) {
        Some(Ok(n)) => n,
        _ => usage(),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    match std::env::args().nth(2).as_deref() {
        None | Some("selected") => one_policy_per_namespace(&mut out, count, false)?,
        Some("unprotected") => one_policy_per_namespace(&mut out, count, true)?,
        Some("policies") => policies(&mut out, count)?,
        Some("namespaces") => namespaces(&mut out, count)?,
        Some(_) => usage(),
    }
    out.flush()
}

/// The `selected` and `unprotected` shapes.
fn one_policy_per_namespace(out: &mut impl Write, count: usize, unprotected: bool) -> std::io::Result<()> {
    let namespaces = if unprotected { 50 } else { 100 };
    // The label a namespace's policy selects: every workload's, or a seventh's.
    let selected = if unprotected { "team: t0" } else { "tier: web" };
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
    Ok(())
}

/// Namespace `n`'s labels: `team` (one of `teams`), `env`, `tier`.
fn namespace_labels(n: usize, teams: usize) -> (String, &'static str, &'static str) {
    (format!("t{}", n % teams), ENVS[n % 3], TIERS[(n / 3) % 3])
}

fn write_namespace(out: &mut impl Write, n: usize, teams: usize) -> std::io::Result<()> {
    let (team, env, tier) = namespace_labels(n, teams);
    write!(
        out,
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{n}\n  \
         labels: {{team: {team}, env: {env}, tier: {tier}}}\n"
    )
}

/// A Deployment and its Service; `extra` are more pod labels, `ports` the
/// container's ports besides `http` 8080.
fn write_workload(out: &mut impl Write, i: usize, namespace: usize, extra: &str, ports: &str) -> std::io::Result<()> {
    // Every 50th workload takes its predecessor's labels: M4A.
    let label = if i % 50 == 1 { i - 1 } else { i };
    write!(
        out,
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns-{namespace}\n\
         spec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: app-{label}}}\n  template:\n    metadata:\n      \
         labels: {{app: app-{label}{extra}}}\n    spec:\n      containers:\n        - name: c\n          \
         image: busybox:1.36\n          ports: [{{name: http, containerPort: 8080}}{ports}]\n\
         ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: ns-{namespace}\nspec:\n  \
         selector: {{app: app-{label}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
    )
}

/// The `policies` shape.
fn policies(out: &mut impl Write, count: usize) -> std::io::Result<()> {
    let namespaces = (count / 1000).max(10);
    let teams = 20;
    for n in 0..namespaces {
        write_namespace(out, n, teams)?;
    }
    // Component k: workloads 10k..10k+9, in namespace k % namespaces, the
    // j-th component there, with role j % 5.
    let place = |k: usize| (k % namespaces, k / namespaces);
    for i in 0..count {
        let k = i / 10;
        let (n, j) = place(k);
        let role = ROLES[j % 5];
        let ports = match role {
            "db" => ", {name: postgres, containerPort: 5432}",
            "cache" => ", {name: redis, containerPort: 6379}",
            _ => "",
        };
        // A few canaries (Calico `!has(canary)`) and quarantined pods.
        let canary = if i % 10 == 9 { ", canary: \"true\"" } else { "" };
        let quarantine = if i % 997 == 500 { ", quarantine: \"true\"" } else { "" };
        write_workload(
            out,
            i,
            n,
            &format!(", component: c{k}, role: {role}{canary}{quarantine}"),
            ports,
        )?;
    }
    for k in 0..count.div_ceil(10) {
        let (n, j) = place(k);
        let role = ROLES[j % 5];
        let (team, env, _) = namespace_labels(n, teams);
        match (j + n) % 10 {
            7 => calico_policy(out, k, n, j, &team)?,
            8 => cilium_policy(out, k, n, role, &team)?,
            flavor => kubernetes_policy(out, k, n, role, &team, env, flavor)?,
        }
    }
    write!(
        out,
        "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: quarantine\n\
         spec:\n  order: 1\n  selector: has(quarantine)\n  types: [Ingress, Egress]\n  \
         ingress:\n    - action: Deny\n  egress:\n    - action: Deny\n\
         ---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: prod-db-egress\n\
         spec:\n  order: 10\n  namespaceSelector: env == 'prod'\n  selector: role == 'db'\n  types: [Egress]\n  \
         egress:\n    - action: Deny\n      destination:\n        nets: [169.254.169.254/32]\n    \
         - action: Allow\n      destination:\n        selector: has(role)\n        namespaceSelector: has(env)\n"
    )
}

/// A NetworkPolicy for component `k`: who may call it depends on its role.
fn kubernetes_policy(
    out: &mut impl Write,
    k: usize,
    n: usize,
    role: &str,
    team: &str,
    env: &str,
    flavor: usize,
) -> std::io::Result<()> {
    let ingress = match role {
        "frontend" => "    - from:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n            \
                       except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n      ports: [{port: http}]\n    \
                       - from:\n        - namespaceSelector: {matchLabels: {tier: frontend}}\n      \
                       ports: [{port: http}]\n"
            .to_string(),
        "api" => format!(
            "    - from:\n        - podSelector: {{matchLabels: {{role: frontend}}}}\n        \
             - namespaceSelector: {{matchLabels: {{team: {team}}}}}\n          \
             podSelector: {{matchLabels: {{role: frontend}}}}\n      ports: [{{port: http, protocol: TCP}}]\n"
        ),
        "worker" => "    - from:\n        - podSelector:\n            \
                     matchExpressions: [{key: role, operator: In, values: [api, worker]}]\n      \
                     ports: [{port: http}]\n"
            .to_string(),
        "db" => format!(
            "    - from:\n        - namespaceSelector: {{matchLabels: {{env: {env}}}}}\n          \
             podSelector: {{matchLabels: {{role: api}}}}\n        - podSelector: {{matchLabels: {{role: worker}}}}\n      \
             ports: [{{port: postgres}}]\n"
        ),
        _ => "    - from:\n        - podSelector:\n            \
              matchExpressions: [{key: role, operator: In, values: [api, worker]}]\n      \
              ports: [{port: redis}]\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}\n      \
              ports: [{port: 6379}]\n"
            .to_string(),
    };
    // Some with egress: to the databases of data-tier namespaces and DNS,
    // or to the internet over HTTPS but not the metadata address.
    let egress = match flavor {
        5 | 6 => "  egress:\n    - to:\n        - namespaceSelector: {matchLabels: {tier: data}}\n          \
                  podSelector: {matchLabels: {role: db}}\n      ports: [{port: 5432}]\n    \
                  - to:\n        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n          \
                  podSelector: {matchLabels: {k8s-app: kube-dns}}\n      ports: [{port: 53, protocol: UDP}]\n",
        9 => "  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0\n            \
              except: [169.254.169.254/32, 10.0.0.0/8]\n      ports: [{port: 443}]\n",
        _ => "",
    };
    let types = if egress.is_empty() {
        "[Ingress]"
    } else {
        "[Ingress, Egress]"
    };
    write!(
        out,
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: c{k}\n  namespace: ns-{n}\n\
         spec:\n  podSelector: {{matchLabels: {{component: c{k}}}}}\n  policyTypes: {types}\n  ingress:\n\
         {ingress}{egress}"
    )
}

/// A Calico NetworkPolicy for component `k`, in order with the others.
fn calico_policy(out: &mut impl Write, k: usize, n: usize, j: usize, team: &str) -> std::io::Result<()> {
    let order = 100 + (j % 5) * 10;
    write!(
        out,
        "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata:\n  name: c{k}\n  namespace: ns-{n}\n\
         spec:\n  selector: component == 'c{k}'\n  order: {order}\n  types: [Ingress, Egress]\n  ingress:\n    \
         - action: Deny\n      protocol: TCP\n      source:\n        nets: [192.168.0.0/16]\n    \
         - action: Allow\n      protocol: TCP\n      source:\n        selector: role in {{'frontend', 'api'}}\n        \
         namespaceSelector: team == '{team}'\n      destination:\n        ports: [http]\n    \
         - action: Allow\n      protocol: TCP\n      source:\n        selector: role == 'worker' && !has(canary)\n      \
         destination:\n        ports: [http, '9000:9100']\n  egress:\n    \
         - action: Allow\n      protocol: TCP\n      destination:\n        selector: role == 'db'\n        \
         namespaceSelector: tier == 'data'\n        ports: [5432]\n    \
         - action: Allow\n      protocol: UDP\n      destination:\n        selector: k8s-app == 'kube-dns'\n        \
         namespaceSelector: projectcalico.org/name == 'kube-system'\n        ports: [53]\n"
    )
}

/// A CiliumNetworkPolicy for component `k`.
fn cilium_policy(out: &mut impl Write, k: usize, n: usize, role: &str, team: &str) -> std::io::Result<()> {
    let port = match role {
        "db" => "postgres",
        "cache" => "\"6379\"",
        _ => "http",
    };
    write!(
        out,
        "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: c{k}\n  namespace: ns-{n}\n\
         spec:\n  endpointSelector: {{matchLabels: {{component: c{k}}}}}\n  ingress:\n    \
         - fromEndpoints:\n        - matchLabels: {{role: frontend}}\n        \
         - matchLabels: {{k8s:io.cilium.k8s.namespace.labels.team: {team}, role: api}}\n      \
         toPorts: [{{ports: [{{port: {port}, protocol: TCP}}]}}]\n    \
         - fromCIDRSet: [{{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}}]\n      \
         toPorts: [{{ports: [{{port: \"8080\", protocol: TCP}}]}}]\n  egress:\n    \
         - toEndpoints:\n        - matchLabels: {{k8s:io.cilium.k8s.namespace.labels.tier: data, role: db}}\n      \
         toPorts: [{{ports: [{{port: \"5432\", protocol: TCP}}]}}]\n    \
         - toEndpoints:\n        - matchLabels: {{k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}\n      \
         toPorts: [{{ports: [{{port: \"53\", protocol: ANY}}]}}]\n    - toEntities: [kube-apiserver]\n"
    )
}

/// The `namespaces` shape.
fn namespaces(out: &mut impl Write, count: usize) -> std::io::Result<()> {
    let namespaces = 1000;
    let teams = 50;
    for n in 0..namespaces {
        write_namespace(out, n, teams)?;
    }
    for i in 0..count {
        let role = ROLES[(i / namespaces) % 5];
        // A colliding pair (every 50th workload) shares a namespace.
        let n = if i % 50 == 1 { i - 1 } else { i } % namespaces;
        write_workload(out, i, n, &format!(", role: {role}"), "")?;
    }
    for n in 0..namespaces {
        let (team, env, tier) = namespace_labels(n, teams);
        // Ingress from the same team and env, and from the tier in front.
        let front = match tier {
            "frontend" => "        - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}\n".to_string(),
            "backend" => "        - namespaceSelector: {matchLabels: {tier: frontend}}\n".to_string(),
            _ => format!(
                "        - namespaceSelector:\n            matchLabels: {{tier: backend}}\n            \
                 matchExpressions: [{{key: env, operator: In, values: [{env}]}}]\n"
            ),
        };
        write!(
            out,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: from-team\n  \
             namespace: ns-{n}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress]\n  ingress:\n    \
             - from:\n        - namespaceSelector: {{matchLabels: {{team: {team}, env: {env}}}}}\n      \
             ports: [{{port: http}}]\n    - from:\n{front}      ports: [{{port: http}}]\n"
        )?;
    }
    Ok(())
}
