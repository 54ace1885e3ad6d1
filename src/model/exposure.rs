//! Who can open a connection to a finding's port or workload, under the
//! policies of the audited input (the spec's "Exposure").

use super::words::{self, thousands};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// A pod of another namespace, outside the release, can reach it.
    pub any_pod: bool,
    /// Who can, most general first; empty: nobody.
    pub sources: Vec<ExposureSource>,
    /// The policies that let them in (empty: no policy restricts ingress).
    #[serde(default)]
    pub policies: Vec<String>,
    /// What the answer depends on that was not evaluated.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What was asked about, in words ("port 9000/TCP", "any of its ports").
    #[serde(skip, default)]
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ExposureSource {
    /// The workload runs in the host's network: policies do not apply.
    HostNetwork,
    /// Any pod of any namespace.
    AnyPod,
    /// Pods of other namespaces that a policy names (`pods`: their
    /// selector, absent for every pod of those namespaces).
    Pods { pods: Option<String>, namespaces: String },
    /// Every pod of a release in a namespace.
    Release { release: String, namespace: String },
    /// Pods of one audited workload (`Kind/namespace/name`).
    Workload { workload: String },
    /// `count` of the `of` audited workloads of a release in a namespace
    /// (when naming each would take too many entries).
    Workloads {
        release: String,
        namespace: String,
        count: usize,
        of: usize,
    },
    /// Audited workloads of more releases (of a namespace each), counted,
    /// not named (`netaudit reach --to` names them).
    More { releases: usize, workloads: usize },
    /// Addresses outside the cluster.
    Outside,
    /// Nodes (and hostNetwork pods).
    Nodes,
}

impl ExposureSource {
    fn words(&self) -> String {
        match self {
            ExposureSource::HostNetwork => "any pod and any host".to_string(),
            ExposureSource::AnyPod => "any pod in the cluster".to_string(),
            ExposureSource::Pods { pods: None, namespaces } => format!("any pod of namespaces `{namespaces}`"),
            ExposureSource::Pods {
                pods: Some(pods),
                namespaces,
            } => format!("pods `{pods}` of namespaces `{namespaces}`"),
            ExposureSource::Release { release, namespace } => {
                format!("pods of release `{release}` in namespace `{namespace}`")
            }
            ExposureSource::Workload { workload } => format!("`{workload}`"),
            ExposureSource::Workloads {
                release,
                namespace,
                count,
                of,
            } => format!(
                "{} of the {} of release `{release}` in namespace `{namespace}`",
                thousands(*count),
                words::count(*of, "workload", "workloads")
            ),
            ExposureSource::More { releases, workloads } => format!(
                "{} more {} of {} more {} (`netaudit reach --to` lists them)",
                thousands(*workloads),
                if *workloads == 1 { "workload" } else { "workloads" },
                thousands(*releases),
                if *releases == 1 { "release" } else { "releases" }
            ),
            ExposureSource::Outside => "addresses outside the cluster".to_string(),
            ExposureSource::Nodes => "the nodes".to_string(),
        }
    }
}

impl Exposure {
    /// A workload in the host's network: reachable whatever the policies.
    pub fn host_network(target: String) -> Exposure {
        Exposure {
            any_pod: true,
            sources: vec![ExposureSource::HostNetwork],
            policies: Vec::new(),
            notes: Vec::new(),
            target,
        }
    }

    /// The answer in words: "reachable from any pod in the cluster: no
    /// policy restricts ingress to it", "reachable only from pods of release
    /// `shop` in namespace `shop` (NetworkPolicy db)", "reachable from
    /// nobody: no policy allows port 9000/TCP".
    pub fn describe(&self) -> String {
        let by = |policies: &[String]| match policies {
            [] => String::new(),
            [one] => format!(" (allowed by {one})"),
            many => format!(" (allowed by {})", many.join(", ")),
        };
        let mut text = match self.sources.as_slice() {
            [] => format!("reachable from nobody: no policy allows {}", self.target),
            [ExposureSource::HostNetwork, ..] => {
                "reachable from any pod and any host: hostNetwork pods are outside every policy".to_string()
            }
            [ExposureSource::AnyPod, ..] if self.policies.is_empty() => {
                "reachable from any pod in the cluster: no policy restricts ingress to it".to_string()
            }
            [ExposureSource::AnyPod, ..] => {
                format!("reachable from any pod in the cluster{}", by(&self.policies))
            }
            sources => {
                let words: Vec<String> = sources.iter().map(ExposureSource::words).collect();
                format!("reachable only from {}{}", join_words(&words), by(&self.policies))
            }
        };
        for note in &self.notes {
            text.push_str("; ");
            text.push_str(note);
        }
        text
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(sources: Vec<ExposureSource>, policies: &[&str]) -> Exposure {
        Exposure {
            any_pod: false,
            sources,
            policies: policies.iter().map(|p| p.to_string()).collect(),
            notes: Vec::new(),
            target: "port 9000/TCP".into(),
        }
    }

    #[test]
    fn says_who_in_words() {
        assert_eq!(
            exposure(vec![], &["deny-all"]).describe(),
            "reachable from nobody: no policy allows port 9000/TCP"
        );
        assert_eq!(
            exposure(vec![ExposureSource::AnyPod], &[]).describe(),
            "reachable from any pod in the cluster: no policy restricts ingress to it"
        );
        assert_eq!(
            exposure(
                vec![ExposureSource::Release {
                    release: "shop".into(),
                    namespace: "shop".into()
                }],
                &["db"]
            )
            .describe(),
            "reachable only from pods of release `shop` in namespace `shop` (allowed by db)"
        );
        let counted = vec![
            ExposureSource::Workloads {
                release: "apps".into(),
                namespace: "ns-1".into(),
                count: 600,
                of: 1000,
            },
            ExposureSource::More {
                releases: 57,
                workloads: 4112,
            },
        ];
        assert_eq!(
            exposure(counted, &["db"]).describe(),
            "reachable only from 600 of the 1,000 workloads of release `apps` in namespace `ns-1` and 4,112 more workloads of 57 more releases (`netaudit reach --to` lists them) (allowed by db)"
        );
        let mut several = exposure(
            vec![
                ExposureSource::Pods {
                    pods: Some("app=prometheus".into()),
                    namespaces: "kubernetes.io/metadata.name=monitoring".into(),
                },
                ExposureSource::Workload {
                    workload: "Deployment/shop/web".into(),
                },
                ExposureSource::Outside,
            ],
            &["db", "metrics"],
        );
        several
            .notes
            .push("CiliumNetworkPolicy shop/l7: L7 rules not evaluated".into());
        assert_eq!(
            several.describe(),
            "reachable only from pods `app=prometheus` of namespaces `kubernetes.io/metadata.name=monitoring`, `Deployment/shop/web` and addresses outside the cluster (allowed by db, metrics); CiliumNetworkPolicy shop/l7: L7 rules not evaluated"
        );
        assert_eq!(
            Exposure::host_network("port 80/TCP".into()).describe(),
            "reachable from any pod and any host: hostNetwork pods are outside every policy"
        );
    }
}
