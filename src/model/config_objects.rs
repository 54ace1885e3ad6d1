//! Views of the configuration kinds, parsed only with
//! [`Detail::WithConfiguration`](super::Detail): ConfigMaps and Secrets (what
//! the podman sandbox mounts, where `fix` looks for Service names) and
//! Ingresses (whose backends `fix` opens to the outside).

use super::object::Object;
use crate::yaml::Node;

/// A ConfigMap: its `data` and `binaryData` entries as text.
#[derive(Debug)]
pub struct ConfigMap<'a> {
    pub obj: &'a Object,
    /// `(key, value)` in document order.
    pub data: Vec<(String, String)>,
}

impl<'a> ConfigMap<'a> {
    pub fn from_object(obj: &'a Object) -> Option<ConfigMap<'a>> {
        if obj.kind != "ConfigMap" {
            return None;
        }
        let mut data = string_entries(obj.root.get("data"));
        data.extend(string_entries(obj.root.get("binaryData")));
        Some(ConfigMap { obj, data })
    }
}

/// A Secret: `data` decoded from base64 (entries that are not valid base64
/// or not UTF-8 are left out) and `stringData`.
#[derive(Debug)]
pub struct Secret<'a> {
    pub obj: &'a Object,
    pub data: Vec<(String, String)>,
}

impl<'a> Secret<'a> {
    pub fn from_object(obj: &'a Object) -> Option<Secret<'a>> {
        if obj.kind != "Secret" {
            return None;
        }
        let mut data: Vec<(String, String)> = string_entries(obj.root.get("data"))
            .into_iter()
            .filter_map(|(key, value)| Some((key, base64_decode(&value)?)))
            .collect();
        data.extend(string_entries(obj.root.get("stringData")));
        Some(Secret { obj, data })
    }
}

/// The port an Ingress backend names on its Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendPort {
    Number(u16),
    Name(String),
    /// None given: every port of the Service.
    Any,
}

/// An Ingress (networking.k8s.io/v1, or the old `serviceName`/`servicePort` shape).
#[derive(Debug)]
pub struct Ingress<'a> {
    pub obj: &'a Object,
    /// `(service name, port)` of every backend.
    pub backends: Vec<(String, BackendPort)>,
    /// `spec.ingressClassName`, else the `kubernetes.io/ingress.class` annotation.
    pub class: Option<String>,
}

impl<'a> Ingress<'a> {
    pub fn from_object(obj: &'a Object) -> Option<Ingress<'a>> {
        if obj.kind != "Ingress" {
            return None;
        }
        let class = obj
            .root
            .path(&["spec", "ingressClassName"])
            .or_else(|| {
                obj.root
                    .path(&["metadata", "annotations", "kubernetes.io/ingress.class"])
            })
            .and_then(Node::scalar_text)
            .map(str::to_string);
        Some(Ingress {
            obj,
            backends: ingress_backends(&obj.root),
            class,
        })
    }
}

/// The scalar entries of a string map.
fn string_entries(node: Option<&Node>) -> Vec<(String, String)> {
    node.map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|(key, value)| Some((key.text.to_string(), value.scalar_text()?.to_string())))
        .collect()
}

fn backend_port_number(node: &Node) -> Option<u16> {
    node.as_i64().and_then(|n| u16::try_from(n).ok())
}

fn ingress_backends(root: &Node) -> Vec<(String, BackendPort)> {
    let mut backends = Vec::new();
    let spec = root.get("spec");
    let mut add = |backend: &Node| {
        if let Some(service) = backend.get("service") {
            let Some(name) = service.get("name").and_then(Node::scalar_text) else {
                return;
            };
            let port = match service.get("port") {
                Some(p) => match (
                    p.get("number").and_then(backend_port_number),
                    p.get("name").and_then(Node::scalar_text),
                ) {
                    (Some(n), _) => BackendPort::Number(n),
                    (None, Some(n)) => BackendPort::Name(n.to_string()),
                    _ => BackendPort::Any,
                },
                None => BackendPort::Any,
            };
            backends.push((name.to_string(), port));
        } else if let Some(name) = backend.get("serviceName").and_then(Node::scalar_text) {
            let port = match backend.get("servicePort") {
                Some(p) => match backend_port_number(p) {
                    Some(n) => BackendPort::Number(n),
                    None => p
                        .scalar_text()
                        .map_or(BackendPort::Any, |n| BackendPort::Name(n.to_string())),
                },
                None => BackendPort::Any,
            };
            backends.push((name.to_string(), port));
        }
    };
    for key in ["defaultBackend", "backend"] {
        if let Some(b) = spec.and_then(|s| s.get(key)) {
            add(b);
        }
    }
    for rule in spec.and_then(|s| s.get("rules")).map(Node::as_seq).unwrap_or_default() {
        for path in rule.path(&["http", "paths"]).map(Node::as_seq).unwrap_or_default() {
            if let Some(b) = path.get("backend") {
                add(b);
            }
        }
    }
    backends
}

/// Standard (and URL-safe) base64; `None` when it is not valid base64 or
/// does not decode to UTF-8.
pub fn base64_decode(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=").as_deref(), Some("hello world"));
        assert_eq!(base64_decode("!!"), None);
    }

    #[test]
    fn secrets_are_decoded_and_ingress_backends_read() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==, bad: '!!'}\nstringData: {user: admin}\n---\n\
apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n  rules:\n  - http:\n      paths:\n      - backend: {service: {name: api, port: {name: http}}}\n";
        let manifests = Manifests::load(
            vec![Input::new("t", "t", "default", text.into())],
            Detail::WithConfiguration,
        )
        .unwrap();
        let index = manifests.index();
        assert_eq!(
            index.secrets[0].data,
            [
                ("password".to_string(), "hunter2".to_string()),
                ("user".into(), "admin".into())
            ]
        );
        assert_eq!(
            index.ingresses[0].backends,
            [
                ("web".to_string(), BackendPort::Number(80)),
                ("api".to_string(), BackendPort::Name("http".into()))
            ]
        );
    }
}
