//! Rendered manifests -> Kubernetes objects that remember their source.
//!
//! An [`Input`] is one rendered release (a chart rendered by helm, a file of
//! manifests, stdin). It is split into documents, each document keeps Helm's
//! `# Source:` comment, and the objects the checks care about are parsed into
//! a line-aware tree. [`Index`] holds the typed views checks work on.

pub mod config_objects;
pub(crate) mod documents;
pub mod exposure;
mod input;
pub mod lookup;
pub mod malformed;
pub mod objects;
pub mod operated;
pub mod parallel;
pub mod platform_objects;
pub mod policy;
pub mod runtime;
pub mod scope;
pub mod secrets;
pub mod selector;
pub mod terminal;

pub use config_objects::{BackendPort, ConfigMap, Ingress, Secret};
pub use exposure::{Exposure, ExposureSource};
pub use input::{Input, ValuesToggle};
pub use lookup::{Collision, PodLookup, ServiceSelection};
pub use objects::{Container, ContainerPort, PodPick, Service, ServicePort, TargetPort, Workload};
pub use operated::{control_plane_pods, ControlPlanePods, CustomResource, Promise};
pub use platform_objects::{Monitor, MonitorPort, MonitorTargets, RoutingClass, ServiceAccountBinding, WebhookTarget};
pub use policy::{
    Action, Entity, Flavor, Matcher, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope, PortMatch,
    Problem, Side,
};
pub use runtime::{
    AttributedSocket, Evidence, Observations, OpenSocket, PodSockets, PodStatus, PortKey, ProbeReport, ProbeTimings,
    ProcessName, Protocol, RunPorts, WorkloadRef,
};
pub use selector::{Labels, Selector};

use documents::{split_documents, Chunk};

use crate::yaml::{self, Node, SyntaxError};

/// Inputs larger than this are refused before parsing. The largest chart of
/// a 419-chart corpus of real charts renders to 2 MB; 32 MiB is far beyond any
/// real release and keeps a hostile input from costing gigabytes of memory.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

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

    /// The object as a [`WorkloadRef`] (kind, namespace, name).
    pub fn reference(&self) -> WorkloadRef {
        WorkloadRef {
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// Whether the rendered object sets `metadata.namespace` itself (else it
    /// goes wherever it is installed).
    pub fn sets_namespace(&self) -> bool {
        self.root.path(&["metadata", "namespace"]).is_some()
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
fn load_objects(
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

/// Every input of one run and the objects parsed from them.
#[derive(Debug)]
pub struct Manifests {
    pub inputs: Vec<Input>,
    pub objects: Vec<Object>,
    /// Inputs without a single Kubernetes object (empty, or only comments
    /// and separators): not an error (a chart may render nothing with some
    /// values, a pipeline may pass an empty file), but worth a warning.
    pub empty_inputs: Vec<usize>,
    /// Keys written twice in one mapping, by input: the checks read the
    /// last, as Kubernetes does, and the report warns.
    pub duplicate_keys: Vec<(usize, yaml::DuplicateKey)>,
}

impl Manifests {
    /// Parse every input, several at once on a machine with several cores;
    /// an error is the first input's in order, as if parsed one by one.
    pub fn load(inputs: Vec<Input>, detail: Detail) -> Result<Manifests, LoadError> {
        let parsed = parallel::map_in_order(&inputs, |i, input| {
            let (mut objects, mut duplicates) = (Vec::new(), Vec::new());
            load_objects(i, input, detail, &mut objects, &mut duplicates)
                .map(|documents| (objects, duplicates, documents))
        });
        let mut objects = Vec::new();
        let mut empty_inputs = Vec::new();
        let mut duplicate_keys = Vec::new();
        for (i, result) in parsed.into_iter().enumerate() {
            let (mut of_input, twice, documents) = result?;
            if documents == 0 {
                empty_inputs.push(i);
            }
            objects.append(&mut of_input);
            duplicate_keys.extend(twice.into_iter().map(|key| (i, key)));
        }
        Ok(Manifests {
            inputs,
            objects,
            empty_inputs,
            duplicate_keys,
        })
    }

    /// `other`'s inputs and objects after this one's, as if all had been
    /// loaded together.
    pub fn append(&mut self, mut other: Manifests) {
        let offset = self.inputs.len();
        for object in &mut other.objects {
            object.input += offset;
        }
        self.empty_inputs.extend(other.empty_inputs.iter().map(|i| i + offset));
        self.duplicate_keys
            .extend(other.duplicate_keys.into_iter().map(|(i, key)| (i + offset, key)));
        self.inputs.append(&mut other.inputs);
        self.objects.append(&mut other.objects);
    }

    /// The typed views, without runtime evidence.
    pub fn index(&self) -> Index<'_> {
        Index::new(&self.inputs, &self.objects)
    }

    /// The objects of input `input` (inputs are loaded in order, so each
    /// input's objects are one run of `objects`).
    pub fn objects_of(&self, input: usize) -> &[Object] {
        objects_of(&self.objects, input)
    }

    /// One index per input, each seeing only its own objects (`lint
    /// --separately`).
    pub fn indexes_per_input(&self) -> Vec<Index<'_>> {
        (0..self.inputs.len())
            .map(|input| Index::new(&self.inputs, self.objects_of(input)))
            .collect()
    }
}

/// The objects of input `input` among `objects` (in input order, as
/// [`Manifests`] and its indexes hold them).
pub fn objects_of(objects: &[Object], input: usize) -> &[Object] {
    let start = objects.partition_point(|o| o.input < input);
    let end = objects.partition_point(|o| o.input <= input);
    &objects[start..end]
}

/// All objects of all inputs, and the typed views the checks use.
pub struct Index<'a> {
    pub inputs: &'a [Input],
    pub objects: &'a [Object],
    pub workloads: Vec<Workload<'a>>,
    pub services: Vec<Service<'a>>,
    /// Kubernetes, Cilium and Calico policies, malformed ones included
    /// (they select nothing; NP3 reports them).
    pub policies: Vec<Policy<'a>>,
    /// The labels of the input's `Namespace` objects.
    pub namespaces: policy::NamespaceLabels,
    /// Parsed only with [`Detail::WithConfiguration`].
    pub config_maps: Vec<ConfigMap<'a>>,
    pub secrets: Vec<Secret<'a>>,
    pub ingresses: Vec<Ingress<'a>>,
    /// ServiceAccounts bound by (Cluster)RoleBindings: they call the API server.
    pub bindings: Vec<ServiceAccountBinding<'a>>,
    /// Services the API server calls: webhooks, aggregated APIs, CRD conversion.
    pub webhooks: Vec<WebhookTarget<'a>>,
    /// IngressClasses and GatewayClasses: the release ships a controller.
    pub routing_classes: Vec<RoutingClass<'a>>,
    /// ServiceMonitors and PodMonitors: which ports Prometheus scrapes.
    pub monitors: Vec<Monitor<'a>>,
    /// Objects of API groups that are not Kubernetes' own: an operator may
    /// create pods for them.
    pub custom_resources: Vec<CustomResource<'a>>,
    /// Services and workloads Kubernetes would reject: in no view above.
    pub malformed: Vec<malformed::Malformed<'a>>,
    /// Workloads by namespace and pod label.
    pub lookup: PodLookup,
    /// Which workloads each Service selects, and the reverse.
    pub service_selection: ServiceSelection,
    /// [`Index::workload_collisions`], computed when first asked.
    collisions: std::sync::OnceLock<Vec<(usize, usize, Collision)>>,
    /// What a probe observed; `None` for a static audit, and then the
    /// runtime checks find nothing.
    pub runtime: Option<&'a Observations>,
}

impl<'a> Index<'a> {
    pub fn new(inputs: &'a [Input], objects: &'a [Object]) -> Index<'a> {
        // Helm test hooks are not part of the release, and what Kubernetes
        // would reject never runs: looked up once per object.
        let mut kept: Vec<&'a Object> = Vec::with_capacity(objects.len());
        let mut rejected = Vec::new();
        for object in objects.iter().filter(|o| !o.is_helm_test_hook()) {
            match malformed::malformed(object) {
                Some(why) => rejected.push(why),
                None => kept.push(object),
            }
        }
        let analysed = || kept.iter().copied();
        let mut namespaces = policy::NamespaceLabels::of(analysed());
        // One copy of a namespace's labels, which its workloads share.
        let workloads: Vec<Workload<'a>> = analysed()
            .filter_map(Workload::from_object)
            .map(|mut workload| {
                workload.namespace_labels = namespaces.shared(&workload.obj.namespace);
                workload
            })
            .collect();
        Index {
            inputs,
            objects,
            workloads,
            namespaces,
            services: analysed().filter_map(Service::from_object).collect(),
            policies: analysed().flat_map(Policy::from_object).collect(),
            config_maps: analysed().filter_map(ConfigMap::from_object).collect(),
            secrets: analysed().filter_map(Secret::from_object).collect(),
            ingresses: analysed().filter_map(Ingress::from_object).collect(),
            bindings: analysed().filter_map(ServiceAccountBinding::from_object).collect(),
            webhooks: analysed().flat_map(WebhookTarget::from_object).collect(),
            routing_classes: analysed().filter_map(RoutingClass::from_object).collect(),
            monitors: analysed().filter_map(Monitor::from_object).collect(),
            custom_resources: analysed().filter_map(CustomResource::from_object).collect(),
            malformed: rejected,
            lookup: PodLookup::default(),
            service_selection: ServiceSelection::default(),
            collisions: std::sync::OnceLock::new(),
            runtime: None,
        }
        .with_lookups()
    }

    /// The lookups of the workloads and Services it holds.
    fn with_lookups(mut self) -> Index<'a> {
        self.lookup = PodLookup::new(&self.workloads);
        self.service_selection = ServiceSelection::new(&self.services, &self.workloads, &self.lookup);
        self.collisions = std::sync::OnceLock::new();
        self
    }

    /// Every colliding pair of workloads in one namespace (positions in
    /// `workloads`, the selecting one first): M4A and M4G both ask.
    pub fn workload_collisions(&self) -> &[(usize, usize, Collision)] {
        self.collisions
            .get_or_init(|| lookup::workload_collisions(&self.workloads, &self.lookup))
    }

    /// The workloads `service` (one of this index's) selects.
    pub fn selected_by<'s>(&'s self, service: &Service<'a>) -> impl Iterator<Item = &'s Workload<'a>> + 's {
        let position = position(&self.services, service);
        self.service_selection.workloads_of[position]
            .iter()
            .map(|&i| &self.workloads[i])
    }

    /// The Services that select `workload` (one of this index's).
    pub fn services_selecting<'s>(&'s self, workload: &Workload<'a>) -> impl Iterator<Item = &'s Service<'a>> + 's {
        let position = position(&self.workloads, workload);
        self.service_selection.services_of[position]
            .iter()
            .map(|&i| &self.services[i])
    }

    /// The workloads whose pods `policy` may select (a superset, from the
    /// pod lookup for a namespaced policy; every workload for a
    /// cluster-wide one): ask the policy about each.
    pub fn candidates_of_policy<'s>(&'s self, policy: &Policy<'_>) -> impl Iterator<Item = &'s Workload<'a>> + 's {
        let positions: Vec<usize> = match (&policy.scope, &policy.pod_selector) {
            (PolicyScope::Namespace, Matcher::Labels(selector)) => {
                self.lookup.candidates(&policy.obj.namespace, selector).to_vec()
            }
            (PolicyScope::Namespace, _) => self.lookup.in_namespace(&policy.obj.namespace).to_vec(),
            (PolicyScope::Cluster(_), _) => (0..self.workloads.len()).collect(),
        };
        positions.into_iter().map(|i| &self.workloads[i])
    }

    /// The position of `workload` (one of this index's) in `workloads`.
    pub fn workload_position(&self, workload: &Workload<'a>) -> usize {
        position(&self.workloads, workload)
    }

    /// The indexes of [`Manifests::indexes_per_input`] as one, without
    /// parsing anything again.
    pub fn joined(manifests: &'a Manifests, parts: Vec<Index<'a>>) -> Index<'a> {
        let mut whole = Index::new(&manifests.inputs, &[]);
        whole.objects = &manifests.objects;
        for part in parts {
            whole.workloads.extend(part.workloads);
            whole.services.extend(part.services);
            whole.policies.extend(part.policies);
            whole.namespaces.extend(part.namespaces);
            whole.config_maps.extend(part.config_maps);
            whole.secrets.extend(part.secrets);
            whole.ingresses.extend(part.ingresses);
            whole.bindings.extend(part.bindings);
            whole.webhooks.extend(part.webhooks);
            whole.routing_classes.extend(part.routing_classes);
            whole.monitors.extend(part.monitors);
            whole.custom_resources.extend(part.custom_resources);
            whole.malformed.extend(part.malformed);
        }
        whole.with_lookups()
    }

    /// The release an object belongs to (its input).
    pub fn release_of(&self, object: &Object) -> &str {
        &self.inputs[object.input].release
    }

    /// Workloads of one namespace.
    pub fn workloads_in<'s>(&'s self, namespace: &'s str) -> impl Iterator<Item = &'s Workload<'a>> + 's {
        self.workloads.iter().filter(move |w| w.obj.namespace == namespace)
    }

    /// The ConfigMap a workload of `from` refers to by `name`: its own
    /// release's first, else any in the namespace.
    /// The Secret `name` that a pod of `from` can read: of its namespace,
    /// preferably of its input.
    pub fn secret(&self, name: &str, from: &Object) -> Option<&Secret<'a>> {
        readable(&self.secrets, |s| s.obj, name, from)
    }

    /// The ConfigMap `name` that a pod of `from` can read, as [`Index::secret`].
    pub fn config_map(&self, name: &str, from: &Object) -> Option<&ConfigMap<'a>> {
        readable(&self.config_maps, |c| c.obj, name, from)
    }
}

/// The position of `item` in `items`, which holds it: from its address
/// (constant time; the views are looked up per finding).
fn position<T>(items: &[T], item: &T) -> usize {
    let size = std::mem::size_of::<T>().max(1);
    let offset = (item as *const T as usize).wrapping_sub(items.as_ptr() as usize) / size;
    if items.get(offset).is_some_and(|found| std::ptr::eq(found, item)) {
        offset
    } else {
        items
            .iter()
            .position(|found| std::ptr::eq(found, item))
            .expect("an item of this index")
    }
}

/// The object named `name` in the namespace of `from`, preferably of its
/// input (the same release), else of any.
fn readable<'i, T>(items: &'i [T], object: impl Fn(&T) -> &Object, name: &str, from: &Object) -> Option<&'i T> {
    let in_namespace = |item: &&T| object(item).name == name && object(item).namespace == from.namespace;
    items
        .iter()
        .filter(in_namespace)
        .find(|item| object(item).input == from.input)
        .or_else(|| items.iter().find(in_namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Vec<Object>, LoadError> {
        let input = Input::new("t.yaml", "t", "default", text.to_string());
        let mut out = Vec::new();
        load_objects(0, &input, Detail::Checks, &mut out, &mut Vec::new()).map(|_| out)
    }

    #[test]
    fn appended_manifests_are_as_if_loaded_together() {
        let input = |name: &str, text: &str| Input::new(name, name, "default", text.to_string());
        let pod = |name: &str| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n");
        let texts = [
            ("a", pod("a1") + "---\n" + &pod("a2")),
            ("empty", String::new()),
            ("b", pod("b1")),
        ];
        let all: Vec<Input> = texts.iter().map(|(n, t)| input(n, t)).collect();
        let together = Manifests::load(all.clone(), Detail::Checks).unwrap();
        let mut appended = Manifests::load(all[..1].to_vec(), Detail::Checks).unwrap();
        appended.append(Manifests::load(all[1..].to_vec(), Detail::Checks).unwrap());
        let shape =
            |m: &Manifests| -> Vec<(usize, String)> { m.objects.iter().map(|o| (o.input, o.name.clone())).collect() };
        assert_eq!(shape(&appended), shape(&together));
        assert_eq!(shape(&appended)[2], (2, "b1".to_string()));
        assert_eq!(appended.empty_inputs, [1]);
        assert_eq!(appended.empty_inputs, together.empty_inputs);
        assert_eq!(appended.objects_of(2).len(), 1);
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
    fn each_input_has_its_own_index_and_joined_they_are_the_whole() {
        let service = |name: &str| format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n---\n");
        let inputs = vec![
            Input::new("a", "a", "default", service("a1") + &service("a2")),
            Input::new("empty", "empty", "default", String::new()),
            Input::new("b", "b", "default", service("b1")),
        ];
        let manifests = Manifests::load(inputs, Detail::Checks).unwrap();
        let names = |objects: &[Object]| objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(manifests.objects_of(0)), ["a1", "a2"]);
        assert!(manifests.objects_of(1).is_empty());
        assert_eq!(names(manifests.objects_of(2)), ["b1"]);
        let parts = manifests.indexes_per_input();
        assert_eq!(parts.iter().map(|p| p.services.len()).collect::<Vec<_>>(), [2, 0, 1]);
        let whole = Index::joined(&manifests, parts);
        assert_eq!(whole.services.len(), 3);
        assert_eq!(whole.objects.len(), 3);
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
