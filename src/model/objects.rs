//! Typed views of the objects the checks reason about.

use super::selector::{labels_of, Labels, Selector};
use super::yaml::Node;
use super::Object;

/// A compute unit: any object carrying a pod template.
#[derive(Debug)]
pub struct Workload<'a> {
    pub obj: &'a Object,
    /// The pod template's `spec`.
    pub pod_spec: &'a Node,
    pub pod_labels: Labels,
    /// Line of the pod template's `labels:` (or of the template itself when it has none).
    pub pod_labels_line: u32,
    pub pod_labels_end_line: u32,
    /// The controller's `spec.selector`, when it has one.
    pub selector: Option<Selector>,
    pub selector_line: u32,
    pub selector_end_line: u32,
    pub containers: Vec<Container>,
    /// Line of the pod spec's `containers:`.
    pub containers_line: u32,
    /// Line of `hostNetwork: true`, when set.
    pub host_network_line: Option<u32>,
    /// `spec.replicas` (1 when absent or templated away).
    pub replicas: i64,
}

/// Labels a controller adds to the pods it creates, on top of the template's.
const STATEFULSET_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
const STATEFULSET_POD_INDEX: &str = "apps.kubernetes.io/pod-index";
const JOB_NAME_LABELS: [&str; 2] = ["job-name", "batch.kubernetes.io/job-name"];
/// Replicas beyond this are not enumerated for pod-name selectors.
const MAX_ENUMERATED_REPLICAS: i64 = 1000;

#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    /// A native sidecar: an init container with `restartPolicy: Always`.
    pub sidecar: bool,
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub number: i64,
    pub name: Option<String>,
    pub protocol: String,
    pub line: u32,
}

impl<'a> Workload<'a> {
    pub fn from_object(obj: &'a Object) -> Option<Workload<'a>> {
        let spec = obj.root.get("spec")?;
        let (template_meta, pod_spec, template_line) = match obj.kind.as_str() {
            "Pod" => (obj.root.get("metadata"), spec, obj.root.line),
            "CronJob" => {
                let template = spec.path(&["jobTemplate", "spec", "template"])?;
                (template.get("metadata"), template.get("spec")?, template.line)
            }
            _ => {
                let template = spec.get("template")?;
                (template.get("metadata"), template.get("spec")?, template.line)
            }
        };
        // Custom kinds count only when they really carry a pod spec.
        if !pod_spec.get("containers").is_some_and(Node::is_seq) {
            return None;
        }
        let labels_node = template_meta.and_then(|m| m.get("labels"));
        let pod_labels_line = template_meta
            .and_then(|m| m.key_line("labels"))
            .unwrap_or(template_line);
        let selector_node = match obj.kind.as_str() {
            "Pod" | "CronJob" => None,
            _ => spec.get("selector").filter(|s| s.is_map()),
        };
        let selector = selector_node.map(|s| {
            // ReplicationController's selector is a plain map; the rest use LabelSelector.
            if s.get("matchLabels").is_some() || s.get("matchExpressions").is_some() {
                Selector::from_label_selector(s)
            } else if obj.kind == "ReplicationController" {
                Selector::from_map(s)
            } else {
                Selector::from_label_selector(s)
            }
        });
        let containers = pod_spec
            .get("containers")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(|c| container(c, false))
            .chain(
                pod_spec
                    .get("initContainers")
                    .map(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.get("restartPolicy").and_then(Node::scalar_text) == Some("Always"))
                    .map(|c| container(c, true)),
            )
            .collect();
        let host_network_line = pod_spec
            .get("hostNetwork")
            .filter(|v| v.as_bool() == Some(true))
            .map(|v| v.line);
        Some(Workload {
            obj,
            pod_spec,
            pod_labels: labels_node.map(labels_of).unwrap_or_default(),
            pod_labels_line,
            pod_labels_end_line: labels_node.map_or(pod_labels_line, Node::last_line),
            selector,
            selector_line: spec.key_line("selector").unwrap_or(obj.root.line),
            selector_end_line: selector_node.map_or(0, Node::last_line),
            containers,
            containers_line: pod_spec.key_line("containers").unwrap_or(pod_spec.line),
            host_network_line,
            replicas: spec.get("replicas").and_then(Node::as_i64).unwrap_or(1),
        })
    }

    /// Does `selector` select at least one pod of this workload? A pod
    /// carries its template's labels plus those its controller adds:
    /// StatefulSet pods `statefulset.kubernetes.io/pod-name: <name>-<i>` and
    /// `apps.kubernetes.io/pod-index: <i>` (a per-pod Service selects one of
    /// them), Job pods `job-name`/`batch.kubernetes.io/job-name: <name>`.
    pub fn pods_selected_by(&self, selector: &Selector) -> bool {
        let mentions = |key: &str| selector.mentions(key);
        match self.obj.kind.as_str() {
            "StatefulSet" if mentions(STATEFULSET_POD_NAME) || mentions(STATEFULSET_POD_INDEX) => {
                let mut labels = self.pod_labels.clone();
                (0..self.replicas.clamp(0, MAX_ENUMERATED_REPLICAS)).any(|i| {
                    labels.insert(STATEFULSET_POD_NAME.into(), format!("{}-{i}", self.obj.name));
                    labels.insert(STATEFULSET_POD_INDEX.into(), i.to_string());
                    selector.matches(&labels)
                })
            }
            "Job" if JOB_NAME_LABELS.iter().any(|k| mentions(k)) => {
                let mut labels = self.pod_labels.clone();
                for key in JOB_NAME_LABELS {
                    labels.insert(key.into(), self.obj.name.clone());
                }
                selector.matches(&labels)
            }
            _ => selector.matches(&self.pod_labels),
        }
    }

    pub fn ports(&self) -> impl Iterator<Item = &ContainerPort> {
        self.containers.iter().flat_map(|c| c.ports.iter())
    }

    /// Does a container declare this port number with this protocol?
    pub fn declares_number(&self, number: i64, protocol: &str) -> bool {
        self.ports().any(|p| p.number == number && p.protocol == protocol)
    }

    pub fn declares_name(&self, name: &str, protocol: &str) -> bool {
        self.ports()
            .any(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
    }
}

fn container(node: &Node, sidecar: bool) -> Container {
    Container {
        name: node.get("name").and_then(Node::scalar_text).unwrap_or("").to_string(),
        sidecar,
        ports: node
            .get("ports")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                Some(ContainerPort {
                    number: port_number(p.get("containerPort")?)?,
                    name: p.get("name").and_then(Node::scalar_text).map(str::to_string),
                    protocol: protocol(p),
                    line: p.line,
                })
            })
            .collect(),
    }
}

fn protocol(port: &Node) -> String {
    port.get("protocol")
        .and_then(Node::scalar_text)
        .unwrap_or("TCP")
        .to_uppercase()
}

/// A port number, also when a template quoted it (`"8080"`).
fn port_number(node: &Node) -> Option<i64> {
    node.as_i64().or_else(|| node.scalar_text()?.trim().parse().ok())
}

/// A Service port's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(i64),
    Name(String),
}

impl std::fmt::Display for TargetPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetPort::Number(n) => write!(f, "{n}"),
            TargetPort::Name(name) => write!(f, "{name:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i64,
    pub target: TargetPort,
    pub protocol: String,
    pub line: u32,
    pub end_line: u32,
}

#[derive(Debug)]
pub struct Service<'a> {
    pub obj: &'a Object,
    /// The selector; `None` for ExternalName Services and Services without
    /// (or with an empty) selector: those select nothing on purpose.
    pub selector: Option<Selector>,
    pub selector_line: u32,
    pub selector_end_line: u32,
    pub ports: Vec<ServicePort>,
    pub headless: bool,
}

impl<'a> Service<'a> {
    pub fn from_object(obj: &'a Object) -> Option<Service<'a>> {
        if obj.kind != "Service" {
            return None;
        }
        let spec = obj.root.get("spec");
        let external_name = spec.and_then(|s| s.get("type")).and_then(Node::scalar_text) == Some("ExternalName");
        let selector = spec
            .and_then(|s| s.get("selector"))
            .map(Selector::from_map)
            .filter(|s| !s.is_empty() && !external_name);
        let ports = spec
            .and_then(|s| s.get("ports"))
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let port = port_number(p.get("port")?)?;
                let target = match p.get("targetPort") {
                    None => TargetPort::Number(port),
                    Some(t) if t.is_null() => TargetPort::Number(port),
                    Some(t) => match port_number(t) {
                        Some(n) => TargetPort::Number(n),
                        None => TargetPort::Name(t.scalar_text()?.to_string()),
                    },
                };
                Some(ServicePort {
                    name: p.get("name").and_then(Node::scalar_text).map(str::to_string),
                    port,
                    target,
                    protocol: protocol(p),
                    line: p.line,
                    end_line: p.last_line(),
                })
            })
            .collect();
        Some(Service {
            obj,
            selector,
            selector_line: spec.and_then(|s| s.key_line("selector")).unwrap_or(obj.root.line),
            selector_end_line: spec.and_then(|s| s.get("selector")).map_or(0, Node::last_line),
            ports,
            headless: spec.and_then(|s| s.get("clusterIP")).and_then(Node::scalar_text) == Some("None"),
        })
    }

    pub fn selects(&self, workload: &Workload<'_>) -> bool {
        workload.obj.namespace == self.obj.namespace
            && self.selector.as_ref().is_some_and(|s| workload.pods_selected_by(s))
    }
}

#[derive(Debug)]
pub struct NetworkPolicy<'a> {
    pub obj: &'a Object,
    pub pod_selector: Selector,
    /// `policyTypes` contains `Ingress`, or is absent (then Ingress is implied).
    pub restricts_ingress: bool,
}

impl<'a> NetworkPolicy<'a> {
    pub fn from_object(obj: &'a Object) -> Option<NetworkPolicy<'a>> {
        if obj.kind != "NetworkPolicy" || !obj.api_version.starts_with("networking.k8s.io/") {
            return None;
        }
        let spec = obj.root.get("spec")?;
        let pod_selector = spec
            .get("podSelector")
            .map(Selector::from_label_selector)
            .unwrap_or_default();
        let restricts_ingress = match spec.get("policyTypes") {
            Some(types) if types.is_seq() => types.as_seq().iter().any(|t| t.scalar_text() == Some("Ingress")),
            _ => true,
        };
        Some(NetworkPolicy {
            obj,
            pod_selector,
            restricts_ingress,
        })
    }

    pub fn covers(&self, workload: &Workload<'_>) -> bool {
        self.restricts_ingress
            && workload.obj.namespace == self.obj.namespace
            && workload.pods_selected_by(&self.pod_selector)
    }
}
