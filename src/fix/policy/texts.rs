//! The texts in which a workload may name the Services it talks to, and the
//! host names in them.

use crate::model::selector::labels_of_object;
use crate::model::{Index, Workload};
use crate::yaml::Node;
use std::collections::BTreeMap;

/// Where configuration comes from.
#[derive(Clone, Copy)]
enum Store {
    ConfigMap,
    Secret,
}

impl Store {
    fn kind(self) -> &'static str {
        match self {
            Store::ConfigMap => "ConfigMap",
            Store::Secret => "Secret",
        }
    }

    /// The `(key, value)` pairs of the object `name` a pod of `workload` reads.
    fn data<'i>(self, index: &'i Index<'_>, workload: &Workload<'_>, name: &str) -> &'i [(String, String)] {
        match self {
            Store::ConfigMap => index.config_map(name, workload.obj).map(|c| c.data.as_slice()),
            Store::Secret => index.secret(name, workload.obj).map(|s| s.data.as_slice()),
        }
        .unwrap_or_default()
    }
}

/// Texts where a workload may name the Services it talks to, with where
/// each comes from: env values (with `$(VAR)` references expanded, as the
/// kubelet does), args and commands of every container, and the keys of
/// the ConfigMaps and Secrets it reads (env, `envFrom`, volumes and
/// projected volumes; only the `items` a volume selects).
pub(super) fn referring_texts(index: &Index<'_>, workload: &Workload<'_>) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    let spec = workload.pod_spec;
    let add_store = |texts: &mut Vec<(String, String)>, store: Store, name: &str, keys: Option<Vec<&str>>| {
        for (key, value) in store.data(index, workload, name) {
            if keys.as_ref().is_none_or(|keys| keys.contains(&key.as_str())) {
                texts.push((format!("{} `{name}` key {key}", store.kind()), value.clone()));
            }
        }
    };
    let containers = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::as_seq).unwrap_or_default());
    for c in containers {
        let cname = c.get("name").and_then(Node::scalar_text).unwrap_or("");
        let variables = variables(index, workload, c);
        for env in c.get("env").map(Node::as_seq).unwrap_or_default() {
            let name = env.get("name").and_then(Node::scalar_text).unwrap_or("");
            if names_no_host(name) {
                continue;
            }
            if let Some(value) = env.get("value").and_then(Node::scalar_text) {
                texts.push((format!("env {name} of container `{cname}`"), expand(value, &variables)));
            }
            for (store, field) in [(Store::ConfigMap, "configMapKeyRef"), (Store::Secret, "secretKeyRef")] {
                if let Some(r) = env.path(&["valueFrom", field]) {
                    if let Some(object) = r.get("name").and_then(Node::scalar_text) {
                        let key = r.get("key").and_then(Node::scalar_text);
                        add_store(&mut texts, store, object, key.map(|k| vec![k]));
                    }
                }
            }
        }
        for field in ["command", "args"] {
            for arg in c.get(field).map(Node::as_seq).unwrap_or_default() {
                if let Some(text) = arg.scalar_text() {
                    texts.push((format!("the {field} of container `{cname}`"), expand(text, &variables)));
                }
            }
        }
        for from in c.get("envFrom").map(Node::as_seq).unwrap_or_default() {
            for (store, field) in [(Store::ConfigMap, "configMapRef"), (Store::Secret, "secretRef")] {
                if let Some(object) = from.path(&[field, "name"]).and_then(Node::scalar_text) {
                    add_store(&mut texts, store, object, None);
                }
            }
        }
    }
    for c in ["containers", "initContainers"]
        .iter()
        .flat_map(|k| spec.get(k).map(Node::as_seq).unwrap_or_default())
    {
        sidecar_texts(index, workload, c, &mut texts);
    }
    let sources = spec
        .get("volumes")
        .map(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .flat_map(|volume| {
            let projected = volume
                .path(&["projected", "sources"])
                .map(Node::as_seq)
                .unwrap_or_default();
            std::iter::once(volume).chain(projected)
        });
    for source in sources {
        let stores = [
            (Store::ConfigMap, "configMap", "name"),
            (Store::Secret, "secret", "secretName"),
            (Store::Secret, "secret", "name"),
        ];
        for (store, field, name_field) in stores {
            let Some(volume) = source.get(field) else {
                continue;
            };
            if let Some(object) = volume.get(name_field).and_then(Node::scalar_text) {
                let keys = volume.get("items").map(|items| {
                    items
                        .as_seq()
                        .iter()
                        .filter_map(|item| item.get("key").and_then(Node::scalar_text))
                        .collect()
                });
                add_store(&mut texts, store, object, keys);
            }
        }
    }
    texts
}

/// The ConfigMaps and Secrets a configuration sidecar loads by label: the
/// `k8s-sidecar` convention (Grafana's datasource and dashboard sidecars,
/// and many others) of env `LABEL` (and optionally `LABEL_VALUE`),
/// `RESOURCE` (`configmap`, `secret` or `both`; the default is
/// `configmap`) and `NAMESPACE` (`ALL` or a comma-separated list; the
/// default is the pod's own). Their keys are the workload's configuration
/// as much as a mounted ConfigMap's: Grafana's datasource URLs are there.
fn sidecar_texts(index: &Index<'_>, workload: &Workload<'_>, container: &Node, texts: &mut Vec<(String, String)>) {
    let env: BTreeMap<&str, &str> = container
        .get("env")
        .map(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.get("name")?.scalar_text()?, e.get("value")?.scalar_text()?)))
        .collect();
    let Some(label) = env.get("LABEL").filter(|l| !l.is_empty()) else {
        return;
    };
    let value = env.get("LABEL_VALUE");
    let resource = env.get("RESOURCE").map_or("configmap", |r| r.trim());
    let namespaces: Option<Vec<&str>> = match env.get("NAMESPACE").map(|n| n.trim()) {
        Some("ALL") => None,
        Some(list) if !list.is_empty() => Some(list.split(',').map(str::trim).collect()),
        _ => Some(vec![workload.obj.namespace.as_str()]),
    };
    let cname = container.get("name").and_then(Node::scalar_text).unwrap_or("");
    let loads = |object: &crate::model::Object| {
        namespaces
            .as_ref()
            .is_none_or(|n| n.contains(&object.namespace.as_str()))
            && labels_of_object(object)
                .get(label)
                .is_some_and(|v| value.is_none_or(|want| v == want))
    };
    let mut add = |kind: &str, object: &crate::model::Object, data: &[(String, String)]| {
        for (key, text) in data {
            texts.push((
                format!(
                    "{kind} `{}` key {key} (loaded by container `{cname}` for its label {label})",
                    object.name
                ),
                text.clone(),
            ));
        }
    };
    if matches!(resource, "configmap" | "both") {
        for config_map in index.config_maps.iter().filter(|c| loads(c.obj)) {
            add("ConfigMap", config_map.obj, &config_map.data);
        }
    }
    if matches!(resource, "secret" | "both") {
        for secret in index.secrets.iter().filter(|s| loads(s.obj)) {
            add("Secret", secret.obj, &secret.data);
        }
    }
}

/// A container's environment as far as the manifests know it: literal
/// values and the ConfigMap and Secret keys it reads, by variable name.
fn variables(index: &Index<'_>, workload: &Workload<'_>, container: &Node) -> BTreeMap<String, String> {
    let mut variables = BTreeMap::new();
    for env in container.get("env").map(Node::as_seq).unwrap_or_default() {
        let Some(name) = env.get("name").and_then(Node::scalar_text) else {
            continue;
        };
        let value = env
            .get("value")
            .and_then(Node::scalar_text)
            .map(str::to_string)
            .or_else(|| {
                [(Store::ConfigMap, "configMapKeyRef"), (Store::Secret, "secretKeyRef")]
                    .into_iter()
                    .find_map(|(store, field)| {
                        let r = env.path(&["valueFrom", field])?;
                        let object = r.get("name").and_then(Node::scalar_text)?;
                        let key = r.get("key").and_then(Node::scalar_text)?;
                        let data = store.data(index, workload, object);
                        data.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
                    })
            });
        if let Some(value) = value {
            variables.insert(name.to_string(), value);
        }
    }
    variables
}

/// `$(VAR)` replaced by the variable's value where it is known (`$$(VAR)`
/// escapes, as in Kubernetes); unknown references stay as they are.
fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        let escaped = rest[..start].ends_with('$');
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) if !escaped => {
                let name = &after[..end];
                match variables.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether an environment variable's name says its value is not an
/// address (`POSTGRES_DB`, `MYSQL_DATABASE`, `REPMGR_NODE_NAME`,
/// `DEFAULT_SHUTDOWN_IMAGE`): a database, user or image named like a
/// Service is not a reference to it.
fn names_no_host(variable: &str) -> bool {
    const NOT_ADDRESSES: [&str; 18] = [
        "NAME", "USER", "DBUSER", "USERNAME", "PASSWORD", "PASSWD", "PASS", "DBPASS", "SECRET", "TOKEN", "KEY",
        "DATABASE", "DBNAME", "DB", "IMAGE", "PATH", "DIR", "FILE",
    ];
    let upper = variable.to_ascii_uppercase();
    let last = upper.rsplit(['_', '.', '-']).next().unwrap_or(&upper);
    NOT_ADDRESSES.contains(&last)
}

/// Host-name-like tokens of a text: runs of letters, digits, `-`, `.` (and
/// `_`, which no host name has, so `db_host` is not read as `db`), in the
/// places a host can be. The text is cut into words (at blanks, quotes,
/// `=`, `,`, `;` and brackets); a word that starts with `/` is a file path
/// (`/opt/bitnami/wordpress` names no Service), and of a URL only the
/// authority counts: `http://db.shop:5432/x` gives `db.shop` and `5432`.
/// `ns/svc` stays two tokens (`--default-backend-service=ns/svc`).
pub(super) fn hostnames(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || "\"'`=,;()[]{}<>".contains(c))
        .filter(|word| !word.starts_with('/'))
        .map(|word| match word.split_once("://") {
            Some((_, rest)) => rest.split('/').next().unwrap_or_default(),
            None => word,
        })
        .flat_map(|word| word.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_references_expand_like_the_kubelet() {
        let variables = BTreeMap::from([("COLLECTOR".to_string(), "otel-collector".to_string())]);
        assert_eq!(
            expand("http://$(COLLECTOR):4318/v1", &variables),
            "http://otel-collector:4318/v1"
        );
        assert_eq!(
            expand("$(UNKNOWN) and $$(COLLECTOR)", &variables),
            "$(UNKNOWN) and $$(COLLECTOR)"
        );
        assert_eq!(
            expand("unterminated $(COLLECTOR", &variables),
            "unterminated $(COLLECTOR"
        );
        assert_eq!(expand("no reference", &variables), "no reference");
    }
}
