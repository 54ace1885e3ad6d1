//! The languages a generated policy ([`Intent`]) is written in: Kubernetes
//! `NetworkPolicy`, Cilium `CiliumNetworkPolicy`, Calico `NetworkPolicy`
//! (`projectcalico.org/v3`). Each writes the same flows; where a language
//! has a construct for the API server, the nodes or the cluster DNS, it is
//! used ([`Flavor::constructs`] says which, for the explanations and the
//! README).

mod calico;
mod cilium;
mod kubernetes;

use super::intent::Intent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

/// The policy language `fix` and `post-render` write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Flavor {
    /// `networking.k8s.io/v1` NetworkPolicy: any CNI that enforces policies.
    #[default]
    Kubernetes,
    /// `cilium.io/v2` CiliumNetworkPolicy.
    Cilium,
    /// `projectcalico.org/v3` NetworkPolicy (Calico's API server, or calicoctl).
    Calico,
}

impl Flavor {
    /// The kind it writes, with its API group: "CiliumNetworkPolicy (cilium.io/v2)".
    pub fn kind(self) -> &'static str {
        match self {
            Flavor::Kubernetes => "NetworkPolicy (networking.k8s.io/v1)",
            Flavor::Cilium => "CiliumNetworkPolicy (cilium.io/v2)",
            Flavor::Calico => "NetworkPolicy (projectcalico.org/v3)",
        }
    }

    /// As `--flavor` names it.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Kubernetes => "kubernetes",
            Flavor::Cilium => "cilium",
            Flavor::Calico => "calico",
        }
    }

    /// The plural of [`Flavor::policy_kind`]: "CiliumNetworkPolicies".
    pub fn policy_kinds(self) -> String {
        format!("{}ies", self.policy_kind().trim_end_matches('y'))
    }

    /// The kind it writes: "CiliumNetworkPolicy".
    pub fn policy_kind(self) -> &'static str {
        match self {
            Flavor::Kubernetes | Flavor::Calico => "NetworkPolicy",
            Flavor::Cilium => "CiliumNetworkPolicy",
        }
    }

    /// What the cluster needs for the policies to be applied and enforced.
    pub fn requires(self) -> &'static str {
        match self {
            Flavor::Kubernetes => {
                "a network plugin that enforces NetworkPolicies (Calico, Cilium, Antrea, kube-router, …); without one they are accepted and do nothing"
            }
            Flavor::Cilium => {
                "Cilium as the network plugin (its CRDs installed); the DNS rules need Cilium's DNS proxy, which is on by default"
            }
            Flavor::Calico => {
                "Calico as the network plugin, and its API server (or `calicoctl apply`) for the projectcalico.org/v3 objects"
            }
        }
    }

    /// How it names the API server, the nodes and the cluster DNS.
    pub fn constructs(self) -> Constructs {
        match self {
            Flavor::Kubernetes => Constructs {
                api_server: "TCP 443 and 6443 to any address (a NetworkPolicy cannot name the API server)",
                nodes: "any address (a NetworkPolicy can name nodes only by their addresses)",
                dns: "pods labelled k8s-app=kube-dns in any namespace",
                hosts: HostNaming::Cannot("a NetworkPolicy names addresses (`ipBlock`), not hosts"),
            },
            Flavor::Cilium => Constructs {
                api_server: "the entity kube-apiserver",
                nodes: "the entities host and remote-node",
                dns: "pods labelled k8s-app=kube-dns in kube-system, through Cilium's DNS proxy (rules.dns)",
                hosts: HostNaming::ByName(
                    "`toFQDNs` `matchName`: Cilium allows the addresses its DNS proxy sees the name resolve to",
                ),
            },
            Flavor::Calico => Constructs {
                api_server: "the endpoints of the Service default/kubernetes (`services`)",
                nodes: "any address (0.0.0.0/0 and ::/0)",
                dns: "pods labelled k8s-app=kube-dns in kube-system",
                hosts: HostNaming::Cannot("Calico's open-source policies name addresses (`nets`), not hosts"),
            },
        }
    }

    /// `intent` written in this language.
    pub fn write(self, intent: &Intent) -> Value {
        match self {
            Flavor::Kubernetes => kubernetes::write(intent),
            Flavor::Cilium => cilium::write(intent),
            Flavor::Calico => calico::write(intent),
        }
    }

    /// The cluster-wide default of `namespaces` in this language (`fix
    /// --baseline`): every pod denied all ingress and all egress but the
    /// cluster DNS, except what policies allow.
    pub fn baseline(self, namespaces: &[String]) -> Value {
        match self {
            Flavor::Kubernetes => kubernetes::baseline(namespaces),
            Flavor::Cilium => cilium::baseline(namespaces),
            Flavor::Calico => calico::baseline(namespaces),
        }
    }

    /// The kind of [`Flavor::baseline`], and how it adds to the policies.
    pub fn baseline_kind(self) -> &'static str {
        match self {
            Flavor::Kubernetes => {
                "a ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2) of the Baseline tier: it decides only for pods that no NetworkPolicy isolates, in the directions none does (it needs a network plugin that implements the network-policy-api CRDs)"
            }
            Flavor::Cilium => {
                "a CiliumClusterwideNetworkPolicy: it isolates every pod of those namespaces, and the CiliumNetworkPolicies add what they allow"
            }
            Flavor::Calico => {
                "a GlobalNetworkPolicy of order 2000, after the policies (1000): what no policy allows is denied at the end of the tier"
            }
        }
    }
}

/// A custom resource as written: `apiVersion`, `kind`, `metadata` (a name,
/// and a namespace unless cluster-wide) and a typed `spec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resource<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: S,
}

impl<S: Serialize> Resource<S> {
    fn write(api_version: &'static str, kind: &'static str, name: &str, namespace: Option<&str>, spec: S) -> Value {
        let resource = Resource {
            api_version,
            kind,
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: namespace.map(str::to_string),
                ..ObjectMeta::default()
            },
            spec,
        };
        // Typed objects of strings, numbers and maps always serialize.
        serde_json::to_value(resource).unwrap_or(Value::Null)
    }
}

/// The name of the object [`Flavor::baseline`] writes.
pub const BASELINE_NAME: &str = "netaudit-baseline";

/// How a language names what is not a pod.
#[derive(Debug, Clone, Copy)]
pub struct Constructs {
    pub api_server: &'static str,
    pub nodes: &'static str,
    pub dns: &'static str,
    /// Whether and how it names a host outside the cluster.
    pub hosts: HostNaming,
}

/// How a language says "this host outside the cluster".
#[derive(Debug, Clone, Copy)]
pub enum HostNaming {
    /// By its name, this way.
    ByName(&'static str),
    /// It cannot, for this reason.
    Cannot(&'static str),
}

/// The namespace the cluster DNS runs in, for the languages that name it.
const DNS_NAMESPACE: &str = "kube-system";
/// The label of the cluster DNS's pods (CoreDNS and kube-dns both).
const DNS_LABEL: (&str, &str) = ("k8s-app", "kube-dns");

#[cfg(test)]
mod tests;
