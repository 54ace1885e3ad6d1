//! Port-declaration patches for `helm netaudit fix` (spec: "Remediation").
//!
//! Input: the runtime findings of a JSON report (`install --probe -o json`
//! or `audit -o json`). Every M1 (a port open but not declared) becomes a
//! `containerPort` added to the container that owns the socket (the
//! finding's first container; the workload's first container when the probe
//! could not tell, which the patch file says). M2 (dynamic port) and M3
//! (declared but closed) cannot be fixed by a patch: they become comments
//! saying what a person must settle.
//!
//! The patches are strategic-merge patches, one YAML document per workload
//! (kustomize accepts several in one `patches:` file); [`PortPatch::apply`]
//! applies them to a rendered object for the post-renderer.

use crate::checks::{self, CheckInfo, Finding};
use crate::engine::Audit;
use crate::model::{Index, Protocol, TargetPort, WorkloadRef};
use crate::report::json::JsonReport;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A finding about one port of one workload: a runtime finding (M1, M2,
/// M3) read back from a JSON report, or an undeclared Service target (M5B,
/// M5C) of the manifests themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFinding {
    pub check: &'static CheckInfo,
    pub workload: WorkloadRef,
    pub port: u16,
    pub protocol: Protocol,
    pub containers: Vec<String>,
    pub message: String,
    /// The name to declare the port under (a Service's named target);
    /// `None`: `p-<port>`.
    pub name: Option<String>,
}

/// The undeclared targets a static M5B or M5C finding reports, as ports to
/// declare (declaring them is the remediation). A named target is declared
/// under its name with the Service's port number, the usual convention
/// ([`assumed_target`]), said in the patch's reason.
pub fn service_targets(audit: &Audit<'_>, finding: &Finding<'_>) -> Vec<PortFinding> {
    if finding.check != &checks::M5B && finding.check != &checks::M5C {
        return Vec::new();
    }
    let Some(service) = audit
        .index
        .services
        .iter()
        .find(|s| std::ptr::eq(s.obj, finding.primary().object))
    else {
        return Vec::new();
    };
    let Some(port) = service.ports.iter().find(|p| Some(p.port) == finding.port) else {
        return Vec::new();
    };
    let (number, name, message) = match &port.target {
        TargetPort::Number(number) => (
            *number,
            None,
            format!("the target of Service `{}` port {}", service.obj.name, port.port),
        ),
        // Declared by another workload the Service selects: that one serves
        // it (this one is selected by mistake, M4C), nothing to assume.
        TargetPort::Name(_)
            if audit
                .index
                .workloads
                .iter()
                .any(|w| service.selects(w) && !service.target_numbers(port, w).is_empty()) =>
        {
            return Vec::new()
        }
        TargetPort::Name(name) => (
            port.port,
            Some(name.clone()),
            format!(
                "the target `{name}` of Service `{}` port {}, assumed to be {} like the Service's port (check it against the application's settings),",
                service.obj.name, port.port, port.port
            ),
        ),
    };
    finding.subjects[1..]
        .iter()
        .map(|subject| subject.object.reference())
        .filter(|workload| workload.kind != "Service")
        .map(|workload| PortFinding {
            check: finding.check,
            workload,
            port: number,
            protocol: port.protocol,
            containers: Vec::new(),
            message: message.clone(),
            name: name.clone(),
        })
        .collect()
}

/// The runtime findings of a netaudit JSON report (waived ones excluded).
pub fn runtime_findings(report: &JsonReport) -> Result<Vec<PortFinding>, String> {
    let mut out = Vec::new();
    for f in &report.findings {
        let Some(check) = checks::find(&f.check).filter(|c| [&checks::M1, &checks::M2, &checks::M3].contains(c)) else {
            continue;
        };
        let Some(port) = f.port.filter(|p| *p > 0) else {
            return Err(format!("{} finding without a valid `port`", check.id));
        };
        let Some(workload) = f.objects.first().map(|o| o.reference()) else {
            return Err(format!(
                "{} finding on port {port} without its workload (`objects[0]`)",
                check.id
            ));
        };
        if workload.kind.is_empty() || workload.name.is_empty() {
            return Err(format!(
                "{} finding on port {port} without its workload (`objects[0]`)",
                check.id
            ));
        }
        out.push(PortFinding {
            check,
            workload,
            port,
            protocol: f.protocol.unwrap_or(Protocol::Tcp),
            containers: f.containers.clone(),
            message: f.message.clone(),
            name: None,
        });
    }
    Ok(out)
}

/// Ports of `check`'s findings (a probe's M1: open and stable; M2:
/// dynamic), per workload: what [`super::policy::PolicyOptions`] takes.
pub fn ports_of(check: &CheckInfo, findings: &[PortFinding]) -> BTreeMap<WorkloadRef, Vec<(Protocol, u16)>> {
    let mut out: BTreeMap<WorkloadRef, Vec<(Protocol, u16)>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.check == check) {
        let ports = out.entry(f.workload.clone()).or_default();
        if !ports.contains(&(f.protocol, f.port)) {
            ports.push((f.protocol, f.port));
        }
    }
    out
}

/// One `containerPort` to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPatch {
    pub workload: WorkloadRef,
    pub api_version: String,
    /// Whether the rendered object sets `metadata.namespace` (the patch
    /// names the namespace only then, so it matches the object either way).
    pub explicit_namespace: bool,
    /// `containers` or `initContainers` (a native sidecar).
    pub list: &'static str,
    pub container: String,
    /// Set when the owning container is not known: why this one was chosen.
    pub container_note: Option<String>,
    /// What the finding said, for the comment and the README: "is open but
    /// was not declared" (M1), "is the target of Service `db` port 5432 but
    /// no container declares it" (M5B, M5C).
    pub reason: String,
    pub check: &'static CheckInfo,
    pub name: String,
    pub port: u16,
    pub protocol: Protocol,
}

/// Something a patch cannot settle, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub check: &'static CheckInfo,
    pub workload: WorkloadRef,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortPlan {
    pub patches: Vec<PortPatch>,
    pub notes: Vec<Note>,
}

/// Keys from the workload's object to its pod spec.
pub fn pod_spec_path(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &["spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => &["spec", "template", "spec"],
    }
}

/// `p-9090`, `udp-5353`; a suffix when the name is taken. Valid IANA service
/// names: at most 15 characters, lowercase letters, digits and single hyphens.
fn port_name(port: u16, protocol: Protocol, taken: &BTreeSet<String>) -> String {
    let base = match protocol {
        Protocol::Tcp => format!("p-{port}"),
        Protocol::Udp => format!("udp-{port}"),
        Protocol::Sctp => format!("sctp-{port}"),
    };
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|n| n.len() <= 15 && !taken.contains(n))
        .unwrap_or(base)
}

/// The patches and notes for the runtime findings, against the rendered
/// manifests in `index`.
pub fn plan(index: &Index<'_>, findings: &[PortFinding]) -> PortPlan {
    let mut plan = PortPlan::default();
    // Port names already used in each workload's pod, plus the ones added.
    let mut taken: BTreeMap<WorkloadRef, BTreeSet<String>> = BTreeMap::new();
    let mut added: BTreeSet<(WorkloadRef, Protocol, u16)> = BTreeSet::new();
    for f in findings {
        let w = &f.workload;
        let describe = w.to_string();
        let id = f.check.id;
        let proto = f.protocol.as_str();
        match f.check {
            c if c == &checks::M2 => plan.notes.push(Note {
                check: f.check,
                workload: w.clone(),
                text: format!(
                    "{id} {describe}: port {}/{proto} is dynamic (it changed between probe runs, or lies in the \
                     ephemeral range). Declaring it would not help: it moves at the next restart. Pin the port \
                     through the application's own settings (a listen/port option or environment variable), \
                     then declare the pinned port in the chart; until then the generated NetworkPolicy allows \
                     the port that was observed, which will be wrong after the next restart.",
                    f.port
                ),
            }),
            c if c == &checks::M3 => plan.notes.push(Note {
                check: f.check,
                workload: w.clone(),
                text: format!(
                    "{id} {describe}: port {}/{proto} is declared{} but nothing listens on it. Either the \
                     declaration is stale (remove it from the chart, and from any Service targeting it) or \
                     the application is misconfigured or did not start its listener (fix the application). \
                     Not changed automatically: only a person can tell which.",
                    f.port,
                    match f.containers.first() {
                        Some(c) => format!(" by container {c}"),
                        None => String::new(),
                    }
                ),
            }),
            _ => {
                if !added.insert((w.clone(), f.protocol, f.port)) {
                    continue;
                }
                let workload = index.workloads.iter().find(|x| {
                    x.obj.kind == w.kind
                        && x.obj.name == w.name
                        && (x.obj.namespace == w.namespace || w.namespace.is_empty())
                });
                let Some(workload) = workload else {
                    plan.notes.push(Note {
                        check: f.check,
                        workload: w.clone(),
                        text: format!(
                            "{id} {describe}: port {}/{proto} is open but undeclared, and the workload is not in \
                             these manifests: not patched (was the report made from another chart or values?).",
                            f.port
                        ),
                    });
                    continue;
                };
                let pod_spec = workload.obj.root.path(pod_spec_path(&workload.obj.kind));
                let names = |list: &str| -> Vec<String> {
                    pod_spec
                        .and_then(|s| s.get(list))
                        .map(|l| l.as_seq())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|c| c.get("name").and_then(|n| n.scalar_text()).map(str::to_string))
                        .collect()
                };
                let containers = names("containers");
                let init = names("initContainers");
                let (list, container, note) = match f.containers.first() {
                    Some(c) if containers.contains(c) => ("containers", c.clone(), None),
                    Some(c) if init.contains(c) => ("initContainers", c.clone(), None),
                    owner => {
                        let Some(first) = containers.first() else {
                            plan.notes.push(Note {
                                check: f.check,
                                workload: w.clone(),
                                text: format!(
                                    "{id} {describe}: port {}/{proto} is open but undeclared, and the workload \
                                     has no named container to declare it on: not patched.",
                                    f.port
                                ),
                            });
                            continue;
                        };
                        let why = match owner {
                            Some(c) => format!(
                                "the probe named container {c}, which is not in the rendered workload: \
                                 declared on the first container, {first}; check that it owns the socket"
                            ),
                            None if f.check == &checks::M1 => format!(
                                "the probe could not tell which container owns the socket: declared on the \
                                 first container, {first}; move it if another container listens"
                            ),
                            None => format!(
                                "declared on the first container, {first}; move it to the container that serves it"
                            ),
                        };
                        ("containers", first.clone(), Some(why))
                    }
                };
                let used = taken.entry(w.clone()).or_insert_with(|| {
                    workload
                        .ports()
                        .filter_map(|p| p.name.clone())
                        .chain(
                            pod_spec
                                .and_then(|s| s.get("initContainers"))
                                .map(|l| l.as_seq())
                                .unwrap_or_default()
                                .iter()
                                .flat_map(|c| c.get("ports").map(|p| p.as_seq()).unwrap_or_default())
                                .filter_map(|p| p.get("name").and_then(|n| n.scalar_text()).map(str::to_string)),
                        )
                        .collect()
                });
                let name = match &f.name {
                    Some(name) if !used.contains(name) => name.clone(),
                    _ => port_name(f.port, f.protocol, used),
                };
                used.insert(name.clone());
                plan.patches.push(PortPatch {
                    workload: workload.reference(),
                    api_version: workload.obj.api_version.clone(),
                    explicit_namespace: workload.obj.sets_namespace(),
                    list,
                    container,
                    container_note: note,
                    reason: if f.check == &checks::M1 {
                        "is open but was not declared".into()
                    } else {
                        format!("is {} but no container declares it", f.message)
                    },
                    check: f.check,
                    name,
                    port: f.port,
                    protocol: f.protocol,
                });
            }
        }
    }
    plan
}

impl PortPatch {
    fn entry(&self) -> Value {
        json!({"name": self.name, "containerPort": self.port, "protocol": self.protocol.as_str()})
    }

    /// Whether `object` (a rendered object as JSON) is this patch's workload.
    /// An object without a namespace matches any namespace (helm's `-n`
    /// decides where it goes).
    pub fn targets(&self, object: &Value) -> bool {
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(object, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        text(&["kind"]).as_deref() == Some(self.workload.kind.as_str())
            && text(&["metadata", "name"]).as_deref() == Some(self.workload.name.as_str())
            && text(&["metadata", "namespace"]).is_none_or(|ns| ns == self.workload.namespace)
    }

    /// Add the port to the container of `object`; false when the container
    /// is not there. A port already declared (same number and protocol) is
    /// left alone.
    pub fn apply(&self, object: &mut Value) -> bool {
        let mut spec = Some(&mut *object);
        for key in pod_spec_path(&self.workload.kind) {
            spec = spec.and_then(|s| s.get_mut(*key));
        }
        let Some(list) = spec.and_then(|s| s.get_mut(self.list)).and_then(Value::as_array_mut) else {
            return false;
        };
        let Some(container) = list
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(self.container.as_str()))
        else {
            return false;
        };
        let Some(map) = container.as_object_mut() else {
            return false;
        };
        let ports = map.entry("ports").or_insert_with(|| Value::Array(Vec::new()));
        if !ports.is_array() {
            *ports = Value::Array(Vec::new());
        }
        let ports = ports.as_array_mut().expect("array");
        let exists = ports.iter().any(|p| {
            p.get("containerPort").and_then(Value::as_i64) == Some(i64::from(self.port))
                && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == self.protocol.as_str()
        });
        if !exists {
            ports.push(self.entry());
        }
        true
    }
}

/// One strategic-merge patch per workload, in the order of `patches`.
pub fn patch_documents(patches: &[PortPatch]) -> Vec<(WorkloadRef, Vec<String>, Value)> {
    let mut order: Vec<WorkloadRef> = Vec::new();
    let mut by_workload: BTreeMap<WorkloadRef, Vec<&PortPatch>> = BTreeMap::new();
    for p in patches {
        if !by_workload.contains_key(&p.workload) {
            order.push(p.workload.clone());
        }
        by_workload.entry(p.workload.clone()).or_default().push(p);
    }
    order
        .into_iter()
        .map(|w| {
            let items = &by_workload[&w];
            let first = items[0];
            let mut metadata = Map::new();
            metadata.insert("name".into(), json!(w.name));
            if first.explicit_namespace {
                metadata.insert("namespace".into(), json!(w.namespace));
            }
            // containers (and initContainers) with their new ports, merged by name.
            let mut lists: BTreeMap<&str, Vec<(String, Vec<Value>)>> = BTreeMap::new();
            let mut comments = Vec::new();
            for p in items {
                comments.push(format!(
                    "{}: port {}/{} {}: declared as {} on {} {}",
                    p.check.id,
                    p.port,
                    p.protocol.as_str(),
                    p.reason,
                    p.name,
                    if p.list == "initContainers" {
                        "sidecar (init container)"
                    } else {
                        "container"
                    },
                    p.container
                ));
                if let Some(note) = &p.container_note {
                    comments.push(format!("   ({note})"));
                }
                let list = lists.entry(p.list).or_default();
                match list.iter_mut().find(|(c, _)| *c == p.container) {
                    Some((_, ports)) => ports.push(p.entry()),
                    None => list.push((p.container.clone(), vec![p.entry()])),
                }
            }
            let mut pod_spec = Map::new();
            for (list, containers) in lists {
                pod_spec.insert(
                    list.into(),
                    Value::Array(
                        containers
                            .into_iter()
                            .map(|(name, ports)| json!({"name": name, "ports": ports}))
                            .collect(),
                    ),
                );
            }
            let mut body = Value::Object(pod_spec);
            for key in pod_spec_path(&w.kind).iter().rev() {
                body = json!({ *key: body });
            }
            let mut doc = Map::new();
            doc.insert("apiVersion".into(), json!(first.api_version));
            doc.insert("kind".into(), json!(w.kind));
            doc.insert("metadata".into(), Value::Object(metadata));
            if let Value::Object(spec) = body {
                doc.extend(spec);
            }
            (w, comments, Value::Object(doc))
        })
        .collect()
}

/// `ports.patch.yaml`: a comment block for what needs a person (M2, M3,
/// unpatchable M1), then one strategic-merge patch document per workload.
pub fn to_yaml(plan: &PortPlan) -> String {
    let mut out = String::from(
        "# Port declarations generated by `helm netaudit fix`: Service targets no container declares, and\n\
         # the ports a probe report saw open.\n\
         # Strategic-merge patches, one per workload (kustomize: `patches: [{path: ports.patch.yaml}]`).\n",
    );
    if plan.patches.is_empty() {
        out.push_str("# No undeclared port to declare.\n");
    }
    if !plan.notes.is_empty() {
        out.push_str("#\n# To settle by hand (not patched):\n");
        for note in &plan.notes {
            for (i, line) in wrap(&note.text, 76).iter().enumerate() {
                out.push_str(if i == 0 { "# - " } else { "#   " });
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (_, comments, doc) in patch_documents(&plan.patches) {
        out.push_str("---\n");
        for c in comments {
            out.push_str("# ");
            out.push_str(&c);
            out.push('\n');
        }
        out.push_str(&crate::yaml::writer::to_yaml(&doc));
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names_are_short_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(port_name(9090, Protocol::Tcp, &taken), "p-9090");
        assert_eq!(port_name(5353, Protocol::Udp, &taken), "udp-5353");
        taken.insert("udp-65535".to_string());
        let n = port_name(65535, Protocol::Udp, &taken);
        assert_eq!(n, "udp-65535-2");
        assert!(n.len() <= 15);
    }
}
