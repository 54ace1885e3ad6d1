//! The reachability engine computes each answer once per class of
//! workloads the policies see alike (src/reach/classes.rs). Held here to
//! the same engine with every workload a class of its own, answer for
//! answer: the whole `reach` matrix, the exposure of every workload port
//! and the flows `fix` is told are allowed (each with its policies and
//! doubt), over every manifest of testdata/, a generated cluster that mixes
//! every policy kind over shared labels, and every chart of the shared
//! corpus (skipped, saying so, when ../shared/corpus is absent).

mod common;

use netaudit::model::{Detail, Index, Manifests};
use netaudit::reach::flows::allowed_flows_with;
use netaudit::reach::matrix::Matrix;
use netaudit::reach::{exposure, Evaluator, Lean};
use netaudit::source::{self, InputSpec};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The differences between the two engines on one input (empty: none).
fn differences(name: &str, index: &Index<'_>) -> Vec<String> {
    let classes = Evaluator::new(index);
    let reference = Evaluator::new(index).without_classes();
    let mut found = Vec::new();
    let by_class = serde_json::to_value(Matrix::with(&classes, index)).unwrap();
    let by_workload = serde_json::to_value(Matrix::with(&reference, index)).unwrap();
    if by_class != by_workload {
        let rows = |m: &serde_json::Value| m["rows"].as_array().cloned().unwrap_or_default();
        let (a, b) = (rows(&by_class), rows(&by_workload));
        let first = a.iter().zip(&b).find(|(x, y)| x != y);
        found.push(format!("{name}: reach matrices differ, first row: {first:#?}"));
    }
    let doubting = Evaluator::new(index).leaning(Lean::Blocked);
    let doubting_alone = Evaluator::new(index).without_classes().leaning(Lean::Blocked);
    let flows = allowed_flows_with(&classes, &doubting, index, &BTreeMap::new());
    let flows_alone = allowed_flows_with(&reference, &doubting_alone, index, &BTreeMap::new());
    if flows != flows_alone {
        let first = flows
            .iter()
            .zip(&flows_alone)
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("{a:?} != {b:?}"))
            .unwrap_or_else(|| format!("{} flows != {}", flows.len(), flows_alone.len()));
        found.push(format!("{name}: allowed flows differ, first: {first}"));
    }
    for (i, w) in index.workloads.iter().enumerate() {
        let mut queries: Vec<Vec<(u16, netaudit::model::Protocol)>> = vec![Vec::new()];
        queries.extend(w.ports().map(|p| vec![(p.number, p.protocol)]));
        for ports in queries {
            let with = exposure(&classes, index, &[i], &ports);
            let without = exposure(&reference, index, &[i], &ports);
            if with != without {
                found.push(format!(
                    "{name}: exposure of {} {ports:?}: {with:?} != {without:?}",
                    w.obj.id()
                ));
            }
        }
    }
    found
}

fn load(spec: InputSpec) -> Option<Manifests> {
    let inputs = source::acquire(&[spec]).ok()?;
    Manifests::load(inputs, Detail::Checks).ok()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn classes_answer_as_every_workload_alone_on_testdata() {
    let mut files = Vec::new();
    yaml_files(&common::repo().join("testdata"), &mut files);
    let mut with_policies = 0;
    let mut found = Vec::new();
    for path in &files {
        let spec = InputSpec::Manifests {
            path: path.display().to_string(),
            namespace: "t".into(),
        };
        // Some files are broken on purpose, or are not manifests.
        let Some(manifests) = load(spec) else { continue };
        let index = manifests.index();
        if !index.policies.is_empty() && index.workloads.len() > 1 {
            with_policies += 1;
        }
        found.extend(differences(&path.display().to_string(), &index));
    }
    assert!(
        with_policies >= 40,
        "only {with_policies} testdata inputs with policies"
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A cluster where classes group many workloads: shared labels, every
/// policy kind, StatefulSets picked by pod name, hostNetwork, named ports.
fn generated_cluster() -> String {
    let mut out = String::new();
    for n in 0..4 {
        let team = ["a", "b"][n % 2];
        writeln!(
            out,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{n}\n  labels: {{team: {team}, env: e{}}}",
            n % 3
        )
        .unwrap();
    }
    for i in 0..240 {
        let ns = i % 4;
        let kind = if i % 11 == 3 { "StatefulSet" } else { "Deployment" };
        let host = if i == 17 { "\n      hostNetwork: true" } else { "" };
        let port = if i % 5 == 0 {
            "[{name: metrics, containerPort: 9090}, {name: http, containerPort: 8080}]"
        } else {
            "[{name: http, containerPort: 8080}]"
        };
        let account = if i % 7 == 0 {
            "\n      serviceAccountName: robot"
        } else {
            ""
        };
        writeln!(
            out,
            "---\napiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: w-{i}\n  namespace: ns-{ns}\nspec:\n  replicas: 3\n  \
             selector:\n    matchLabels: {{app: w-{i}}}\n  template:\n    metadata:\n      labels: {{app: w-{i}, role: r{}, tier: t{}, build: b{}}}\n    \
             spec:{host}{account}\n      containers:\n        - name: c\n          image: busybox\n          ports: {port}",
            i % 3,
            (i / 4) % 2,
            (i / 5) % 4
        )
        .unwrap();
    }
    let policies = [
        // Kubernetes: by role, from namespaces of a team, named port.
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k1, namespace: ns-0}\nspec:\n  podSelector: {matchLabels: {role: r0}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n    - from:\n        - namespaceSelector: {matchLabels: {team: a}}\n          podSelector: {matchLabels: {tier: t1}}\n        - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n      ports: [{port: http}]\n  egress:\n    - to:\n        - namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [e0, e1]}]}\n      ports: [{port: 8080}]",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k2, namespace: ns-1}\nspec:\n  podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [r2]}]}\n  ingress:\n    - from:\n        - podSelector: {matchLabels: {role: r2}}\n        - podSelector: {matchExpressions: [{key: app, operator: In, values: [w-1, w-5, w-9]}]}\n    - ports: [{port: metrics}]",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: pick, namespace: ns-3}\nspec:\n  podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: w-3-1}}\n  ingress: []",
        // Calico: ordered, a Deny before an Allow, notSelector.
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c1, namespace: ns-2}\nspec:\n  order: 10\n  selector: tier == 't0'\n  types: [Ingress]\n  ingress:\n    - action: Deny\n      source:\n        selector: role == 'r1'\n    - action: Allow\n      protocol: TCP\n      source:\n        namespaceSelector: team == 'b'\n        notSelector: role == 'r2'\n      destination:\n        ports: [8080]",
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g1}\nspec:\n  order: 5\n  selector: role == 'r2' && has(tier)\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination:\n        selector: tier in {'t0'} || build starts with 'b1'\n    - action: Deny",
        // Cilium: endpoint selector, deny, entities.
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: cil, namespace: ns-3}\nspec:\n  endpointSelector: {matchLabels: {tier: t1}}\n  ingress:\n    - fromEndpoints:\n        - matchLabels: {role: r0}\n      toPorts:\n        - ports: [{port: '8080', protocol: TCP}]\n    - fromEntities: [world]\n  ingressDeny:\n    - fromEndpoints:\n        - matchLabels: {role: r1, k8s:io.kubernetes.pod.namespace: ns-3}",
        // A Deny that matches all pods of some workloads and one pod of a
        // StatefulSet (w-14, role r2): its other pods go on to the Allow.
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: part, namespace: ns-2}\nspec:\n  order: 30\n  selector: tier == 't1'\n  types: [Ingress]\n  ingress:\n    - action: Deny\n      source:\n        selector: role == 'r0' || statefulset.kubernetes.io/pod-name == 'w-14-0'\n    - action: Allow",
        // Egress rules said alike by policies of other names (one egress
        // profile per namespace: `podSelector` alone means its own).
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: same-1, namespace: ns-1}\nspec:\n  podSelector: {matchLabels: {build: b2}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - podSelector: {matchLabels: {role: r1}}\n      ports: [{port: 8080}]",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: same-2, namespace: ns-2}\nspec:\n  podSelector: {matchLabels: {build: b2}}\n  policyTypes: [Egress]\n  egress:\n    - to:\n        - podSelector: {matchLabels: {role: r1}}\n      ports: [{port: 8080}]",
        // Calico policies of one order: their names order them, not the
        // input (build b0: z1's Deny first; b1: y0's Allow first).
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: z2, namespace: ns-0}\nspec:\n  order: 20\n  selector: build == 'b0'\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination:\n        selector: tier == 't0'",
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: z1, namespace: ns-0}\nspec:\n  order: 20\n  selector: build == 'b0'\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination:\n        selector: tier == 't0'",
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: y0, namespace: ns-0}\nspec:\n  order: 20\n  selector: build == 'b1'\n  types: [Egress]\n  egress:\n    - action: Allow\n      destination:\n        selector: tier == 't0'",
        "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: y1, namespace: ns-0}\nspec:\n  order: 20\n  selector: build == 'b1'\n  types: [Egress]\n  egress:\n    - action: Deny\n      destination:\n        selector: tier == 't0'",
        // The admin tier.
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: adm}\nspec:\n  priority: 10\n  subject:\n    namespaces: {matchLabels: {env: e2}}\n  ingress:\n    - name: deny-r1\n      action: Deny\n      from:\n        - pods:\n            namespaceSelector: {}\n            podSelector: {matchLabels: {role: r1}}",
    ];
    for policy in policies {
        writeln!(out, "---\n{policy}").unwrap();
    }
    out
}

#[test]
fn classes_answer_as_every_workload_alone_on_a_generated_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(&path, generated_cluster()).unwrap();
    let manifests = load(InputSpec::Manifests {
        path: path.display().to_string(),
        namespace: "default".into(),
    })
    .expect("the generated cluster loads");
    let index = manifests.index();
    assert_eq!(index.workloads.len(), 240);
    for policy in &index.policies {
        assert!(policy.is_valid(), "{}: {:?}", policy.label(), policy.problems);
    }
    // The classes do group: far fewer than one per workload.
    let eval = Evaluator::new(&index);
    let classes = eval.classes();
    assert!(classes.peer.len() < 150, "{} peer classes", classes.peer.len());
    let found = differences("generated", &index);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn classes_answer_as_every_workload_alone_on_the_corpus() {
    let dir = common::repo().join("../shared/corpus/rendered");
    if !dir.is_dir() {
        eprintln!("skipping: ../shared/corpus/rendered not found");
        return;
    }
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    let mut found = Vec::new();
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let spec = InputSpec::RenderedChart {
            path: path.clone(),
            name: path.display().to_string(),
            release: stem.clone(),
            namespace: stem,
            default_values: None,
        };
        let manifests = load(spec).unwrap_or_else(|| panic!("{} does not load", path.display()));
        found.extend(differences(&path.display().to_string(), &manifests.index()));
    }
    assert!(files.len() >= 400, "only {} charts", files.len());
    assert!(found.is_empty(), "{}", found.join("\n"));
}
