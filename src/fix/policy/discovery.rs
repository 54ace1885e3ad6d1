//! Workloads whose peers are discovered at runtime: scrapers. Prometheus,
//! the OpenTelemetry collector's `prometheus` receiver and Grafana Agent
//! read `kubernetes_sd_configs` (YAML); Grafana Alloy reads
//! `discovery.kubernetes` blocks. They connect to whatever pods the API
//! server lists, in the namespaces their configuration names or in every
//! namespace, on ports known only once relabelled: no Service reference
//! says where they go.
//!
//! Log shippers' `kubernetes_sd_configs` (Promtail, Grafana Agent's `logs`)
//! find the files of the node's pods, not addresses: a mapping with
//! `positions` or `clients` (theirs) is not read.

use crate::yaml::{parse_documents, Node, Value};
use std::collections::BTreeSet;
use std::fmt;

/// What a workload's configuration says it scrapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scraping {
    /// Where the configuration is: "ConfigMap `prometheus-server` key prometheus.yml".
    pub place: String,
    /// The discovery roles: `pod`, `endpoints`, `service`, `node`, …
    pub roles: BTreeSet<String>,
    /// The namespaces of its targets; `None`: every namespace.
    pub namespaces: Option<BTreeSet<String>>,
}

impl Scraping {
    /// Whether it also scrapes nodes (role `node`: the kubelets' addresses).
    pub fn scrapes_nodes(&self) -> bool {
        self.roles.contains("node")
    }

    /// Whether it scrapes pods (every role but `node`).
    pub fn scrapes_pods(&self) -> bool {
        self.roles.iter().any(|r| r != "node")
    }

    /// "pods of every namespace", "pods of namespaces a, b".
    pub fn targets(&self) -> String {
        match &self.namespaces {
            None => "pods of every namespace".into(),
            Some(names) => format!(
                "pods of namespace{} {}",
                if names.len() == 1 { "" } else { "s" },
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

impl fmt::Display for Scraping {
    /// "kubernetes_sd_configs roles endpoints, pod in ConfigMap `x` key y (no namespace limit)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roles: Vec<&str> = self.roles.iter().map(String::as_str).collect();
        write!(
            f,
            "Kubernetes service discovery (role{} {}) in {}",
            if roles.len() == 1 { "" } else { "s" },
            roles.join(", "),
            self.place
        )?;
        if self.namespaces.is_none() {
            f.write_str(", with no namespace limit")?;
        }
        Ok(())
    }
}

/// What the texts of a workload (see `texts::referring_texts`) say it
/// scrapes, all its configurations together; `own_namespace` is the
/// workload's. `None`: it discovers nothing.
pub(super) fn scraping(texts: &[(String, String)], own_namespace: &str) -> Option<Scraping> {
    let mut found: Option<Scraping> = None;
    for (place, text) in texts {
        let mut configs = Vec::new();
        if text.contains("kubernetes_sd_configs") {
            for document in parse_documents(text, 1).unwrap_or_default() {
                sd_configs(&document, &mut configs);
            }
        }
        if text.contains("discovery.kubernetes") {
            alloy_blocks(text, &mut configs);
        }
        for config in configs {
            let namespaces = match config.namespaces {
                Namespaces::Every => None,
                Namespaces::Named { names, own } => {
                    let mut names = names;
                    if own {
                        names.insert(own_namespace.to_string());
                    }
                    Some(names)
                }
            };
            let scraping = found.get_or_insert_with(|| Scraping {
                place: place.clone(),
                roles: BTreeSet::new(),
                namespaces: Some(BTreeSet::new()),
            });
            scraping.roles.insert(config.role);
            scraping.namespaces = match (scraping.namespaces.take(), namespaces) {
                (Some(mut all), Some(names)) => {
                    all.extend(names);
                    Some(all)
                }
                _ => None,
            };
        }
    }
    found
}

/// One discovery configuration: a role and the namespaces it lists.
struct SdConfig {
    role: String,
    namespaces: Namespaces,
}

enum Namespaces {
    Every,
    Named { names: BTreeSet<String>, own: bool },
}

/// Every item of every `kubernetes_sd_configs` list below `node`, except
/// under a log shipper's mapping.
fn sd_configs(node: &Node, out: &mut Vec<SdConfig>) {
    match &node.value {
        Value::Map(entries) => {
            if entries
                .iter()
                .any(|(k, _)| k.text == "positions" || k.text == "clients")
            {
                return;
            }
            for (key, child) in entries {
                if key.text == "kubernetes_sd_configs" {
                    out.extend(child.as_seq().iter().map(sd_config));
                } else {
                    sd_configs(child, out);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|item| sd_configs(item, out)),
        _ => {}
    }
}

fn sd_config(item: &Node) -> SdConfig {
    let role = item
        .get("role")
        .and_then(Node::scalar_text)
        .unwrap_or("pod")
        .to_string();
    let namespaces = match item.get("namespaces") {
        None => Namespaces::Every,
        Some(limit) => {
            let names: BTreeSet<String> = limit
                .get("names")
                .map(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::scalar_text)
                .map(str::to_string)
                .collect();
            let own = limit.get("own_namespace").and_then(Node::scalar_text) == Some("true");
            if names.is_empty() && !own {
                Namespaces::Every
            } else {
                Namespaces::Named { names, own }
            }
        }
    };
    SdConfig { role, namespaces }
}

/// Grafana Alloy's `discovery.kubernetes "NAME" { role = "pod" namespaces
/// { names = ["a"] own_namespace = true } }` blocks of a configuration text.
fn alloy_blocks(text: &str, out: &mut Vec<SdConfig>) {
    let mut rest = text;
    while let Some(start) = rest.find("discovery.kubernetes") {
        rest = &rest[start + "discovery.kubernetes".len()..];
        // A block starts with its label; `discovery.kubernetes.pods.targets` is a use.
        if !rest.trim_start().starts_with('"') {
            continue;
        }
        let Some(open) = rest.find('{') else {
            return;
        };
        let body = block(&rest[open..]);
        rest = &rest[open + body.len()..];
        let role = quoted_after(body, "role").unwrap_or("pod").to_string();
        let namespaces = match body.find("namespaces") {
            None => Namespaces::Every,
            Some(at) => {
                let limit = block(&body[at..]);
                let names: BTreeSet<String> = limit
                    .find("names")
                    .and_then(|n| {
                        let list = &limit[n..];
                        let (open, close) = (list.find('[')?, list.find(']')?);
                        (open < close).then(|| list[open + 1..close].to_string())
                    })
                    .map(|list| {
                        list.split(',')
                            .map(|n| n.trim().trim_matches('"').to_string())
                            .filter(|n| !n.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                let own = limit.contains("own_namespace") && limit.contains("true");
                if names.is_empty() && !own {
                    Namespaces::Every
                } else {
                    Namespaces::Named { names, own }
                }
            }
        };
        out.push(SdConfig { role, namespaces });
    }
}

/// From the first `{` of `text` to its matching `}` (or the end).
fn block(text: &str) -> &str {
    let Some(open) = text.find('{') else {
        return "";
    };
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..open + i + 1];
                }
            }
            _ => {}
        }
    }
    text
}

/// The quoted value of `key = "value"` in `text`.
fn quoted_after<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let at = text.find(key)?;
    let rest = text[at + key.len()..].trim_start().strip_prefix('=')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.split('"').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scraping_of(text: &str) -> Option<Scraping> {
        scraping(&[("ConfigMap `c` key k".into(), text.into())], "monitoring")
    }

    #[test]
    fn prometheus_scrape_configs_without_a_namespace_limit_scrape_everywhere() {
        let prometheus = "global: {scrape_interval: 1m}\nscrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs:\n      - role: pod\n  - job_name: nodes\n    kubernetes_sd_configs: [{role: node}]\n  - job_name: static\n    static_configs: [{targets: ['localhost:9090']}]\n";
        let found = scraping_of(prometheus).unwrap();
        assert_eq!(found.namespaces, None);
        assert_eq!(found.roles, BTreeSet::from(["node".into(), "pod".into()]));
        assert!(found.scrapes_nodes() && found.scrapes_pods());
        assert_eq!(
            found.to_string(),
            "Kubernetes service discovery (roles node, pod) in ConfigMap `c` key k, with no namespace limit"
        );
    }

    #[test]
    fn namespace_limits_add_up_and_own_namespace_is_the_workloads() {
        let limited = "scrape_configs:\n  - kubernetes_sd_configs:\n      - role: endpoints\n        namespaces: {names: [shop, db]}\n      - role: pod\n        namespaces: {own_namespace: true}\n";
        let found = scraping_of(limited).unwrap();
        assert_eq!(
            found.namespaces,
            Some(BTreeSet::from(["db".into(), "monitoring".into(), "shop".into()]))
        );
        assert_eq!(found.targets(), "pods of namespaces db, monitoring, shop");
        // One unlimited configuration makes the whole workload unlimited.
        let mixed = format!("{limited}  - kubernetes_sd_configs: [{{role: service}}]\n");
        assert_eq!(scraping_of(&mixed).unwrap().namespaces, None);
    }

    #[test]
    fn an_opentelemetry_receiver_is_read_and_a_log_shipper_is_not() {
        let otel = "receivers:\n  prometheus:\n    config:\n      scrape_configs:\n        - job_name: k8s\n          kubernetes_sd_configs: [{role: pod, namespaces: {names: [apps]}}]\nexporters: {debug: {}}\n";
        assert_eq!(
            scraping_of(otel).unwrap().namespaces,
            Some(BTreeSet::from(["apps".into()]))
        );
        let promtail = "server: {http_listen_port: 3101}\npositions: {filename: /run/positions.yaml}\nclients: [{url: 'http://loki:3100/loki/api/v1/push'}]\nscrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs: [{role: pod}]\n";
        assert_eq!(scraping_of(promtail), None);
        assert_eq!(scraping_of("kubernetes_sd_configs is only mentioned here"), None);
        assert_eq!(scraping_of("not: [yaml"), None);
    }

    #[test]
    fn alloy_discovery_blocks_are_read() {
        let alloy = "discovery.kubernetes \"pods\" {\n  role = \"pod\"\n  namespaces {\n    names = [\"shop\", \"db\"]\n  }\n}\ndiscovery.kubernetes \"nodes\" {\n  role = \"node\"\n}\nprometheus.scrape \"x\" { targets = discovery.kubernetes.pods.targets }\n";
        let found = scraping_of(alloy).unwrap();
        assert_eq!(found.roles, BTreeSet::from(["node".into(), "pod".into()]));
        // The `nodes` block has no namespace limit.
        assert_eq!(found.namespaces, None);
        let limited = "discovery.kubernetes \"pods\" {\n  role = \"endpoints\"\n  namespaces {\n    own_namespace = true\n  }\n}\n";
        let found = scraping_of(limited).unwrap();
        assert_eq!(found.namespaces, Some(BTreeSet::from(["monitoring".into()])));
        assert_eq!(found.roles, BTreeSet::from(["endpoints".into()]));
    }
}
