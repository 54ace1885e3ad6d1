//! What a workload's place in the Kubernetes control plane says about its
//! network: a ServiceAccount bound by a (Cluster)RoleBinding calls the API
//! server; a Service named by a webhook configuration, an APIService or a
//! CRD conversion webhook is called by the API server. Parsed only with
//! [`Detail::WithConfiguration`](super::Detail).

use super::object::Object;
use super::selector::Selector;
use crate::yaml::Node;

/// The ServiceAccounts a RoleBinding or ClusterRoleBinding binds.
#[derive(Debug)]
pub struct ServiceAccountBinding<'a> {
    pub obj: &'a Object,
    /// `(namespace, name)` of each ServiceAccount subject (a RoleBinding's
    /// subject without a namespace is in the binding's namespace).
    pub service_accounts: Vec<(String, String)>,
}

impl<'a> ServiceAccountBinding<'a> {
    pub fn from_object(obj: &'a Object) -> Option<ServiceAccountBinding<'a>> {
        let cluster_wide = match obj.kind.as_str() {
            "RoleBinding" => false,
            "ClusterRoleBinding" => true,
            _ => return None,
        };
        let service_accounts = obj
            .root
            .get("subjects")
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.get("kind").and_then(Node::scalar_text) == Some("ServiceAccount"))
            .filter_map(|s| {
                let name = s.get("name").and_then(Node::scalar_text)?;
                let namespace = match s.get("namespace").and_then(Node::scalar_text) {
                    Some(ns) if !ns.is_empty() => ns,
                    _ if cluster_wide => return None,
                    _ => obj.namespace.as_str(),
                };
                Some((namespace.to_string(), name.to_string()))
            })
            .collect();
        Some(ServiceAccountBinding { obj, service_accounts })
    }

    pub fn binds(&self, namespace: &str, service_account: &str) -> bool {
        self.service_accounts
            .iter()
            .any(|(ns, name)| ns == namespace && name == service_account)
    }
}

/// A Service the API server calls.
#[derive(Debug)]
pub struct WebhookTarget<'a> {
    /// The webhook configuration, APIService or CRD that names it.
    pub obj: &'a Object,
    pub namespace: String,
    pub service: String,
    /// The Service port called (443 when not given, as the API server defaults).
    pub port: u16,
}

impl<'a> WebhookTarget<'a> {
    /// Every Service an object tells the API server to call.
    pub fn from_object(obj: &'a Object) -> Vec<WebhookTarget<'a>> {
        let services: Vec<&Node> = match obj.kind.as_str() {
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => obj
                .root
                .get("webhooks")
                .map(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| w.path(&["clientConfig", "service"]))
                .collect(),
            "APIService" => obj.root.path(&["spec", "service"]).into_iter().collect(),
            "CustomResourceDefinition" => obj
                .root
                .path(&["spec", "conversion", "webhook", "clientConfig", "service"])
                .or_else(|| obj.root.path(&["spec", "conversion", "webhookClientConfig", "service"]))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        services
            .into_iter()
            .filter_map(|service| {
                let name = service.get("name").and_then(Node::scalar_text)?;
                let namespace = service
                    .get("namespace")
                    .and_then(Node::scalar_text)
                    .unwrap_or(obj.namespace.as_str());
                let port = match service.get("port") {
                    None => 443,
                    Some(p) => u16::try_from(p.as_i64()?).ok().filter(|p| *p > 0)?,
                };
                Some(WebhookTarget {
                    obj,
                    namespace: namespace.to_string(),
                    service: name.to_string(),
                    port,
                })
            })
            .collect()
    }
}

/// An IngressClass or GatewayClass: the name Ingresses and Gateways use, and
/// the controller that implements it.
#[derive(Debug)]
pub struct RoutingClass<'a> {
    pub obj: &'a Object,
    /// `spec.controller` (IngressClass) or `spec.controllerName` (GatewayClass).
    pub controller: String,
}

impl<'a> RoutingClass<'a> {
    pub fn from_object(obj: &'a Object) -> Option<RoutingClass<'a>> {
        let field = match obj.kind.as_str() {
            "IngressClass" => "controller",
            "GatewayClass" => "controllerName",
            _ => return None,
        };
        let controller = obj
            .root
            .path(&["spec", field])
            .and_then(Node::scalar_text)
            .unwrap_or("");
        Some(RoutingClass {
            obj,
            controller: controller.to_string(),
        })
    }
}

/// What a ServiceMonitor or PodMonitor (Prometheus Operator) selects.
#[derive(Debug)]
pub enum MonitorTargets {
    /// Services whose labels match, and the Service ports' names.
    Services(Selector),
    /// Pods whose labels match.
    Pods(Selector),
}

/// A scraped port: by name (a Service port's for a ServiceMonitor, a
/// container port's for a PodMonitor) or by container port number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorPort {
    Name(String),
    Number(u16),
}

/// A ServiceMonitor or PodMonitor: Prometheus, in its own namespace,
/// connects to these ports.
#[derive(Debug)]
pub struct Monitor<'a> {
    pub obj: &'a Object,
    pub targets: MonitorTargets,
    /// `None`: any namespace; else these (the monitor's own when not given).
    pub namespaces: Option<Vec<String>>,
    pub ports: Vec<MonitorPort>,
}

impl<'a> Monitor<'a> {
    pub fn from_object(obj: &'a Object) -> Option<Monitor<'a>> {
        if !obj.api_version.starts_with("monitoring.coreos.com/") {
            return None;
        }
        let spec = obj.root.get("spec")?;
        let selector = spec
            .get("selector")
            .map(Selector::from_label_selector)
            .unwrap_or_default();
        let (targets, endpoints) = match obj.kind.as_str() {
            "ServiceMonitor" => (MonitorTargets::Services(selector), "endpoints"),
            "PodMonitor" => (MonitorTargets::Pods(selector), "podMetricsEndpoints"),
            _ => return None,
        };
        let namespaces = match spec.get("namespaceSelector") {
            Some(ns) if ns.get("any").and_then(Node::as_bool) == Some(true) => None,
            Some(ns) if ns.get("matchNames").is_some_and(Node::is_seq) => Some(
                ns.get("matchNames")
                    .map(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::scalar_text)
                    .map(str::to_string)
                    .collect(),
            ),
            _ => Some(vec![obj.namespace.clone()]),
        };
        let ports = spec
            .get(endpoints)
            .map(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                if let Some(name) = e.get("port").and_then(Node::scalar_text) {
                    return Some(MonitorPort::Name(name.to_string()));
                }
                let target = e.get("targetPort")?;
                match target.as_i64() {
                    Some(n) => u16::try_from(n).ok().filter(|n| *n > 0).map(MonitorPort::Number),
                    None => target.scalar_text().map(|n| MonitorPort::Name(n.to_string())),
                }
            })
            .collect();
        Some(Monitor {
            obj,
            targets,
            namespaces,
            ports,
        })
    }

    /// Does the monitor look into `namespace`?
    pub fn watches(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == namespace))
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn bindings_and_webhook_targets() {
        let text = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: ops}\nsubjects:\n- {kind: ServiceAccount, name: op}\n- {kind: User, name: alice}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb}\nsubjects:\n- {kind: ServiceAccount, name: ctl, namespace: sys}\n- {kind: ServiceAccount, name: nons}\n---\n\
apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\nwebhooks:\n- name: a\n  clientConfig: {service: {name: hook, namespace: ops, port: 8443}}\n- name: b\n  clientConfig: {url: \"https://x\"}\n---\n\
apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec: {service: {name: metrics, namespace: sys}}\n---\n\
apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: crd}\nspec:\n  conversion:\n    strategy: Webhook\n    webhook: {clientConfig: {service: {name: conv, namespace: ops, port: 9443}}}\n";
        let manifests = Manifests::load(
            vec![Input::new("t", "t", "default", text.into())],
            Detail::WithConfiguration,
        )
        .unwrap();
        let index = manifests.index();
        let bound: Vec<&(String, String)> = index.bindings.iter().flat_map(|b| &b.service_accounts).collect();
        assert_eq!(
            bound,
            [
                &("ops".to_string(), "op".to_string()),
                &("sys".to_string(), "ctl".to_string())
            ]
        );
        let targets: Vec<(&str, &str, u16)> = index
            .webhooks
            .iter()
            .map(|w| (w.namespace.as_str(), w.service.as_str(), w.port))
            .collect();
        assert_eq!(
            targets,
            [("ops", "hook", 8443), ("sys", "metrics", 443), ("ops", "conv", 9443)]
        );
        let checks_only = Manifests::load(vec![Input::new("t", "t", "default", text.into())], Detail::Checks).unwrap();
        assert!(checks_only.index().webhooks.is_empty());
    }
}
