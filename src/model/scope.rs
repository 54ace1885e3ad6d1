//! Where the objects of a render land when installed: in the release's
//! namespace, in another namespace, or in no namespace at all (cluster-scoped:
//! ClusterRoles, CRDs, webhook configurations, …). A sandbox is a namespace:
//! what lands outside it changes the cluster for everyone.

use super::documents::split_documents;
use super::input::Input;
use crate::yaml::{parse_documents, Node};
use std::collections::BTreeMap;
use std::fmt;

/// Kubernetes' own cluster-scoped kinds (`kubectl api-resources --namespaced=false`
/// of 1.30, and Gateway API's GatewayClass).
const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CustomResourceDefinition",
    "FlowSchema",
    "GatewayClass",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// An object that an install of the input would put outside the release's
/// namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    pub kind: String,
    pub name: String,
    /// `None`: cluster-scoped; else the other namespace it names.
    pub namespace: Option<String>,
}

impl fmt::Display for Outside {
    /// "ClusterRole `x`", "Deployment `kube-system/x`".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            None => write!(f, "{} `{}`", self.kind, self.name),
            Some(namespace) => write!(f, "{} `{namespace}/{}`", self.kind, self.name),
        }
    }
}

/// The objects of `input` that land outside its namespace
/// (`input.default_namespace`), in document order. A custom resource is
/// cluster-scoped when a CustomResourceDefinition of the input says so, or,
/// without one, when its kind starts with `Cluster` (ClusterIssuer,
/// ClusterPolicy, ClusterSecretStore: the convention of every operator that
/// has both scopes).
pub fn outside_namespace(input: &Input) -> Vec<Outside> {
    let mut objects = Vec::new();
    let mut crd_scopes: BTreeMap<String, bool> = BTreeMap::new();
    for chunk in split_documents(&input.text) {
        if chunk.top_level_kind().is_none() {
            continue;
        }
        for document in parse_documents(chunk.text, chunk.first_line).unwrap_or_default() {
            let text = |path: &[&str]| document.path(path).and_then(Node::scalar_text).map(str::to_string);
            let (Some(kind), Some(name)) = (text(&["kind"]), text(&["metadata", "name"])) else {
                continue;
            };
            if kind == "CustomResourceDefinition" {
                if let Some(crd_kind) = text(&["spec", "names", "kind"]) {
                    crd_scopes.insert(crd_kind, text(&["spec", "scope"]).as_deref() == Some("Cluster"));
                }
            }
            objects.push((kind, name, text(&["metadata", "namespace"])));
        }
    }
    objects
        .into_iter()
        .filter_map(|(kind, name, namespace)| {
            let cluster_scoped = CLUSTER_SCOPED_KINDS.contains(&kind.as_str())
                || crd_scopes
                    .get(&kind)
                    .copied()
                    .unwrap_or_else(|| kind.starts_with("Cluster"));
            let namespace = match namespace {
                _ if cluster_scoped => None,
                Some(ns) if ns != input.default_namespace => Some(ns),
                _ => return None,
            };
            Some(Outside { kind, name, namespace })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_scoped_and_other_namespaces_are_outside() {
        let text = "\
apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n---\n\
apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n---\n\
apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dashboards, namespace: monitoring}\n---\n\
apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n\
spec: {scope: Namespaced, names: {kind: Widget}}\n---\n\
apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n\
apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: letsencrypt}\n---\n\
apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: hook, namespace: shop}\n";
        let input = Input::new("t.yaml", "shop", "shop", text.into());
        let shown: Vec<String> = outside_namespace(&input).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "ClusterRole `reader`",
                "ConfigMap `monitoring/dashboards`",
                "CustomResourceDefinition `widgets.example.com`",
                "ClusterIssuer `letsencrypt`",
                "ValidatingWebhookConfiguration `hook`",
            ]
        );
    }
}
