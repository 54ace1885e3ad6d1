//! Service-mesh proxies injected into a workload's pods: they call their
//! control plane (certificates, routes, policies), and the mesh's
//! Prometheus scrapes them on their admin port, whatever the application
//! does. A workload's pods are injected when their template says so
//! (`linkerd.io/inject: enabled`, `sidecar.istio.io/inject: "true"`), or
//! already hold the proxy container (manifests read from a cluster).

use crate::model::Workload;

/// What an injected proxy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mesh {
    pub name: &'static str,
    /// Where the control plane runs by default.
    pub namespace: &'static str,
    /// The control plane's ports the proxy calls, with what each is.
    pub control_plane: &'static [(u16, &'static str)],
    /// The proxy's admin (metrics) ports, scraped by the mesh's Prometheus.
    pub admin: &'static [u16],
}

const LINKERD: Mesh = Mesh {
    name: "Linkerd",
    namespace: "linkerd",
    control_plane: &[(8086, "destination"), (8080, "identity"), (8090, "policy")],
    admin: &[4191],
};

const ISTIO: Mesh = Mesh {
    name: "Istio",
    namespace: "istio-system",
    control_plane: &[(15012, "istiod XDS and certificates")],
    admin: &[15020, 15090],
};

/// The mesh whose proxy `workload`'s pods get, and why netaudit thinks so.
pub(super) fn injected(workload: &Workload<'_>) -> Option<(Mesh, String)> {
    let says = |key: &str, values: &[&str]| {
        [&workload.pod_annotations, &workload.pod_labels]
            .into_iter()
            .find_map(|map| map.get(key).filter(|v| values.contains(&v.as_str())))
            .map(|v| format!("`{key}: {v}`"))
    };
    let holds = |container: &str| {
        workload
            .containers
            .iter()
            .any(|c| c.name == container)
            .then(|| format!("its `{container}` container"))
    };
    if let Some(why) = says("linkerd.io/inject", &["enabled", "ingress"]).or_else(|| holds("linkerd-proxy")) {
        return Some((LINKERD, why));
    }
    says("sidecar.istio.io/inject", &["true"])
        .or_else(|| holds("istio-proxy"))
        .map(|why| (ISTIO, why))
}

impl Mesh {
    /// "the Linkerd control plane (namespace linkerd)".
    pub fn control_plane_name(&self) -> String {
        format!("the {} control plane (namespace {})", self.name, self.namespace)
    }
}
