#!/usr/bin/env python3
"""Answer reachability questions with IBM np-guard's Network Config Analyzer
(NCA), the independent oracle of tests/nca_oracle.rs.

    python connectivity.py REQUEST.json > ANSWERS.json

Runs NCA as a library, in one process for every case (NCA's command line
costs about half a second per start). The request (written by the test):

    {"cases": [{"name": ..., "file": "rendered.yaml", "namespace": "ns",
                "probes": [{"name": "p0", "namespace": "other",
                            "namespace_labels": {...}, "labels": {...}}],
                "queries": [{"to": "Kind/ns/name", "port": 80 | null,
                             "protocol": "TCP" | null,
                             "from": ["Kind/ns/name", "Pod/other/p0", "outside"]}]}]}

The answer has, per case, one list per query of true (allowed), false
(blocked) or null (NCA has nothing to say: no such pods); or `skipped`
(policies NCA does not model: Cilium, AdminNetworkPolicy and kin) or
`error` (NCA refused the case).

What NCA is given is the case's objects normalized to what NCA reads,
without changing what they mean (see `normalize`); its answers use NCA's
own parsing of the policies and of the pods' labels and ports.
"""

import contextlib
import json
import os
import sys
import tempfile

import yaml
from nca.CoreDS.ConnectivityProperties import ConnectivityProperties
from nca.CoreDS.Peer import BasePeerSet, IpBlock, PeerSet
from nca.CoreDS.PortSet import PortSet
from nca.CoreDS.ProtocolSet import ProtocolSet
from nca.NetworkConfig.NetworkLayer import NetworkLayerName
from nca.NetworkConfig.ResourcesHandler import ResourcesHandler
from nca.Resources.PolicyResources.NetworkPolicy import PolicyConnectionsFilter

# Labels Calico gives every workload endpoint and namespace (netaudit's
# Calico selectors see them too).
CALICO_NAMESPACE = "projectcalico.org/name"
CALICO_POD_NAMESPACE = "projectcalico.org/namespace"
# StatefulSet pods beyond this many are not created (a pod-name selector
# naming a higher index then selects nothing here).
MAX_STATEFULSET_PODS = 3
CLUSTER_WIDE = {"GlobalNetworkPolicy", "Namespace"}
# Policies netaudit evaluates and NCA 2.1.0 does not read at all: a case
# with one is skipped (dropping it would make NCA answer another question).
UNMODELLED = {
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
}


class Loader(yaml.CSafeLoader):
    """PyYAML's safe loader, reading a plain `=` as the string Kubernetes
    (YAML 1.2) reads: PyYAML resolves it to YAML 1.1's `value` type, which
    it then cannot construct."""


Loader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


API_SERVER_SERVICE = {"name": "kubernetes", "namespace": "default"}


def without_api_server_rules(spec):
    """Drop the egress rules whose destination is the API server's Service
    and nothing else (see `normalize`)."""
    rules = spec.get("egress")
    if isinstance(rules, list):
        spec["egress"] = [
            r
            for r in rules
            if not (
                isinstance(r, dict)
                and isinstance(r.get("destination"), dict)
                and r["destination"].get("services") == API_SERVER_SERVICE
                and set(r["destination"]) == {"services"}
            )
        ]


def normalize(docs, default_namespace, probes):
    """The objects NCA is given, and which pods stand for which workload.

    - Kubernetes NetworkPolicies are kept; `policyTypes` is sorted into
      [Ingress, Egress] (NCA rejects the other order; the API server takes
      the list as a set), written out when absent, and the rules of a direction it does not list are
      dropped (`kubernetes_policy_types`).
    - Calico policies under `crd.projectcalico.org/v1` (the CRD that the
      `projectcalico.org/v3` API server stores them in; same schema) become
      `projectcalico.org/v3`, the only version NCA reads.
      An egress rule to the API server's Service (`services: {name:
      kubernetes, namespace: default}`, what `fix --flavor calico` writes)
      is dropped: NCA 2.1.0 does not read `services`, and the rule reaches
      the API server's endpoints only, never a pod of the case, so no
      answer about pods changes (`without_api_server_rules`).
    - Every other kind is dropped: NCA reads Ingress and Istio objects as
      policies of other layers, netaudit's reach reads none of them.
    - Each workload becomes the Pods its controller would create (NCA would
      make pods of the controllers itself, but without the labels the
      controllers add): two per workload so that a workload's pods can
      reach each other, the StatefulSet's `spec.replicas` pods (at most
      MAX_STATEFULSET_PODS) with `statefulset.kubernetes.io/pod-name` and
      `apps.kubernetes.io/pod-index`, a Job's pods with its `job-name`
      labels. Labels whose values a controller makes up (pod-template-hash,
      controller-uid) are left out: no policy can name them. Pods also get
      the labels Calico adds (namespace, orchestrator, ServiceAccount).
      Native sidecars are given as containers (`pod_template`).
    - Every namespace is a Namespace object with its labels from the input,
      plus `kubernetes.io/metadata.name` and Calico's `projectcalico.org/name`.
    - The probes (pods of other namespaces, see the test) are added as Pods.
    Objects without a namespace get the case's, as helm's --namespace does.
    """
    kept, pods, ns_labels = [], {}, {}

    def namespace_of(doc):
        meta = doc.setdefault("metadata", {}) or {}
        doc["metadata"] = meta
        if doc.get("kind") not in CLUSTER_WIDE and not meta.get("namespace"):
            meta["namespace"] = default_namespace
        ns = meta.get("namespace")
        if ns:
            ns_labels.setdefault(ns, {})
        return ns

    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            continue
        kind, api = doc["kind"], str(doc.get("apiVersion", ""))
        group = api.split("/")[0] if "/" in api else ""
        if kind == "Namespace" and api == "v1":
            name = (doc.get("metadata") or {}).get("name")
            if name:
                ns_labels.setdefault(name, {}).update((doc["metadata"].get("labels") or {}))
        elif kind == "NetworkPolicy" and group == "networking.k8s.io":
            namespace_of(doc)
            kubernetes_policy_types(doc.get("spec") or {})
            kept.append(doc)
        elif kind in ("NetworkPolicy", "GlobalNetworkPolicy") and group in (
            "projectcalico.org",
            "crd.projectcalico.org",
        ):
            doc["apiVersion"] = "projectcalico.org/v3"
            without_api_server_rules(doc.get("spec") or {})
            namespace_of(doc)
            kept.append(doc)
        else:
            template = pod_template(doc)
            if template is not None:
                ns = namespace_of(doc)
                for pod in controller_pods(doc, template, ns):
                    kept.append(pod)
                    pods[(ns, pod["metadata"]["name"])] = f"{kind}/{ns}/{doc['metadata'].get('name', '')}"
    for probe in probes:
        ns_labels.setdefault(probe["namespace"], {}).update(probe["namespace_labels"])
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": probe["name"], "namespace": probe["namespace"], "labels": dict(probe["labels"])},
            "spec": {"containers": [{"name": "probe"}]},
        }
        kept.append(pod)
        pods[(probe["namespace"], probe["name"])] = f"Pod/{probe['namespace']}/{probe['name']}"
    for ns, labels in ns_labels.items():
        labels = {**labels, "kubernetes.io/metadata.name": ns, CALICO_NAMESPACE: ns}
        kept.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    return kept, pods


def kubernetes_policy_types(spec):
    """`policyTypes` explicit (as the API server defaults it), in the order
    NCA takes ([Ingress, Egress]; the API server takes the list as a set),
    and the rules of a direction it does not list removed: the API server
    keeps them, and they have no effect (NCA refuses such a policy)."""
    types = spec.get("policyTypes")
    if types is None:
        # The API server's default: Ingress, and Egress when there are egress
        # rules (NCA takes any `egress:`, even `egress: []`, as Egress).
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    if not isinstance(types, list):
        return
    spec["policyTypes"] = sorted(types, key=lambda t: {"Ingress": 0, "Egress": 1}.get(t, 2))
    for direction in ("Ingress", "Egress"):
        if direction not in types:
            spec.pop(direction.lower(), None)


def pod_template(doc):
    """(metadata, spec) of the pods a workload runs, None for other objects.
    As netaudit: any kind whose pod template has containers is a workload."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    if doc["kind"] == "Pod":
        meta, pod_spec = doc.get("metadata") or {}, spec
    else:
        template = spec.get("template")
        if doc["kind"] == "CronJob":
            template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
        if not isinstance(template, dict):
            return None
        meta, pod_spec = template.get("metadata") or {}, template.get("spec")
    if not isinstance(pod_spec, dict) or not isinstance(pod_spec.get("containers"), list):
        return None
    # Native sidecars (init containers with restartPolicy: Always) run
    # beside the containers, their ports are the pod's; NCA reads only
    # `containers`.
    sidecars = [
        c for c in pod_spec.get("initContainers") or [] if isinstance(c, dict) and c.get("restartPolicy") == "Always"
    ]
    if sidecars:
        pod_spec = {**pod_spec, "containers": pod_spec["containers"] + sidecars}
    return meta, pod_spec


def controller_pods(doc, template, ns):
    meta, pod_spec = template
    name, kind = doc["metadata"].get("name", ""), doc["kind"]
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels[CALICO_POD_NAMESPACE] = ns
    labels["projectcalico.org/orchestrator"] = "k8s"
    labels["projectcalico.org/serviceaccount"] = pod_spec.get("serviceAccountName") or "default"
    if kind == "Pod":
        extra = [{}]
    elif kind == "StatefulSet":
        replicas = (doc.get("spec") or {}).get("replicas", 1)
        count = replicas if isinstance(replicas, int) else 1
        extra = [
            {"statefulset.kubernetes.io/pod-name": f"{name}-{i}", "apps.kubernetes.io/pod-index": str(i)}
            for i in range(max(1, min(count, MAX_STATEFULSET_PODS)))
        ]
    elif kind == "Job":
        extra = [{"job-name": name, "batch.kubernetes.io/job-name": name}] * 2
    else:
        extra = [{}, {}]
    pods = []
    for i, more in enumerate(extra):
        pod_name = name if kind == "Pod" else f"{name}-{kind.lower()}-{i}"
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": ns,
                    "labels": {**labels, **more},
                    "ownerReferences": [{"kind": kind, "name": name}],
                },
                "spec": pod_spec,
            }
        )
    return pods


def props(**dims):
    return ConnectivityProperties.make_conn_props_from_dict(dims)


def answer_case(case, workdir):
    BasePeerSet.reset()  # NCA keeps every peer in a process-wide singleton
    with open(case["file"]) as f:
        docs = list(yaml.load_all(f, Loader=Loader))
    unmodelled = sorted({doc["kind"] for doc in docs if isinstance(doc, dict) and doc.get("kind") in UNMODELLED})
    if unmodelled:
        return {"skipped": f"NCA does not model {', '.join(unmodelled)}"}
    objects, pods = normalize(docs, case["namespace"], case["probes"])
    path = os.path.join(workdir, "input.yaml")
    with open(path, "w") as f:
        yaml.dump_all(objects, f, Dumper=yaml.CSafeDumper)
    config = ResourcesHandler().get_network_config([path], [path], [path], None)
    layers = config.policies_container.layers
    layer = layers.get(NetworkLayerName.K8s_Calico) or NetworkLayerName.K8s_Calico.create_network_layer([])
    container = config.peer_container
    everything = PolicyConnectionsFilter.only_all_allowed_connections()
    # Each side on its own: a probe's (or an address's) own egress is
    # unknown to netaudit, which judges only the destination's ingress.
    ingress = layer._allowed_xgress_conns(True, container, everything).all_allowed_conns
    egress = layer._allowed_xgress_conns(False, container, everything).all_allowed_conns
    both = ingress & egress

    by_workload = {}
    for peer in container.get_all_peers_group():
        workload = pods.get((peer.namespace.name, peer.name))
        if workload:
            by_workload.setdefault(workload, []).append(peer)
    outside = IpBlock.get_all_ips_block_peer_set()

    def allowed(conns, sources, dests, port, protocol):
        dims = {"src_peers": sources, "dst_peers": dests}
        if protocol:
            dims["protocols"] = ProtocolSet.get_protocol_set_with_single_protocol(protocol)
        if port:
            ports = PortSet()
            ports.add_port(port)
            dims["dst_ports"] = ports
        return bool(conns & props(**dims))

    answers = []
    for query in case["queries"]:
        dests = by_workload.get(query["to"], [])
        row = []
        for source in query["from"]:
            if not dests:
                row.append(None)
            elif source == "outside":
                row.append(allowed(ingress, outside, PeerSet(set(dests)), query["port"], query["protocol"]))
            elif source.startswith("Pod/") and source.split("/")[2] in {p["name"] for p in case["probes"]}:
                row.append(allowed(ingress, PeerSet(set(by_workload[source])), PeerSet(set(dests)),
                                   query["port"], query["protocol"]))
            elif source == query["to"]:
                # A workload's pods reaching each other: pairs of distinct pods.
                pairs = [(a, b) for a in dests for b in dests if a is not b]
                row.append(
                    any(allowed(both, PeerSet({a}), PeerSet({b}), query["port"], query["protocol"]) for a, b in pairs)
                    if pairs
                    else None
                )
            elif source in by_workload:
                row.append(allowed(both, PeerSet(set(by_workload[source])), PeerSet(set(dests)),
                                   query["port"], query["protocol"]))
            else:
                row.append(None)
        answers.append(row)
    return {"answers": answers}


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for case in request["cases"]:
            # NCA prints its warnings on stdout: keep stdout for the answer.
            with contextlib.redirect_stdout(sys.stderr):
                try:
                    results.append({"name": case["name"], **answer_case(case, workdir)})
                except Exception as error:  # one case NCA refuses does not hide the others
                    results.append({"name": case["name"], "error": f"{type(error).__name__}: {error}"})
    json.dump({"cases": results}, sys.stdout)


if __name__ == "__main__":
    main()
