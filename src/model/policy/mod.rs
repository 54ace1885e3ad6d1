//! Network policies of the three kinds M6 and exposure read, in one model:
//! Kubernetes `NetworkPolicy` (`networking.k8s.io/v1`), Cilium
//! `CiliumNetworkPolicy`/`CiliumClusterwideNetworkPolicy` (`cilium.io/v2`),
//! Calico `NetworkPolicy`/`GlobalNetworkPolicy` (`projectcalico.org/v3`,
//! `crd.projectcalico.org/v1`), and the cluster-wide tiers around them:
//! `AdminNetworkPolicy`, `BaselineAdminNetworkPolicy` and
//! `ClusterNetworkPolicy` (`policy.networking.k8s.io`).
//!
//! Each policy says which pods it applies to, and per direction whether it
//! isolates them and with which ordered rules. What would make the API
//! server, the CRD's validation or the CNI reject the object is a
//! [`Problem`]: such a policy protects nothing and selects nothing. What is
//! valid but not modelled (L7 rules, Calico tiers, source ports) is kept
//! as text, so an answer that depends on it can say so instead of guessing.
//!
//! `rules.rs` holds the model (`Policy`, its rules and peers), `matcher.rs`
//! the selectors and the labels they read; `kubernetes.rs`, `cilium.rs`,
//! `calico.rs` and `admin.rs` read each kind into it, with `fields.rs`
//! (field readers as the API server validates them) and
//! `calico_selector.rs` (Calico's selector language). This file only picks
//! the reader for an object.

pub mod calico_selector;

mod admin;
mod calico;
mod cilium;
mod fields;
mod kubernetes;
mod matcher;
mod rules;

pub use matcher::{Matcher, NamespaceLabels, CALICO_POD_NAMESPACE, CALICO_SERVICE_ACCOUNT, CILIUM_SERVICE_ACCOUNT};
pub use rules::{
    Action, Entity, Flavor, HostName, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch,
    Problem, Side, API_SERVER_SERVICE,
};

use crate::model::object::Object;

impl<'a> Policy<'a> {
    /// The policies an object holds: none for other kinds, one for most,
    /// one per entry of a Cilium policy's `specs`.
    pub fn from_object(obj: &'a Object) -> Vec<Policy<'a>> {
        let group = obj.api_version.split('/').next().unwrap_or("");
        match (obj.kind.as_str(), group) {
            ("NetworkPolicy", "networking.k8s.io") => vec![kubernetes::parse(obj)],
            ("CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy", "cilium.io") => cilium::parse(obj),
            ("NetworkPolicy" | "GlobalNetworkPolicy", "projectcalico.org" | "crd.projectcalico.org") => {
                vec![calico::parse(obj)]
            }
            (
                "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy" | "ClusterNetworkPolicy",
                "policy.networking.k8s.io",
            ) => vec![admin::parse(obj)],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
