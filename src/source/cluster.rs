//! `--cluster`: what already runs in the current kube context, read with
//! LIST requests only, as inputs the audited charts are checked against
//! (M4G against other releases, M5D against running pods, M6 and exposure
//! under the live policies).
//!
//! Workloads are read as their controllers (Deployment, StatefulSet,
//! DaemonSet, CronJob, and the ReplicaSets, Jobs and Pods no built-in
//! controller owns), so a pod is never counted twice: once as itself and
//! once as its Deployment's template. Objects are grouped into one input
//! per Helm release (`meta.helm.sh/release-name`), and per namespace for
//! the rest: M4G then names the release on the other side.

use super::kube_client::{block, client_from_environment, innermost, is_status, new_runtime};
use crate::model::Input;
use crate::yaml::writer::to_yaml;
use anyhow::{bail, Result};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::Client;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A kind read cluster-wide.
struct Listed {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    /// Custom resources: a cluster that does not serve them has none; one
    /// that forbids reading them gets a warning, not an error.
    optional: bool,
}

const fn listed(group: &'static str, version: &'static str, kind: &'static str, plural: &'static str) -> Listed {
    Listed {
        group,
        version,
        kind,
        plural,
        optional: false,
    }
}

const fn custom(group: &'static str, version: &'static str, kind: &'static str, plural: &'static str) -> Listed {
    Listed {
        optional: true,
        ..listed(group, version, kind, plural)
    }
}

/// What `--cluster` lists, in this order (docs/kube-rbac.md grants exactly these).
const LISTED: &[Listed] = &[
    listed("apps", "v1", "Deployment", "deployments"),
    listed("apps", "v1", "StatefulSet", "statefulsets"),
    listed("apps", "v1", "DaemonSet", "daemonsets"),
    listed("apps", "v1", "ReplicaSet", "replicasets"),
    listed("batch", "v1", "Job", "jobs"),
    listed("batch", "v1", "CronJob", "cronjobs"),
    listed("", "v1", "Pod", "pods"),
    listed("", "v1", "Service", "services"),
    listed("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
    // Their labels are what namespaceSelectors match; optional, as without
    // them only each namespace's name is known.
    custom("", "v1", "Namespace", "namespaces"),
    custom("cilium.io", "v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies"),
    custom(
        "cilium.io",
        "v2",
        "CiliumClusterwideNetworkPolicy",
        "ciliumclusterwidenetworkpolicies",
    ),
    custom("crd.projectcalico.org", "v1", "NetworkPolicy", "networkpolicies"),
    custom(
        "crd.projectcalico.org",
        "v1",
        "GlobalNetworkPolicy",
        "globalnetworkpolicies",
    ),
    custom(
        "policy.networking.k8s.io",
        "v1alpha1",
        "AdminNetworkPolicy",
        "adminnetworkpolicies",
    ),
    custom(
        "policy.networking.k8s.io",
        "v1alpha1",
        "BaselineAdminNetworkPolicy",
        "baselineadminnetworkpolicies",
    ),
    custom(
        "policy.networking.k8s.io",
        "v1alpha2",
        "ClusterNetworkPolicy",
        "clusternetworkpolicies",
    ),
];

/// What M4G calls the release of objects Helm did not install.
const NO_RELEASE: &str = "(not installed by Helm)";

/// Objects per LIST request: a large cluster is read in pages.
const PAGE_SIZE: u32 = 500;

/// Controllers whose pods (or ReplicaSets, Jobs) are read as the
/// controller's template.
const CONTROLLED_BY_TEMPLATE: &[(&str, &[&str])] = &[
    ("Pod", &["ReplicaSet", "StatefulSet", "DaemonSet", "Job"]),
    ("ReplicaSet", &["Deployment"]),
    ("Job", &["CronJob"]),
];

/// What the audit already has: the live copies are left out.
#[derive(Debug, Default, Clone)]
pub struct Exclusions {
    /// Releases being audited, as (namespace, release): their installed
    /// objects would otherwise collide with their own render.
    pub releases: BTreeSet<(String, String)>,
    /// `Kind/namespace/name` of every audited object: installing the chart
    /// would replace the live one.
    pub objects: BTreeSet<String>,
}

/// The cluster's objects, grouped into inputs, and what could not be read.
pub struct LiveObjects {
    pub inputs: Vec<Input>,
    pub warnings: Vec<String>,
}

/// Read the current context's objects (`KUBECONFIG`, `HELM_KUBECONTEXT`).
pub fn read(exclusions: &Exclusions, max_bytes: usize) -> Result<LiveObjects> {
    let runtime = new_runtime()?;
    let client = runtime.block_on(client_from_environment())?;
    let listing = block(&runtime, list_all(&client))?;
    Ok(LiveObjects {
        inputs: group_into_inputs(listing.objects, exclusions, max_bytes),
        warnings: listing.warnings,
    })
}

/// What was listed: plain objects with `apiVersion` and `kind` set, and
/// what could not be read.
#[derive(Debug)]
pub(crate) struct Listing {
    objects: Vec<Value>,
    warnings: Vec<String>,
}

/// Every listed kind, cluster-wide.
pub(crate) async fn list_all(client: &Client) -> Result<Listing> {
    let mut objects = Vec::new();
    let mut warnings = Vec::new();
    for listed in LISTED {
        match list_kind(client, listed, listed.version).await {
            Ok(items) => objects.extend(items),
            // Kubernetes before 1.21 serves CronJobs as batch/v1beta1 only.
            Err(error) if listed.kind == "CronJob" && is_status(&error, 404) => objects.extend(
                list_kind(client, listed, "v1beta1")
                    .await
                    .map_err(|e| describe(listed, e))?,
            ),
            Err(error) if listed.optional && is_status(&error, 404) => {}
            Err(error) if listed.optional && is_status(&error, 403) => warnings.push(format!(
                "cannot list {} cluster-wide (forbidden): {}",
                resource_name(listed),
                match listed.kind {
                    "Namespace" => "namespaceSelectors see only each namespace's name, not its labels",
                    _ => "live policies of that kind are not taken into account",
                }
            )),
            Err(error) => return Err(describe(listed, error)),
        }
    }
    Ok(Listing { objects, warnings })
}

fn resource_name(listed: &Listed) -> String {
    if listed.group.is_empty() {
        listed.plural.to_string()
    } else {
        format!("{}.{}", listed.plural, listed.group)
    }
}

fn describe(listed: &Listed, error: kube::Error) -> anyhow::Error {
    let hint = if is_status(&error, 403) {
        " (docs/kube-rbac.md lists the read-only permissions --cluster needs)"
    } else {
        ""
    };
    anyhow::anyhow!(
        "cannot list {} cluster-wide: {}{hint}",
        resource_name(listed),
        innermost(&error)
    )
}

async fn list_kind(client: &Client, listed: &Listed, version: &str) -> Result<Vec<Value>, kube::Error> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(listed.group, version, listed.kind),
        listed.plural,
    );
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(PAGE_SIZE);
    loop {
        let page = api.list(&params).await?;
        for item in page.items {
            let mut value = serde_json::to_value(item).map_err(kube::Error::SerdeError)?;
            // List items carry no type of their own.
            value["apiVersion"] = Value::String(resource.api_version.clone());
            value["kind"] = Value::String(listed.kind.into());
            items.push(value);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

/// The objects an audit needs, without what it already has, one input per
/// release (and per namespace for objects of no release), in a stable order.
pub fn group_into_inputs(objects: Vec<Value>, exclusions: &Exclusions, max_bytes: usize) -> Vec<Input> {
    // (namespace, release) -> (`Kind/name`, object)
    type Group = (String, Option<String>);
    let mut groups: BTreeMap<Group, Vec<(String, Value)>> = BTreeMap::new();
    for object in objects {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (kind, namespace, name) = (text("/kind"), text("/metadata/namespace"), text("/metadata/name"));
        if read_through_controller(&kind, &object) || finished_pod(&kind, &object) {
            continue;
        }
        if exclusions.objects.contains(&format!("{kind}/{namespace}/{name}")) {
            continue;
        }
        let annotation = |key: &str| {
            object["metadata"]["annotations"][key]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let release = annotation("meta.helm.sh/release-name");
        let release_namespace = annotation("meta.helm.sh/release-namespace").unwrap_or_else(|| namespace.clone());
        if let Some(release) = &release {
            if exclusions
                .releases
                .contains(&(release_namespace.clone(), release.clone()))
            {
                continue;
            }
        }
        let key = match release {
            Some(release) => (release_namespace, Some(release)),
            None => (namespace, None),
        };
        groups
            .entry(key)
            .or_default()
            .push((format!("{kind}/{name}"), trimmed(object)));
    }
    groups
        .into_iter()
        .map(|((namespace, release), mut objects)| {
            objects.sort_by(|a, b| a.0.cmp(&b.0));
            let text: String = objects
                .iter()
                .map(|(_, object)| format!("---\n{}", to_yaml(object)))
                .collect();
            let (name, release_name) = match release {
                Some(release) => (format!("cluster/{namespace}/{release}"), release),
                None if namespace.is_empty() => ("cluster".to_string(), NO_RELEASE.to_string()),
                None => (format!("cluster/{namespace}"), NO_RELEASE.to_string()),
            };
            let default_namespace = if namespace.is_empty() {
                "default".into()
            } else {
                namespace
            };
            let mut input = Input::new(name, release_name, default_namespace, text);
            input.live = true;
            input.max_bytes = max_bytes;
            input
        })
        .collect()
}

/// A Pod, ReplicaSet or Job whose controller is read instead.
fn read_through_controller(kind: &str, object: &Value) -> bool {
    let Some((_, controllers)) = CONTROLLED_BY_TEMPLATE.iter().find(|(k, _)| *k == kind) else {
        return false;
    };
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|owner| owner["controller"].as_bool() == Some(true))
        .any(|owner| owner["kind"].as_str().is_some_and(|k| controllers.contains(&k)))
}

/// A pod that has stopped for good listens on nothing.
fn finished_pod(kind: &str, object: &Value) -> bool {
    kind == "Pod" && matches!(object["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// What the checks read, without the server's bookkeeping (status, managed
/// fields, the last applied configuration): shorter reports, less to parse.
fn trimmed(mut object: Value) -> Value {
    let Some(fields) = object.as_object_mut() else {
        return object;
    };
    fields.remove("status");
    if let Some(Value::Object(metadata)) = fields.get_mut("metadata") {
        let keep = ["name", "namespace", "labels", "annotations"];
        let mut lean: Map<String, Value> = keep
            .iter()
            .filter_map(|key| metadata.remove(*key).map(|v| (key.to_string(), v)))
            .collect();
        if let Some(Value::Object(annotations)) = lean.get_mut("annotations") {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            if annotations.is_empty() {
                lean.remove("annotations");
            }
        }
        *metadata = lean;
    }
    object
}

/// Refuse `--cluster` where it cannot mean anything.
pub fn check_compatible(separately: bool) -> Result<()> {
    if separately {
        bail!("--cluster checks the inputs together with what runs in the cluster: it cannot be combined with --separately");
    }
    Ok(())
}

/// The exclusions for audited objects: their releases and their identities.
pub fn exclusions_for(
    releases: impl IntoIterator<Item = (String, String)>,
    objects: &[crate::model::Object],
) -> Exclusions {
    Exclusions {
        releases: releases.into_iter().collect(),
        objects: objects.iter().map(|o| o.id()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(kind: &str, namespace: &str, name: &str, extra: Value) -> Value {
        let mut object = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": namespace}});
        if let (Value::Object(base), Value::Object(extra)) = (&mut object, extra) {
            for (key, value) in extra {
                match (base.get_mut(&key), value) {
                    (Some(Value::Object(into)), Value::Object(more)) => into.extend(more),
                    (_, value) => {
                        base.insert(key, value);
                    }
                }
            }
        }
        object
    }

    fn helm_release(release: &str, namespace: &str) -> Value {
        json!({"metadata": {"annotations": {
            "meta.helm.sh/release-name": release,
            "meta.helm.sh/release-namespace": namespace,
            "kubectl.kubernetes.io/last-applied-configuration": "{...}",
        }}})
    }

    fn owned_by(kind: &str) -> Value {
        json!({"metadata": {"ownerReferences": [{"kind": kind, "name": "x", "controller": true}]}})
    }

    #[test]
    fn objects_are_grouped_per_release_and_per_namespace_without_duplicates_of_controllers() {
        let objects = vec![
            object("Deployment", "shop", "blog-web", helm_release("blog", "shop")),
            object("Service", "shop", "blog-web", helm_release("blog", "shop")),
            object("ReplicaSet", "shop", "blog-web-5d9f", owned_by("Deployment")),
            object("Pod", "shop", "blog-web-5d9f-abcde", owned_by("ReplicaSet")),
            object("Pod", "shop", "operator-made", owned_by("RabbitmqCluster")),
            object("Pod", "shop", "done", json!({"status": {"phase": "Succeeded"}})),
            object("Job", "shop", "nightly-1", owned_by("CronJob")),
            object("NetworkPolicy", "shop", "deny-all", json!({})),
            object("Deployment", "other", "api", helm_release("api", "other")),
        ];
        let inputs = group_into_inputs(objects, &Exclusions::default(), 1 << 20);
        let names: Vec<(&str, &str)> = inputs.iter().map(|i| (i.name.as_str(), i.release.as_str())).collect();
        assert_eq!(
            names,
            [
                ("cluster/other/api", "api"),
                ("cluster/shop", NO_RELEASE),
                ("cluster/shop/blog", "blog"),
            ]
        );
        assert!(inputs.iter().all(|i| i.live && i.default_namespace != "default"));
        let unmanaged = &inputs[1].text;
        assert!(unmanaged.contains("name: operator-made") && unmanaged.contains("name: deny-all"));
        for gone in ["blog-web-5d9f", "done", "nightly-1"] {
            assert!(
                inputs.iter().all(|i| !i.text.contains(&format!("name: {gone}\n"))),
                "{gone} was kept"
            );
        }
        assert!(!inputs[2].text.contains("last-applied"), "{}", inputs[2].text);
        assert!(inputs[2].text.contains("meta.helm.sh/release-name: blog"));
    }

    #[test]
    fn the_audited_release_and_objects_are_left_out() {
        let objects = vec![
            object("Deployment", "shop", "blog-web", helm_release("blog", "shop")),
            object("Deployment", "shop", "kept", helm_release("blog", "other-ns")),
            object("Service", "shop", "replaced", json!({})),
            object("Service", "shop", "stays", json!({})),
        ];
        let exclusions = Exclusions {
            releases: [("shop".to_string(), "blog".to_string())].into(),
            objects: ["Service/shop/replaced".to_string()].into(),
        };
        let inputs = group_into_inputs(objects, &exclusions, 1 << 20);
        let all: String = inputs.iter().map(|i| i.text.as_str()).collect();
        assert!(!all.contains("blog-web") && !all.contains("replaced"), "{all}");
        assert!(all.contains("name: kept") && all.contains("name: stays"), "{all}");
    }

    #[test]
    fn what_is_written_reads_back_as_the_same_objects() {
        let objects = vec![object(
            "Deployment",
            "shop",
            "web",
            json!({
                "apiVersion": "apps/v1",
                "spec": {"template": {
                    "metadata": {"labels": {"app": "web", "tier": "1"}},
                    "spec": {"containers": [{"name": "web", "image": "img", "ports": [{"containerPort": 8080}]}]},
                }},
                "status": {"replicas": 1},
            }),
        )];
        let inputs = group_into_inputs(objects, &Exclusions::default(), 1 << 20);
        let manifests = crate::model::Manifests::load(inputs, crate::model::Detail::Checks).expect("loads");
        let index = manifests.index();
        assert_eq!(index.workloads.len(), 1);
        assert_eq!(index.workloads[0].obj.id(), "Deployment/shop/web");
        assert!(!manifests.inputs[0].text.contains("status"));
    }

    /// A live namespace's labels reach the workloads in it, as the input's
    /// `Namespace` objects do: what namespaceSelectors match.
    #[test]
    fn live_namespace_labels_reach_its_workloads() {
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "web"}}});
        let pod = object(
            "Pod",
            "shop",
            "web",
            json!({"spec": {"containers": [{"name": "web", "image": "img"}]}}),
        );
        let inputs = group_into_inputs(vec![namespace, pod], &Exclusions::default(), 1 << 20);
        let manifests = crate::model::Manifests::load(inputs, crate::model::Detail::Checks).expect("loads");
        let index = manifests.index();
        assert_eq!(index.workloads.len(), 1);
        let labels = &index.workloads[0].namespace_labels;
        assert_eq!(labels.get("team").map(String::as_str), Some("web"), "{labels:?}");
        assert_eq!(
            labels
                .get(crate::model::selector::NAMESPACE_NAME_LABEL)
                .map(String::as_str),
            Some("shop")
        );
    }

    /// A fake API server: Deployments in two pages, CronJobs only as
    /// batch/v1beta1 (Kubernetes 1.20), no Cilium, Calico forbidden, and
    /// `forbid` answered 403.
    async fn serve(
        mut handle: tower_test::mock::Handle<http::Request<kube::client::Body>, http::Response<kube::client::Body>>,
        forbid: &'static str,
        log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        while let Some((request, send)) = handle.next_request().await {
            let path = request.uri().path().to_string();
            let query = request.uri().query().unwrap_or("").to_string();
            log.lock().unwrap().push(format!("{path}?{query}"));
            let items = |names: &[&str]| {
                let items: Vec<Value> = names
                    .iter()
                    .map(|n| json!({"metadata": {"name": n, "namespace": "shop"}}))
                    .collect();
                items
            };
            let (code, body) = match path.as_str() {
                p if p.ends_with(forbid) => (
                    403,
                    json!({"kind": "Status", "code": 403, "reason": "Forbidden", "message": format!("{p} is forbidden")}),
                ),
                "/apis/apps/v1/deployments" if !query.contains("continue=") => (
                    200,
                    json!({"metadata": {"continue": "page2"}, "items": items(&["web"])}),
                ),
                "/apis/apps/v1/deployments" => (200, json!({"metadata": {}, "items": items(&["api"])})),
                "/apis/batch/v1beta1/cronjobs" => (200, json!({"metadata": {}, "items": items(&["nightly"])})),
                p if p.starts_with("/apis/batch/v1/cronjobs") || p.starts_with("/apis/cilium.io") => (
                    404,
                    json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"}),
                ),
                p if p.starts_with("/apis/crd.projectcalico.org") => (
                    403,
                    json!({"kind": "Status", "code": 403, "reason": "Forbidden", "message": "forbidden"}),
                ),
                _ => (200, json!({"metadata": {}, "items": []})),
            };
            let response = http::Response::builder()
                .status(code)
                .body(kube::client::Body::from(serde_json::to_vec(&body).unwrap()))
                .unwrap();
            send.send_response(response);
        }
    }

    fn list_with(forbid: &'static str) -> (Result<Listing>, Vec<String>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (service, handle) = tower_test::mock::pair();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let _guard = runtime.enter();
        runtime.spawn(serve(handle, forbid, log.clone()));
        let client = Client::new(service, "default");
        let result = runtime.block_on(list_all(&client));
        let log = log.lock().unwrap().clone();
        (result, log)
    }

    #[test]
    fn every_kind_is_listed_cluster_wide_page_by_page() {
        let (result, log) = list_with("/nothing-forbidden");
        let Listing { objects, warnings } = result.unwrap();
        let names: Vec<String> = objects
            .iter()
            .map(|o| {
                format!(
                    "{} {} {}",
                    o["apiVersion"].as_str().unwrap(),
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "apps/v1 Deployment web",
                "apps/v1 Deployment api",
                "batch/v1beta1 CronJob nightly"
            ]
        );
        assert_eq!(
            warnings,
            [
                "cannot list networkpolicies.crd.projectcalico.org cluster-wide (forbidden): live policies of that kind are not taken into account",
                "cannot list globalnetworkpolicies.crd.projectcalico.org cluster-wide (forbidden): live policies of that kind are not taken into account",
            ]
        );
        assert!(
            log.contains(&"/apis/apps/v1/deployments?&limit=500".to_string())
                || log
                    .iter()
                    .any(|l| l.starts_with("/apis/apps/v1/deployments?") && l.contains("limit=500")),
            "{log:#?}"
        );
        assert!(log.iter().any(|l| l.contains("continue=page2")), "{log:#?}");
        // Cluster-wide: no namespace in any path.
        assert!(log.iter().all(|l| !l.contains("/namespaces/")), "{log:#?}");
    }

    #[test]
    fn a_forbidden_kind_the_checks_need_is_an_error_pointing_at_the_rbac_page() {
        let (result, _) = list_with("/services");
        let error = result.expect_err("forbidden services is an error").to_string();
        assert!(error.starts_with("cannot list services cluster-wide: "), "{error}");
        assert!(
            error.ends_with("(docs/kube-rbac.md lists the read-only permissions --cluster needs)"),
            "{error}"
        );
    }
}
