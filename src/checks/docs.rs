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
    out.push_str(POLICY_SEMANTICS);
    out
}

/// How the policies behind every exposure, M6, `reach` and `fix --check`
/// are evaluated, what is not, and where the independent analyzer the
/// tests hold them to differs (tests/nca/exceptions.rs names each of its
/// exceptions here).
const POLICY_SEMANTICS: &str = r#"
## How policies are evaluated

One evaluator (`src/reach/`) answers for exposure, M6, `netaudit reach` and `fix --check`:

- **Tiers.** The admin tier first (AdminNetworkPolicy, ClusterNetworkPolicy `tier: Admin`; by
  priority, rule by rule: Allow/Accept lets through, Deny drops, Pass goes on); then the
  NetworkPolicy tier: Kubernetes NetworkPolicies add up, Cilium deny rules win over every allow, a
  Calico policy brings Calico's order (Kubernetes policies at 1000, the first matching rule decides,
  Pass goes to the namespace profile, which allows); when no policy of that tier isolates the pod, the
  baseline tier (BaselineAdminNetworkPolicy `default`, ClusterNetworkPolicy `tier: Baseline`).
- **Pods.** A policy applies to the pods its selector picks: a selector on the labels a StatefulSet
  gives each pod (`statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`) picks some pods
  and not others. A workload is isolated only where every pod is; `reach` answers for the union of its
  pods and says which pods let a connection through when not all do; M6 names the pods left open.
- **Namespaces** carry the labels of their `Namespace` object when the input has one (with
  `lint --cluster`, the live namespaces'), and their name (`kubernetes.io/metadata.name`, Calico's
  `projectcalico.org/name`). Other namespaces' labels are unknown: only requirements on the name are
  decided for them.
- **Calico rules** are evaluated whole: `selector`, `namespaceSelector`, `notSelector` (in a namespaced
  policy the rule is then limited to its namespace, as Calico converts it), `nets`, `notNets`,
  `serviceAccounts` (names; a selector on the ServiceAccount's name), `services` (a Service of the
  input: its pods, and as a destination only its target ports; `default/kubernetes`: the API server),
  `destination.ports`/`notPorts`, and the criteria on the policy's own endpoint (an ingress rule's
  `destination`, an egress rule's `source`).
- **Policies the API server or the CRD rejects** (a quoted port number, an ipBlock `except` outside its
  `cidr`, …) protect nothing: NP3 says why.
- **What a static view cannot know.** Pod addresses: an address range matches other namespaces' pods
  only when it is every address (`0.0.0.0/0`, `::/0`, no `except`; never for Cilium's CIDR rules), and
  never an audited pod. hostNetwork pods are outside every policy (Calico, Cilium, OpenShift); as peers
  their traffic is the node's. A Deny stops "any pod", "outside" or the pods of a StatefulSet only when
  it matches all of them; an admin-tier Pass that matches only some of them passes those on.

- **The API server** is a destination of its own (the needed flows of `fix`): an address range may be
  it, Cilium's `kube-apiserver` entity and Calico's `services` `default/kubernetes` are it, and
  Cilium's `world`, `host`, `remote-node` and `cluster` entities may be (where it runs depends on the
  cluster). A Cilium DNS rule that lets every name be asked (`dns: [{matchPattern: "*"}]`, what
  `fix --flavor cilium` writes) filters nothing: the connection is all there is to decide.

- **Hosts by name**: Cilium's `toFQDNs` (`matchName`; `matchPattern`, where `*` stays within a label
  and a leading `**.` is one label or more) matches a host outside the cluster that the manifests
  name (an ExternalName Service's, a destination of `fix`'s needed flows), without case or final dot;
  never a pod, a node or the API server, and any other outside address may be one of them. Cilium
  learns the addresses from the DNS answers its proxy sees: a pod whose DNS traffic does not go
  through the proxy gets nothing from the rule, which the evaluator does not check.

**Not evaluated**, each time with a note naming it: L7 rules (Cilium `http`/`kafka`/`dns` other than
`matchPattern: "*"`, Calico `http`), Cilium `toRequires`/`toGroups`/`toNodes`/`toServices` and `authentication`, Calico
tiers other than `default`, `serviceAccountSelector`, source ports, `notProtocol`, `notICMP`,
`ipVersion`, `nets`/`notNets` on the policy's own pod (its address), `namespaceSelector: global()`
(network sets and host endpoints are not read), a `serviceAccounts.selector` on labels other than the
name, a `services` peer whose Service is not in the input (or has no selector), the API server's Service
when the other end is a node or anything outside the audited pods, AdminNetworkPolicy/ClusterNetworkPolicy
`domainNames` and a non-empty `nodes` selector (node labels). Exposure, M6 and `reach` take such a construct
as letting the connection through (an allow rule matches, a deny rule does not): they never hide a way
in. `fix --check` evaluates each needed flow both ways: one that passes only the first way is UNKNOWN,
with the construct named, and fails the check unless `--unknown-ok`.

### Checked against an independent analyzer

`tests/nca_oracle.rs` compares `reach` cell by cell with IBM's Network Config Analyzer
(`network-config-analyzer` 2.1.0) on every chart of the shared corpus that has policies and on the edge
cases of `testdata/nca/`, and on the Calico policies `fix --flavor calico` writes for the
`testdata/fix/` manifests and for every corpus chart without policies of its own (NCA's Calico reader
parses each). Its input is normalized without changing its meaning
(`scripts/nca/connectivity.py` says how: `policyTypes` written out as the API server defaults them,
rules of a direction `policyTypes` leaves out removed, workloads expanded into the pods their
controllers create with the labels those add, native sidecars as containers, Calico's CRD apiVersion).
Any difference fails the test unless it is one of these, where NCA is wrong or models less:

| Exception | Why netaudit's answer stands |
|---|---|
| hostNetwork destination | Policies do not select hostNetwork pods (Calico, Cilium, OpenShift: their traffic is the node's); NCA applies them as to any pod. |
| hostNetwork source | A hostNetwork pod's connections come from its node's address: pod selectors never match them, an address range of every address does; NCA takes the pod as any pod with its labels. |
| address range covering pods | An ipBlock of every address (`0.0.0.0/0`, `::/0`, no `except`) contains other namespaces' pod addresses (Kubernetes and Calico match pod IPs against CIDRs); NCA never matches a pod with an ipBlock. |
| NCA: Exists/DoesNotExist in a peer's podSelector | NCA 2.1.0 matches these requirements only against pods of the policy's own namespace, even in a peer with a namespaceSelector. |
| NCA: a namespaced Calico policy's notSelector | Calico limits such a rule to the policy's namespace (libcalico-go's `RuleAPIV2ToBackend`); NCA applies the notSelector alone and lets in other namespaces and outside addresses. |
| policy the API server rejects | NCA accepts a quoted port number and an ipBlock `except` outside its `cidr`; the API server rejects them, so they protect nothing (NP3). |

Cilium policies and the cluster-wide policy APIs are not compared: NCA 2.1.0 reads neither.
"#;

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
