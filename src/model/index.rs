//! The typed views the checks work on (`Index`): workloads, Services,
//! policies, namespaces' labels, configuration and platform objects, what
//! Kubernetes would reject, and the lookups between them.

use super::config_objects::{ConfigMap, Ingress, Secret};
use super::input::Input;
use super::lookup::{self, Collision, PodLookup, Selection};
use super::malformed;
use super::object::Object;
use super::operated::CustomResource;
use super::platform_objects::{Monitor, RoutingClass, ServiceAccountBinding, WebhookTarget};
use super::policy::{self, Policy};
use super::runtime::Observations;
use super::workloads::{Service, Workload};

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
    pub service_selection: Selection,
    /// Which policies can apply in each namespace.
    policy_lookup: PolicyLookup,
    /// [`Index::policy_selection`], computed when first asked.
    policy_selection: std::sync::OnceLock<Selection>,
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
            service_selection: Selection::default(),
            policy_lookup: PolicyLookup::default(),
            policy_selection: std::sync::OnceLock::new(),
            collisions: std::sync::OnceLock::new(),
            runtime: None,
        }
        .with_lookups()
    }

    /// The lookups of the workloads and Services it holds.
    pub(super) fn with_lookups(mut self) -> Index<'a> {
        self.lookup = PodLookup::new(&self.workloads);
        self.service_selection = Selection::of_services(&self.services, &self.workloads, &self.lookup);
        self.policy_lookup = PolicyLookup::new(&self.policies);
        self.policy_selection = std::sync::OnceLock::new();
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
        self.service_selection.selecting[position]
            .iter()
            .map(|&i| &self.services[i])
    }

    /// Which workloads each policy's pod selector selects, and the
    /// reverse (computed when first asked).
    pub fn policy_selection(&self) -> &Selection {
        self.policy_selection
            .get_or_init(|| Selection::of_policies(&self.policies, &self.workloads, &self.lookup))
    }

    /// The policies whose pod selector selects some pods of the workload
    /// at `position` (hostNetwork or not), in input order.
    pub fn policies_selecting<'s>(&'s self, position: usize) -> impl Iterator<Item = &'s Policy<'a>> + 's {
        self.policy_selection().selecting[position]
            .iter()
            .map(|&i| &self.policies[i])
    }

    /// The policies that can apply to pods of `namespace` (its namespaced
    /// ones and the cluster-wide ones), in input order: positions in
    /// `policies`.
    pub fn policy_positions_in(&self, namespace: &str) -> Vec<usize> {
        self.policy_lookup.positions_in(namespace)
    }

    /// [`Index::policy_positions_in`], as policies.
    pub fn policies_in<'s>(&'s self, namespace: &str) -> impl Iterator<Item = &'s Policy<'a>> + 's {
        self.policy_positions_in(namespace)
            .into_iter()
            .map(|i| &self.policies[i])
    }

    /// The position of `workload` (one of this index's) in `workloads`.
    pub fn workload_position(&self, workload: &Workload<'a>) -> usize {
        position(&self.workloads, workload)
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

/// The policies that can apply in each namespace: a namespaced policy
/// only in its own (what keeps a 10,000-policy cluster linear).
#[derive(Debug, Default)]
struct PolicyLookup {
    by_namespace: std::collections::HashMap<String, Vec<usize>>,
    cluster_wide: Vec<usize>,
}

impl PolicyLookup {
    fn new(policies: &[Policy<'_>]) -> PolicyLookup {
        let mut lookup = PolicyLookup::default();
        for (i, policy) in policies.iter().enumerate() {
            match policy.is_cluster_wide() {
                true => lookup.cluster_wide.push(i),
                false => lookup
                    .by_namespace
                    .entry(policy.obj.namespace.clone())
                    .or_default()
                    .push(i),
            }
        }
        lookup
    }

    fn positions_in(&self, namespace: &str) -> Vec<usize> {
        let local = self.by_namespace.get(namespace).map_or(&[][..], Vec::as_slice);
        let mut positions: Vec<usize> = local.iter().chain(&self.cluster_wide).copied().collect();
        if !local.is_empty() && !self.cluster_wide.is_empty() {
            positions.sort_unstable();
        }
        positions
    }
}
