//! Pods that no workload of the input renders, yet a Service may rightly
//! select: those an operator creates for a custom resource of the release
//! (a `Prometheus`, an `Alertmanager`, a Strimzi `Kafka`), and the cluster's
//! own control-plane pods in `kube-system`.

use super::object::Object;
use super::selector::{labels_of, labels_of_object, Labels, Selector};
use crate::yaml::{Node, Value};

/// An object of an API group that is not Kubernetes' own: its operator may
/// create pods for it.
#[derive(Debug)]
pub struct CustomResource<'a> {
    pub obj: &'a Object,
}

/// Why a custom resource's pods would match a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    /// Line of the custom resource that says so.
    pub line: u32,
    /// What says so: "its spec.podMetadata.labels match the selector", …
    pub reason: String,
}

/// How deep in a custom resource's `spec` pod labels are looked for
/// (`spec.podTemplate.metadata.labels` is 4).
const LABELS_DEPTH: usize = 6;

impl<'a> CustomResource<'a> {
    pub fn from_object(obj: &'a Object) -> Option<CustomResource<'a>> {
        let (group, _) = obj.api_version.split_once('/')?;
        let kubernetes_own = !group.contains('.') || group == "k8s.io" || group.ends_with(".k8s.io");
        (!kubernetes_own).then_some(CustomResource { obj })
    }

    /// Would the pods its operator creates match `selector`, as far as the
    /// resource itself says: label maps in its spec (`podMetadata.labels`,
    /// `template.metadata.labels`, …) that match it, a selector value that
    /// is the resource's name (operators label pods with it:
    /// `prometheus: NAME`, `strimzi.io/cluster: NAME`), or its own labels.
    pub fn promises(&self, selector: &Selector) -> Option<Promise> {
        if selector.match_labels.is_empty() && selector.expressions.is_empty() {
            return None;
        }
        let mut label_maps = Vec::new();
        if let Some(spec) = self.obj.root.get("spec") {
            collect_label_maps(spec, "spec", LABELS_DEPTH, &mut label_maps);
        }
        if let Some((path, node)) = label_maps.iter().find(|(_, node)| selector.matches(&labels_of(node))) {
            return Some(Promise {
                line: node.line,
                reason: format!("its {path} match the selector"),
            });
        }
        if let Some((key, value)) = selector.match_labels.iter().find(|(_, v)| **v == self.obj.name) {
            return Some(Promise {
                line: self
                    .obj
                    .root
                    .path(&["metadata", "name"])
                    .map_or(self.obj.root.line, |n| n.line),
                reason: format!("the selector names it (`{key}: {value}`), as its operator labels the pods"),
            });
        }
        let own: Labels = labels_of_object(self.obj);
        (!own.is_empty() && selector.matches(&own)).then(|| Promise {
            line: self
                .obj
                .root
                .path(&["metadata", "labels"])
                .map_or(self.obj.root.line, |n| n.line),
            reason: "its own labels match the selector".into(),
        })
    }
}

/// Mappings under a `labels` key (not `matchLabels`: that is a selector).
fn collect_label_maps<'n>(node: &'n Node, path: &str, depth: usize, out: &mut Vec<(String, &'n Node)>) {
    if depth == 0 {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (key, child) in entries {
                let child_path = format!("{path}.{}", key.text);
                if key.text == "labels" && child.is_map() {
                    out.push((child_path, child));
                } else {
                    collect_label_maps(child, &child_path, depth - 1, out);
                }
            }
        }
        Value::Seq(items) => {
            for item in items {
                collect_label_maps(item, &format!("{path}[]"), depth - 1, out);
            }
        }
        _ => {}
    }
}

/// A kind of pod the cluster runs in `kube-system` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPlanePods {
    /// "etcd", "CoreDNS", …
    pub component: &'static str,
    /// Which clusters run it as pods at all.
    pub where_it_runs: &'static str,
}

const STATIC_POD: &str = "kubeadm runs it as a static pod; managed clusters (EKS, GKE, AKS) do not show it as pods";
const ADD_ON: &str = "most clusters run it as pods; some replace it (a CNI without kube-proxy, another DNS)";

/// Labels the control plane's own pods carry in `kube-system` (kubeadm's
/// static pods, kube-proxy, CoreDNS).
const CONTROL_PLANE_PODS: &[(&str, &str, ControlPlanePods)] = &[
    (
        "component",
        "etcd",
        ControlPlanePods {
            component: "etcd",
            where_it_runs: STATIC_POD,
        },
    ),
    (
        "component",
        "kube-apiserver",
        ControlPlanePods {
            component: "API server",
            where_it_runs: STATIC_POD,
        },
    ),
    (
        "component",
        "kube-controller-manager",
        ControlPlanePods {
            component: "controller manager",
            where_it_runs: STATIC_POD,
        },
    ),
    (
        "component",
        "kube-scheduler",
        ControlPlanePods {
            component: "scheduler",
            where_it_runs: STATIC_POD,
        },
    ),
    (
        "tier",
        "control-plane",
        ControlPlanePods {
            component: "control plane",
            where_it_runs: STATIC_POD,
        },
    ),
    (
        "k8s-app",
        "kube-proxy",
        ControlPlanePods {
            component: "kube-proxy",
            where_it_runs: ADD_ON,
        },
    ),
    (
        "k8s-app",
        "kube-dns",
        ControlPlanePods {
            component: "DNS (CoreDNS)",
            where_it_runs: ADD_ON,
        },
    ),
];

/// Does `selector`, in `namespace`, select the cluster's own control-plane
/// pods? What they are, and the label that says so.
pub fn control_plane_pods(namespace: &str, selector: &Selector) -> Option<(ControlPlanePods, String)> {
    if namespace != "kube-system" {
        return None;
    }
    CONTROL_PLANE_PODS.iter().find_map(|(key, value, pods)| {
        (selector.match_labels.get(key).map(String::as_str) == Some(*value)).then(|| (*pods, format!("{key}: {value}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    fn selector(pairs: &[(&str, &str)]) -> Selector {
        Selector {
            match_labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expressions: Vec::new(),
        }
    }

    fn promise(text: &str, pairs: &[(&str, &str)]) -> Option<Promise> {
        let input = Input::new("t", "t", "default", text.into());
        let manifests = Manifests::load(vec![input], Detail::WithConfiguration).unwrap();
        let resource = CustomResource::from_object(&manifests.objects[0]).expect("a custom resource");
        resource.promises(&selector(pairs))
    }

    #[test]
    fn pod_labels_in_the_spec_name_or_own_labels_promise_pods() {
        let prometheus = "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: prom\n  labels: {team: obs}\nspec:\n  podMetadata:\n    labels:\n      app.kubernetes.io/name: prometheus\n";
        let by_spec = promise(prometheus, &[("app.kubernetes.io/name", "prometheus")]).unwrap();
        assert_eq!(by_spec.reason, "its spec.podMetadata.labels match the selector");
        assert_eq!(by_spec.line, 9);
        let by_name = promise(prometheus, &[("prometheus", "prom")]).unwrap();
        assert!(
            by_name.reason.starts_with("the selector names it (`prometheus: prom`)"),
            "{by_name:?}"
        );
        assert_eq!(by_name.line, 4);
        assert_eq!(
            promise(prometheus, &[("team", "obs")]).unwrap().reason,
            "its own labels match the selector"
        );
        assert_eq!(promise(prometheus, &[("app.kubernetes.io/name", "grafana")]), None);
        // A selector's matchLabels in the spec is no promise of pod labels.
        let monitor = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: m}\nspec:\n  selector:\n    matchLabels: {app: web}\n";
        assert_eq!(promise(monitor, &[("app", "web")]), None);
    }

    #[test]
    fn kubernetes_groups_are_not_custom() {
        let load = |api: &str| {
            let text = format!("apiVersion: {api}\nkind: X\nmetadata: {{name: x}}\n");
            let manifests = Manifests::load(vec![Input::new("t", "t", "default", text)], Detail::Checks).unwrap();
            CustomResource::from_object(&manifests.objects[0]).is_some()
        };
        assert!(!load("v1"));
        assert!(!load("apps/v1"));
        assert!(!load("networking.k8s.io/v1"));
        assert!(!load("gateway.networking.k8s.io/v1"));
        assert!(load("kafka.strimzi.io/v1beta2"));
    }

    #[test]
    fn control_plane_labels_count_only_in_kube_system() {
        let etcd = selector(&[("component", "etcd")]);
        let (pods, label) = control_plane_pods("kube-system", &etcd).unwrap();
        assert_eq!((pods.component, label.as_str()), ("etcd", "component: etcd"));
        assert_eq!(control_plane_pods("monitoring", &etcd), None);
        assert_eq!(control_plane_pods("kube-system", &selector(&[("app", "web")])), None);
    }
}
