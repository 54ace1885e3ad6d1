//! Stand-in pods for the pods a Service selects that no workload of the
//! manifests runs ([`ServicePods`]): an operator's, the control plane's,
//! another release's. Whoever creates them, the Service finds them by its
//! selector, so they carry exactly its labels and serve its target ports:
//! the evaluator decides a flow to them as to any pod.

use super::index::Index;
use super::input::Input;
use super::load::Detail;
use super::manifests::Manifests;
use super::runtime::Protocol;
use super::selector::Labels;
use super::workloads::Workload;
use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The pods behind a Service that no workload of the manifests runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServicePods {
    pub namespace: String,
    /// The Service's name.
    pub service: String,
    /// Its selector: the labels the pods carry.
    pub labels: Labels,
    /// Its target ports as the pods declare them: numbers, and named
    /// targets as the Service's port number under that name.
    pub ports: Vec<(Option<String>, Protocol, u16)>,
}

/// A Pod per distinct [`ServicePods`] of `pods`, loaded as manifests
/// (empty when there is none).
pub fn load<'p>(pods: impl IntoIterator<Item = &'p ServicePods>) -> Result<Manifests, String> {
    let mut text = String::new();
    let mut seen: Vec<&ServicePods> = Vec::new();
    for pods in pods {
        if seen.contains(&pods) {
            continue;
        }
        seen.push(pods);
        let value = serde_json::to_value(pod(pods)).map_err(|e| format!("stand-in pod: {e}"))?;
        text.push_str("---\n");
        text.push_str(&crate::yaml::writer::to_yaml(&value));
    }
    let input = Input::new("stand-in pods", "stand-in", "default", text);
    Manifests::load(vec![input], Detail::Checks).map_err(|e| format!("stand-in pods: {e}"))
}

/// The stand-in of `pods` in `index` (loaded by [`load`]).
pub fn find<'i, 'a>(index: &'i Index<'a>, pods: &ServicePods) -> Option<&'i Workload<'a>> {
    let name = name(pods);
    index
        .workloads
        .iter()
        .find(|w| w.obj.namespace == pods.namespace && w.obj.name == name)
}

fn name(pods: &ServicePods) -> String {
    format!("pods-of-{}", pods.service)
}

fn pod(pods: &ServicePods) -> Pod {
    let ports = pods
        .ports
        .iter()
        .map(|(name, protocol, number)| ContainerPort {
            name: name.clone(),
            container_port: i32::from(*number),
            protocol: Some(protocol.as_str().to_string()),
            ..ContainerPort::default()
        })
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name(pods)),
            namespace: Some(pods.namespace.clone()),
            labels: Some(pods.labels.clone().into_iter().collect()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "stand-in".into(),
                ports: Some(ports),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}
