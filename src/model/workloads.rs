//! Typed views of the objects the checks reason about most: workloads (any
//! object with a pod template: its pods' labels, containers and ports) and
//! the Services that select them.

use super::object::Object;
use super::runtime::{Protocol, WorkloadRef};
use super::selector::{labels_of, Labels, Selector};
use crate::yaml::Node;
use std::collections::BTreeSet;

/// A compute unit: any object carrying a pod template.
#[derive(Debug)]
pub struct Workload<'a> {
    pub obj: &'a Object,
    /// The pod template's `spec`.
    pub pod_spec: &'a Node,
    pub pod_labels: Labels,
    /// The pod template's annotations (`prometheus.io/scrape`, …).
    pub pod_annotations: Labels,
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
    /// The labels of the workload's namespace: those of the input's
    /// `Namespace` object when there is one (set by the index), plus its
    /// name under the labels Kubernetes and Calico give it.
    pub namespace_labels: std::sync::Arc<Labels>,
}

/// Labels a controller adds to the pods it creates, on top of the template's.
pub const STATEFULSET_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
pub const STATEFULSET_POD_INDEX: &str = "apps.kubernetes.io/pod-index";
const JOB_NAME_LABELS: [&str; 2] = ["job-name", "batch.kubernetes.io/job-name"];
/// Every label a controller adds (no pod template sets them).
pub const CONTROLLER_LABELS: [&str; 4] = [
    STATEFULSET_POD_NAME,
    STATEFULSET_POD_INDEX,
    JOB_NAME_LABELS[0],
    JOB_NAME_LABELS[1],
];
/// Replicas beyond this are not enumerated for pod-name selectors.
const MAX_ENUMERATED_REPLICAS: i64 = 1000;

/// Which pods of a workload a selector picks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodPick {
    None,
    All,
    /// Some pods of a StatefulSet, by ordinal (not all of them).
    Some(BTreeSet<u32>),
}

/// A long-running container: the pod's containers and its native sidecars
/// (init containers with `restartPolicy: Always`).
#[derive(Debug, Clone)]
pub struct Container {
    pub name: String,
    pub ports: Vec<ContainerPort>,
}

/// A declared container port. Ports whose number is not 1-65535 or whose
/// protocol is not TCP, UDP or SCTP are left out: the API server rejects them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub number: u16,
    pub name: Option<String>,
    pub protocol: Protocol,
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
            .chain(
                pod_spec
                    .get("initContainers")
                    .map(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter(|c| c.get("restartPolicy").and_then(Node::scalar_text) == Some("Always")),
            )
            .map(container)
            .collect();
        let host_network_line = pod_spec
            .get("hostNetwork")
            .filter(|v| v.as_bool() == Some(true))
            .map(|v| v.line);
        Some(Workload {
            obj,
            pod_spec,
            pod_labels: labels_node.map(labels_of).unwrap_or_default(),
            pod_annotations: template_meta
                .and_then(|m| m.get("annotations"))
                .map(labels_of)
                .unwrap_or_default(),
            pod_labels_line,
            pod_labels_end_line: labels_node.map_or(pod_labels_line, Node::last_line),
            selector,
            selector_line: spec.key_line("selector").unwrap_or(obj.root.line),
            selector_end_line: selector_node.map_or(0, Node::last_line),
            containers,
            containers_line: pod_spec.key_line("containers").unwrap_or(pod_spec.line),
            host_network_line,
            replicas: spec.get("replicas").and_then(Node::as_i64).unwrap_or(1),
            namespace_labels: std::sync::Arc::new(super::selector::namespace_labels(&obj.namespace)),
        })
    }

    /// Does `selector` select at least one pod of this workload? A pod
    /// carries its template's labels plus those its controller adds:
    /// StatefulSet pods `statefulset.kubernetes.io/pod-name: <name>-<i>` and
    /// `apps.kubernetes.io/pod-index: <i>` (a per-pod Service selects one of
    /// them), Job pods `job-name`/`batch.kubernetes.io/job-name: <name>`.
    pub fn pods_selected_by(&self, selector: &Selector) -> bool {
        self.pods_picked_by_selector(selector) != PodPick::None
    }

    /// Which of this workload's pods `selector` selects.
    pub fn pods_picked_by_selector(&self, selector: &Selector) -> PodPick {
        self.pods_picked(|key| selector.mentions(key), |labels| selector.matches(labels))
    }

    /// Which of this workload's pods a selector picks, given what it reads
    /// (`mentions`) and how it matches a pod's labels (`matches`). Only a
    /// selector on the labels a StatefulSet gives each pod can pick some
    /// pods and not others.
    pub fn pods_picked(&self, mentions: impl Fn(&str) -> bool, matches: impl Fn(&Labels) -> bool) -> PodPick {
        let pick = |picked: bool| if picked { PodPick::All } else { PodPick::None };
        match self.obj.kind.as_str() {
            "StatefulSet" if mentions(STATEFULSET_POD_NAME) || mentions(STATEFULSET_POD_INDEX) => {
                let mut labels = self.pod_labels.clone();
                let ordinals = self.ordinals();
                let picked: BTreeSet<u32> = ordinals
                    .clone()
                    .filter(|&i| {
                        labels.insert(STATEFULSET_POD_NAME.into(), self.pod_name(i));
                        labels.insert(STATEFULSET_POD_INDEX.into(), i.to_string());
                        matches(&labels)
                    })
                    .collect();
                match picked.len() {
                    0 => PodPick::None,
                    n if n == ordinals.len() => PodPick::All,
                    _ => PodPick::Some(picked),
                }
            }
            "Job" if JOB_NAME_LABELS.iter().any(|k| mentions(k)) => {
                let mut labels = self.pod_labels.clone();
                for key in JOB_NAME_LABELS {
                    labels.insert(key.into(), self.obj.name.clone());
                }
                pick(matches(&labels))
            }
            _ => pick(matches(&self.pod_labels)),
        }
    }

    /// The ordinals of a StatefulSet's pods (`0..replicas`, enumerated up
    /// to a bound).
    pub fn ordinals(&self) -> std::ops::Range<u32> {
        0..u32::try_from(self.replicas.clamp(0, MAX_ENUMERATED_REPLICAS)).unwrap_or(0)
    }

    /// The name of a StatefulSet's pod.
    pub fn pod_name(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.obj.name)
    }

    /// The workload as a [`WorkloadRef`].
    pub fn reference(&self) -> WorkloadRef {
        self.obj.reference()
    }

    /// The pods' ServiceAccount (`default` when the pod spec names none).
    pub fn service_account(&self) -> &str {
        self.pod_spec
            .get("serviceAccountName")
            .or_else(|| self.pod_spec.get("serviceAccount"))
            .and_then(Node::scalar_text)
            .filter(|s| !s.is_empty())
            .unwrap_or("default")
    }

    /// Jobs and CronJobs: their pods run to completion, nothing to probe.
    pub fn runs_to_completion(&self) -> bool {
        self.reference().runs_to_completion()
    }

    pub fn ports(&self) -> impl Iterator<Item = &ContainerPort> {
        self.containers.iter().flat_map(|c| c.ports.iter())
    }

    /// Does a container declare this port number with this protocol?
    pub fn declares_number(&self, number: u16, protocol: Protocol) -> bool {
        self.ports().any(|p| p.number == number && p.protocol == protocol)
    }

    pub fn declares_name(&self, name: &str, protocol: Protocol) -> bool {
        self.ports()
            .any(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
    }

    /// The number of the container port named `name` with this protocol.
    pub fn port_named(&self, name: &str, protocol: Protocol) -> Option<u16> {
        self.ports()
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == protocol)
            .map(|p| p.number)
    }
}

fn container(node: &Node) -> Container {
    Container {
        name: node.get("name").and_then(Node::scalar_text).unwrap_or("").to_string(),
        ports: node
            .get("ports")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                Some(ContainerPort {
                    number: port_number(p.get("containerPort")?)?,
                    name: p.get("name").and_then(Node::scalar_text).map(str::to_string),
                    protocol: protocol(p)?,
                    line: p.line,
                })
            })
            .collect(),
    }
}

/// `protocol` (TCP when absent); `None` for one Kubernetes does not know.
fn protocol(port: &Node) -> Option<Protocol> {
    match port.get("protocol").and_then(Node::scalar_text) {
        None => Some(Protocol::Tcp),
        Some(text) => Protocol::parse(text),
    }
}

/// A port number 1-65535, also when a template quoted it (`"8080"`).
fn port_number(node: &Node) -> Option<u16> {
    let number = node.as_i64().or_else(|| node.scalar_text()?.trim().parse().ok())?;
    u16::try_from(number).ok().filter(|n| *n > 0)
}

/// A Service port's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
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
    pub port: u16,
    pub target: TargetPort,
    pub protocol: Protocol,
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
                        None if t.as_i64().is_some() => return None,
                        None => TargetPort::Name(t.scalar_text()?.to_string()),
                    },
                };
                Some(ServicePort {
                    name: p.get("name").and_then(Node::scalar_text).map(str::to_string),
                    port,
                    target,
                    protocol: protocol(p)?,
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

    /// `spec.externalName` of an ExternalName Service: the DNS name it aliases.
    pub fn external_name(&self) -> Option<&'a str> {
        (self.service_type() == "ExternalName")
            .then(|| {
                self.obj
                    .root
                    .path(&["spec", "externalName"])
                    .and_then(Node::scalar_text)
            })
            .flatten()
    }

    /// The namespace of the in-cluster Service an ExternalName Service
    /// aliases (`db.data.svc.cluster.local` -> `data`), if it aliases one.
    pub fn aliased_namespace(&self) -> Option<&'a str> {
        let labels: Vec<&str> = self.external_name()?.trim_end_matches('.').split('.').collect();
        match labels.as_slice() {
            [_, namespace, "svc", ..] => Some(namespace),
            _ => None,
        }
    }

    /// `spec.type` (ClusterIP when absent).
    pub fn service_type(&self) -> &'a str {
        self.obj
            .root
            .path(&["spec", "type"])
            .and_then(Node::scalar_text)
            .unwrap_or("ClusterIP")
    }

    /// The port numbers a Service port reaches in `workload`: its target
    /// number, or the container ports carrying the target name.
    pub fn target_numbers(&self, port: &ServicePort, workload: &Workload<'_>) -> Vec<u16> {
        match &port.target {
            TargetPort::Number(n) => vec![*n],
            TargetPort::Name(name) => workload
                .ports()
                .filter(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == port.protocol)
                .map(|p| p.number)
                .collect(),
        }
    }

    pub fn selects(&self, workload: &Workload<'_>) -> bool {
        workload.obj.namespace == self.obj.namespace
            && self.selector.as_ref().is_some_and(|s| workload.pods_selected_by(s))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Detail, Input, Manifests, Protocol};

    #[test]
    fn ports_are_validated_at_load_and_keep_their_protocol() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ports:\n    - {containerPort: 5060, protocol: SCTP}\n    - {containerPort: 70000}\n    - {containerPort: 0}\n    - {containerPort: 53, protocol: udp}\n    - {containerPort: 80, protocol: HTTP}\n    - {containerPort: \"8080\"}\n";
        let manifests = Manifests::load(vec![Input::new("t", "t", "default", text.into())], Detail::Checks).unwrap();
        let index = manifests.index();
        let ports: Vec<(u16, Protocol)> = index.workloads[0].ports().map(|p| (p.number, p.protocol)).collect();
        assert_eq!(
            ports,
            [(5060, Protocol::Sctp), (53, Protocol::Udp), (8080, Protocol::Tcp)]
        );
        assert!(!index.workloads[0].declares_number(5060, Protocol::Tcp));
    }
}
