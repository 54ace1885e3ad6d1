//! The Kubernetes model: rendered manifests -> objects that remember their
//! source -> the typed views the checks read.
//!
//! `input.rs` (one rendered release, [`Input`]) -> `documents.rs` (its text
//! split at `---`) -> `load.rs` (each document parsed with `crate::yaml`,
//! or only syntax-checked, into an [`Object`], `object.rs`) ->
//! `manifests.rs` (every input's objects, [`Manifests`]) -> `index.rs` (the
//! typed views, [`Index`]: `workloads.rs`, `policy/`, `config_objects.rs`, …).
//! This file only declares the modules and the names the crate uses.

pub mod config_objects;
pub(crate) mod documents;
pub mod exposure;
pub mod hasher;
mod index;
mod input;
pub mod labels;
mod load;
pub mod lookup;
pub mod malformed;
mod manifests;
mod object;
pub mod operated;
pub mod parallel;
pub mod platform_objects;
pub mod policy;
pub mod runtime;
pub mod scope;
pub mod secrets;
pub mod selector;
pub mod stand_in;
pub mod terminal;
pub mod values_space;
pub mod words;
pub mod workloads;

pub use config_objects::{BackendPort, ConfigMap, Ingress, Secret};
pub use exposure::{Exposure, ExposureSource};
pub use index::Index;
pub use input::{Input, ValuesToggle, MAX_INPUT_BYTES};
pub use load::{Detail, LoadError};
pub use lookup::{Collision, PodLookup, Selection};
pub use manifests::{objects_of, Manifests};
pub use object::{Location, Object};
pub use operated::{control_plane_pods, ControlPlanePods, CustomResource, Promise};
pub use platform_objects::{Monitor, MonitorPort, MonitorTargets, RoutingClass, ServiceAccountBinding, WebhookTarget};
pub use policy::{
    Action, Entity, Flavor, HostName, Matcher, Namespaces, Policy, PolicyPeer, PolicyPort, PolicyRule, PolicyScope,
    PortMatch, Problem, Side,
};
pub use runtime::{
    AskedName, AttributedSocket, ChartTests, Connection, Evidence, Exercise, FlowOrigin, FlowPeer, Observations,
    ObservedFlow, OpenSocket, PodSockets, PodStatus, PortKey, ProbeReport, ProbeTimings, ProcessName, Protocol,
    RunPorts, TestOutcome, TriedPort, WorkloadRef,
};
pub use selector::{Labels, Selector};
pub use stand_in::ServicePods;
pub use values_space::{DocumentGuards, Setting, ValuesKey, ValuesSpace, Variant};
pub use workloads::{Container, ContainerPort, PodPick, Service, ServicePort, TargetPort, Workload};
