//! Rendered manifests -> Kubernetes objects that remember their source.
//!
//! An [`Input`] is one rendered release (a chart rendered by helm, a file of
//! manifests, stdin). It is split into documents, each document keeps Helm's
//! `# Source:` comment, and the objects the checks care about are parsed into
//! a line-aware tree. [`Index`] holds the typed views checks work on.

pub mod objects;
pub mod selector;
pub mod yaml;

pub use objects::{Container, ContainerPort, NetworkPolicy, Service, ServicePort, TargetPort, Workload};
pub use selector::{Labels, Selector};

use std::path::PathBuf;
use yaml::{Node, SyntaxError};

/// Inputs larger than this are refused before parsing. The largest chart of
/// a 419-chart corpus of real charts renders to 2 MB; 32 MiB is far beyond any
/// real release and keeps a hostile input from costing gigabytes of memory.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

/// One rendered release.
#[derive(Debug, Clone)]
pub struct Input {
    /// What the user named: a chart reference, a file path or `<stdin>`.
    pub name: String,
    /// Release name (for charts) or the file's stem: what the summary calls a row
    /// and what M4G compares.
    pub release: String,
    /// Local chart directory, when the input is a chart on disk: template
    /// paths are resolved against it for SARIF.
    pub chart_dir: Option<PathBuf>,
    /// The namespace of objects that do not set one.
    pub default_namespace: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Values keys (from the chart's values.yaml) that ship a NetworkPolicy switched off.
    pub netpol_toggles: Vec<ValuesToggle>,
    /// Output of `helm template`: helm has already parsed every document
    /// (it fails on invalid YAML), and an empty render is legitimate (a chart
    /// whose values switch everything off).
    pub rendered_by_helm: bool,
}

/// A values key such as `networkPolicy.enabled` set to false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesToggle {
    pub path: String,
    pub file: String,
    pub line: u32,
}

impl Input {
    pub fn new(
        name: impl Into<String>,
        release: impl Into<String>,
        namespace: impl Into<String>,
        text: String,
    ) -> Input {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Input {
            name: name.into(),
            release: release.into(),
            chart_dir: None,
            default_namespace: namespace.into(),
            text,
            line_starts,
            netpol_toggles: Vec::new(),
            rendered_by_helm: false,
        }
    }

    /// No document at all: only blank lines, comments and separators.
    pub fn is_blank(&self) -> bool {
        self.text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        })
    }

    /// Byte range of a 1-based line, without its newline.
    pub fn line_span(&self, line: u32) -> (usize, usize) {
        let idx = (line.max(1) - 1) as usize;
        let start = self.line_starts.get(idx).copied().unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(idx + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len())
            .max(start);
        (start, end)
    }

    /// Byte span of the non-blank part of a line (what a diagnostic underlines).
    pub fn trimmed_line_span(&self, line: u32) -> (usize, usize) {
        let (start, end) = self.line_span(line);
        let text = &self.text[start..end];
        let lead = text.len() - text.trim_start().len();
        let len = text.trim().len();
        (start + lead, len)
    }
}

/// Where something is: the line in the rendered input, and the chart template
/// plus the line inside that template's rendered document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub input: usize,
    pub line: u32,
    pub template: Option<String>,
    pub template_line: Option<u32>,
}

/// One Kubernetes object from the rendered manifests.
#[derive(Debug, Clone)]
pub struct Object {
    pub input: usize,
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub namespace: String,
    pub root: Node,
    /// Helm's `# Source:` path, e.g. `shop/templates/api.yaml`.
    pub template: Option<String>,
    /// Line of the `# Source:` comment (0 when there is none).
    source_line: u32,
    /// Lines of the same template's earlier documents (a template file may
    /// render several): template lines count through all of them.
    template_base: u32,
    /// First and last line of this object's document: the lines a report may
    /// show (from the line after `# Source:`).
    pub doc_lines: (u32, u32),
    /// 0-based index of the object's YAML document in the input.
    pub document: usize,
}

impl Object {
    /// `Kind/namespace/name`: how findings and waivers name objects.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }

    pub fn location(&self, line: u32) -> Location {
        Location {
            input: self.input,
            line,
            template: self.template.clone(),
            template_line: self
                .template
                .as_ref()
                .map(|_| line.saturating_sub(self.source_line) + self.template_base),
        }
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.root.path(&["metadata", "annotations", key])?.scalar_text()
    }

    /// Helm test hooks are not part of the running application.
    pub fn is_helm_test_hook(&self) -> bool {
        self.annotation("helm.sh/hook")
            .is_some_and(|hooks| hooks.split(',').any(|h| h.trim().starts_with("test")))
    }
}

/// Why an input could not be read as Kubernetes manifests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}:{line}: {message}")]
pub struct LoadError {
    pub input: String,
    pub line: u32,
    pub message: String,
}

/// Kinds whose content no check reads: only their syntax is verified.
const IGNORED_KINDS: &[&str] = &[
    "CustomResourceDefinition",
    "ConfigMap",
    "Secret",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "Namespace",
    "Ingress",
    "IngressClass",
];

/// Split `input.text` into documents and append the objects to `out`.
/// Returns how many non-empty documents the input had.
pub fn load_objects(input_index: usize, input: &Input, out: &mut Vec<Object>) -> Result<usize, LoadError> {
    if input.text.len() > MAX_INPUT_BYTES {
        return Err(LoadError {
            input: input.name.clone(),
            line: 1,
            message: format!(
                "input is {} bytes, more than the {} byte limit",
                input.text.len(),
                MAX_INPUT_BYTES
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
    for (document, chunk) in split_documents(&input.text).into_iter().enumerate() {
        let chunk = Chunk { document, ..chunk };
        let top_kind = chunk.top_level_kind();
        let relevant = match top_kind {
            Some(kind) if IGNORED_KINDS.contains(&kind) => false,
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
        let docs = yaml::parse_documents(chunk.text, chunk.first_line).map_err(err)?;
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

/// Objects of the given kinds only, including kinds [`load_objects`] skips
/// (the podman backend needs the ConfigMaps and Secrets no check reads).
pub fn load_objects_of_kinds(input_index: usize, input: &Input, kinds: &[&str]) -> Result<Vec<Object>, LoadError> {
    let mut out = Vec::new();
    for (document, chunk) in split_documents(&input.text).into_iter().enumerate() {
        if !chunk.top_level_kind().is_some_and(|k| kinds.contains(&k)) {
            continue;
        }
        let chunk = Chunk { document, ..chunk };
        let docs = yaml::parse_documents(chunk.text, chunk.first_line).map_err(|e| LoadError {
            input: input.name.clone(),
            line: e.line,
            message: format!("invalid YAML (column {}): {}", e.col, e.message),
        })?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            out.push(make_object(input_index, input, doc, &chunk)?);
        }
    }
    Ok(out)
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

/// One YAML document of a multi-document text.
struct Chunk<'a> {
    text: &'a str,
    first_line: u32,
    template: Option<&'a str>,
    source_line: u32,
    template_base: u32,
    document: usize,
}

impl<'a> Chunk<'a> {
    fn lines(&self) -> impl Iterator<Item = &'a str> {
        self.text.lines()
    }

    /// The value of a `kind:` line at column 0, without parsing.
    fn top_level_kind(&self) -> Option<&'a str> {
        self.lines().find_map(|l| {
            let rest = l.strip_prefix("kind:")?;
            let value = rest
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            Some(value)
        })
    }

    fn is_blank(&self) -> bool {
        self.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        })
    }
}

/// Split at `---` lines. A `---` at column 0 always ends a document in YAML
/// (block scalars of a document's content are indented), so this is exact
/// and lets each document be parsed, or skipped, on its own.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks: Vec<Chunk<'_>> = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    let mut template: Option<&str> = None;
    let mut source_line = 0u32;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare == "---" || bare.starts_with("--- ") || bare == "...";
        if is_separator && offset > start {
            chunks.push(Chunk {
                text: &text[start..offset],
                first_line: start_line,
                template,
                source_line,
                template_base: 0,
                document: 0,
            });
            start = offset;
            start_line = line_no;
            template = None;
            source_line = 0;
        }
        if let Some(path) = bare.strip_prefix("# Source: ") {
            if template.is_none() {
                template = Some(path.trim());
                source_line = line_no;
            }
        }
        offset += line.len();
    }
    if offset > start {
        chunks.push(Chunk {
            text: &text[start..offset],
            first_line: start_line,
            template,
            source_line,
            template_base: 0,
            document: 0,
        });
    }
    // Helm renders a template file to one text and writes each of its
    // documents with its own `# Source:`; count a template's lines across them
    // (plus one per `---` between them), so template lines match the file's.
    let mut seen: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for chunk in &mut chunks {
        let Some(template) = chunk.template else { continue };
        let base = seen.entry(template).or_insert(0);
        chunk.template_base = *base;
        let content_lines =
            (chunk.first_line + chunk.text.lines().count() as u32).saturating_sub(chunk.source_line + 1);
        *base += content_lines + 1;
    }
    chunks
}

/// All objects of all inputs, and the typed views the checks use.
pub struct Index<'a> {
    pub inputs: &'a [Input],
    pub objects: &'a [Object],
    pub workloads: Vec<Workload<'a>>,
    pub services: Vec<Service<'a>>,
    pub policies: Vec<NetworkPolicy<'a>>,
    /// What `install --probe` observed; `None` for a static audit, and then
    /// the runtime checks find nothing.
    pub runtime: Option<&'a crate::probe::Observations>,
}

impl<'a> Index<'a> {
    pub fn new(inputs: &'a [Input], objects: &'a [Object]) -> Index<'a> {
        let analysed = || objects.iter().filter(|o| !o.is_helm_test_hook());
        Index {
            inputs,
            objects,
            workloads: analysed().filter_map(Workload::from_object).collect(),
            services: analysed().filter_map(Service::from_object).collect(),
            policies: analysed().filter_map(NetworkPolicy::from_object).collect(),
            runtime: None,
        }
    }

    /// The release an object belongs to (its input).
    pub fn release_of(&self, object: &Object) -> &str {
        &self.inputs[object.input].release
    }

    /// Workloads of one namespace.
    pub fn workloads_in<'s>(&'s self, namespace: &'s str) -> impl Iterator<Item = &'s Workload<'a>> + 's {
        self.workloads.iter().filter(move |w| w.obj.namespace == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Object>, LoadError> {
        let input = Input::new("t.yaml", "t", "default", text.to_string());
        let mut out = Vec::new();
        load_objects(0, &input, &mut out).map(|_| out)
    }

    #[test]
    fn counts_documents_including_skipped_kinds() {
        let input = Input::new(
            "t",
            "t",
            "default",
            "---\n# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n".into(),
        );
        assert_eq!(load_objects(0, &input, &mut Vec::new()), Ok(1));
        let empty = Input::new("t", "t", "default", "\n---\n".into());
        assert_eq!(load_objects(0, &empty, &mut Vec::new()), Ok(0));
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
