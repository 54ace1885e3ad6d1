//! One Kubernetes object as read from an input (`Object`): its kind, name
//! and namespace, its tree, and where its lines are (`Location`).

use super::runtime::WorkloadRef;
use crate::yaml::Node;

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
    pub(super) source_line: u32,
    /// Lines of the same template's earlier documents (a template file may
    /// render several): template lines count through all of them.
    pub(super) template_base: u32,
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
