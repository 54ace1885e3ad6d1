//! How an input's text becomes objects: split into documents
//! (`documents.rs`), each parsed (`crate::yaml`) or only syntax-checked
//! depending on its kind and the [`Detail`] asked for, `List`s unpacked,
//! and why an input cannot be read (`LoadError`).

use super::documents::{split_documents, Chunk};
use super::input::Input;
use super::object::Object;
use crate::yaml::{self, Node, SyntaxError};

/// Why an input could not be read as Kubernetes manifests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}:{line}: {message}")]
pub struct LoadError {
    pub input: String,
    pub line: u32,
    pub message: String,
}

/// Kinds whose content is read only when [`Detail::WithConfiguration`] asks
/// for it (the podman sandbox and `fix` need them, the checks do not):
/// ConfigMaps are a large part of a real chart's bytes.
/// RoleBindings say which workloads talk to the API server; webhook
/// configurations and APIServices which ports the API server calls.
const CONFIGURATION_KINDS: &[&str] = &[
    "ConfigMap",
    "Secret",
    "Ingress",
    "RoleBinding",
    "ClusterRoleBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "IngressClass",
    "GatewayClass",
    "ServiceMonitor",
    "PodMonitor",
];

/// How much of the input to parse into objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// What the checks read (workloads, Services, NetworkPolicies, …); other
    /// kinds are only syntax-checked.
    Checks,
    /// Also ConfigMaps, Secrets, Ingresses, (Cluster)RoleBindings, webhook
    /// configurations, APIServices, and the CustomResourceDefinitions that
    /// name a conversion webhook.
    WithConfiguration,
}

/// Kinds whose content nothing reads: only their syntax is verified.
const IGNORED_KINDS: &[&str] = &[
    "CustomResourceDefinition",
    "ClusterRole",
    "Role",
    "ServiceAccount",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
];

/// Split `input.text` into documents and append the objects to `out`, and
/// the keys written twice in the documents the checks read to
/// `duplicates`. Returns how many non-empty documents the input had.
pub(super) fn load_objects(
    input_index: usize,
    input: &Input,
    detail: Detail,
    out: &mut Vec<Object>,
    duplicates: &mut Vec<yaml::DuplicateKey>,
) -> Result<usize, LoadError> {
    if input.text.len() > input.max_bytes {
        return Err(LoadError {
            input: input.name.clone(),
            line: 1,
            message: format!(
                "input is {} bytes, more than the {} byte limit (--max-input-size raises it)",
                input.text.len(),
                input.max_bytes
            ),
        });
    }
    if input.text.contains('\0') {
        return Err(LoadError {
            input: input.name.clone(),
            line: 1,
            message: "input contains NUL bytes: not a YAML text file".into(),
        });
    }
    let err = |e: SyntaxError| LoadError {
        input: input.name.clone(),
        line: e.line,
        message: format!("invalid YAML (column {}): {}", e.col, e.message),
    };
    let mut documents = 0;
    for chunk in split_documents(&input.text) {
        let top_kind = chunk.top_level_kind();
        let relevant = match top_kind {
            // A CRD is large; only the rare one with a conversion webhook matters.
            Some("CustomResourceDefinition") => {
                detail == Detail::WithConfiguration && chunk.text.contains("clientConfig")
            }
            Some(kind) if IGNORED_KINDS.contains(&kind) => false,
            Some(kind) if CONFIGURATION_KINDS.contains(&kind) => detail == Detail::WithConfiguration,
            Some(_) => true,
            // No top-level `kind:` line: parse it, to say precisely what is wrong.
            None => !chunk.is_blank(),
        };
        if !relevant {
            // Kinds no check reads are most of a chart's bytes (CRDs above
            // all): check their syntax only when helm has not already done so.
            if !input.rendered_by_helm {
                yaml::validate_syntax(chunk.text, chunk.first_line).map_err(err)?;
            }
            documents += usize::from(top_kind.is_some());
            continue;
        }
        let (docs, twice) = yaml::parse_documents_with_duplicates(chunk.text, chunk.first_line).map_err(err)?;
        duplicates.extend(twice);
        for doc in docs {
            if doc.is_null() {
                continue;
            }
            documents += 1;
            let kind = doc.get("kind").and_then(Node::scalar_text).unwrap_or("");
            let is_list = kind == "List" || (kind.ends_with("List") && doc.get("items").is_some_and(Node::is_seq));
            if !is_list {
                out.push(make_object(input_index, input, doc, &chunk)?);
                continue;
            }
            let yaml::Value::Map(entries) = doc.value else { continue };
            for (key, items) in entries {
                if key.text != "items" {
                    continue;
                }
                if let yaml::Value::Seq(items) = items.value {
                    for item in items.into_iter().filter(|i| !i.is_null()) {
                        out.push(make_object(input_index, input, item, &chunk)?);
                    }
                }
            }
        }
    }
    Ok(documents)
}

fn make_object(input_index: usize, input: &Input, node: Node, chunk: &Chunk<'_>) -> Result<Object, LoadError> {
    let not_k8s = |what: &str| LoadError {
        input: input.name.clone(),
        line: node.line,
        message: format!("not a Kubernetes object: {what}"),
    };
    if !node.is_map() {
        return Err(not_k8s("the document is not a mapping"));
    }
    let kind = node
        .get("kind")
        .and_then(Node::scalar_text)
        .ok_or_else(|| not_k8s("no `kind`"))?;
    let api_version = node
        .get("apiVersion")
        .and_then(Node::scalar_text)
        .ok_or_else(|| not_k8s("no `apiVersion`"))?;
    let metadata = node.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Node::scalar_text)
        .unwrap_or("");
    if name.is_empty() {
        return Err(not_k8s(&format!("{kind} without metadata.name")));
    }
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Node::scalar_text)
        .filter(|ns| !ns.is_empty())
        .unwrap_or(&input.default_namespace);
    Ok(Object {
        input: input_index,
        kind: kind.to_string(),
        api_version: api_version.to_string(),
        name: name.to_string(),
        namespace: namespace.to_string(),
        template: chunk.template.map(str::to_string),
        source_line: chunk.source_line,
        template_base: chunk.template_base,
        document: chunk.document,
        doc_lines: (
            if chunk.source_line > 0 {
                chunk.source_line + 1
            } else {
                chunk.first_line
            },
            chunk.first_line + chunk.text.lines().count().max(1) as u32 - 1,
        ),
        root: node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Manifests, Selector, Workload};

    fn load(text: &str) -> Result<Vec<Object>, LoadError> {
        let input = Input::new("t.yaml", "t", "default", text.to_string());
        let mut out = Vec::new();
        load_objects(0, &input, Detail::Checks, &mut out, &mut Vec::new()).map(|_| out)
    }

    #[test]
    fn counts_documents_including_skipped_kinds() {
        let input = Input::new(
            "t",
            "t",
            "default",
            "---\n# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n".into(),
        );
        assert_eq!(
            load_objects(0, &input, Detail::Checks, &mut Vec::new(), &mut Vec::new()),
            Ok(1)
        );
        let empty = Input::new("t", "t", "default", "\n---\n".into());
        assert_eq!(
            load_objects(0, &empty, Detail::Checks, &mut Vec::new(), &mut Vec::new()),
            Ok(0)
        );
    }

    #[test]
    fn source_comments_give_template_and_line() {
        let objs = load(
            "---\n# Source: shop/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n",
        )
        .unwrap();
        assert_eq!(objs.len(), 1);
        let svc = &objs[0];
        assert_eq!(svc.template.as_deref(), Some("shop/templates/svc.yaml"));
        let line = svc.root.path(&["spec", "selector"]).unwrap().line;
        assert_eq!(line, 8);
        assert_eq!(svc.location(line).template_line, Some(6));
        assert_eq!(svc.namespace, "default");
    }

    #[test]
    fn template_lines_count_through_a_templates_documents() {
        let objs = load(
            "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
        )
        .unwrap();
        // a.yaml rendered: 3 lines of `a`, a `---`, then `b` from line 5.
        assert_eq!(objs[1].location(objs[1].root.line).template_line, Some(5));
    }

    #[test]
    fn lists_contribute_items_and_empty_docs_are_skipped() {
        let objs = load("---\n---\n# just a comment\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n").unwrap();
        let ids: Vec<String> = objs.iter().map(Object::id).collect();
        assert_eq!(ids, ["Service/x/a", "Pod/default/b"]);
    }

    #[test]
    fn selectors_see_labels_controllers_add_to_pods() {
        let objs = load(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\nspec:\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: x}]}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: kafka}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: kafka}}\n  template:\n    metadata: {labels: {app: kafka}}\n    spec: {containers: [{name: c, image: x}]}\n",
        )
        .unwrap();
        let job = Workload::from_object(&objs[0]).unwrap();
        let sts = Workload::from_object(&objs[1]).unwrap();
        let sel = |pairs: &[(&str, &str)]| Selector {
            match_labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expressions: Vec::new(),
        };
        assert!(job.pods_selected_by(&sel(&[("job-name", "migrate"), ("app", "db")])));
        assert!(!job.pods_selected_by(&sel(&[("job-name", "other")])));
        assert!(sts.pods_selected_by(&sel(&[("statefulset.kubernetes.io/pod-name", "kafka-2")])));
        assert!(!sts.pods_selected_by(&sel(&[("statefulset.kubernetes.io/pod-name", "kafka-3")])));
        assert!(sts.pods_selected_by(&sel(&[("apps.kubernetes.io/pod-index", "1"), ("app", "kafka")])));
    }

    #[test]
    fn configuration_kinds_are_parsed_only_when_asked() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n";
        let input = Input::new("t", "t", "default", text.into());
        let mut checks_only = Vec::new();
        load_objects(0, &input, Detail::Checks, &mut checks_only, &mut Vec::new()).unwrap();
        assert!(checks_only.is_empty());
        let full = Manifests::load(vec![input], Detail::WithConfiguration).unwrap();
        let index = full.index();
        assert_eq!(index.config_maps.len(), 1);
        assert_eq!(index.config_maps[0].data, [("k".to_string(), "v".to_string())]);
    }

    #[test]
    fn non_kubernetes_yaml_is_an_error_with_line() {
        let err = load("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nfoo: bar\n").unwrap_err();
        assert_eq!(err.line, 5);
        assert!(err.message.contains("no `kind`"), "{err}");
    }

    #[test]
    fn broken_yaml_in_skipped_kinds_is_still_an_error() {
        let err = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: [unclosed\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{err}");
        assert!(err.line >= 4, "{err}");
    }
}
