//! `--run-tests`: the chart's own test hooks (`helm.sh/hook: test`), run
//! in the sandbox after the last probe as `helm test` runs them: one after
//! the other, by hook weight then name, each to its end. Their connections
//! are flows of origin `test`. The kube sandbox runs `helm test` itself;
//! the podman sandbox plays each hook's pod.

use crate::model::{Index, Object, TestOutcome};

/// A test hook of the chart: a Pod, or a Job whose pod runs the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestHook {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `helm.sh/hook-weight` (0 when absent or not a number, as helm).
    pub weight: i64,
}

impl TestHook {
    fn of(object: &Object) -> Option<TestHook> {
        if !object.is_helm_test_hook() || !matches!(object.kind.as_str(), "Pod" | "Job") {
            return None;
        }
        Some(TestHook {
            kind: object.kind.clone(),
            name: object.name.clone(),
            namespace: object.namespace.clone(),
            weight: object
                .annotation("helm.sh/hook-weight")
                .and_then(|w| w.trim().parse().ok())
                .unwrap_or(0),
        })
    }

    /// How a hook that ran to its end came out.
    pub fn outcome(&self, passed: bool, detail: Option<String>) -> TestOutcome {
        TestOutcome {
            kind: self.kind.clone(),
            name: self.name.clone(),
            passed,
            detail,
        }
    }
}

/// The test hooks of `index`'s release in the order `helm test` runs them
/// (weight, then name). Hooks of other kinds (a ConfigMap the test reads)
/// are installed with them by helm; the podman sandbox plays what its pods
/// reference.
pub fn test_hooks(index: &Index<'_>) -> Vec<TestHook> {
    let mut hooks: Vec<TestHook> = index.objects.iter().filter_map(TestHook::of).collect();
    hooks.sort_by(|a, b| (a.weight, &a.name).cmp(&(b.weight, &b.name)));
    hooks
}

/// The test hooks' objects of `index` (for a sandbox to play), in the
/// order of [`test_hooks`].
pub fn hook_objects<'a>(index: &Index<'a>, hooks: &[TestHook]) -> Vec<&'a Object> {
    hooks
        .iter()
        .filter_map(|hook| {
            index
                .objects
                .iter()
                .find(|o| o.kind == hook.kind && o.name == hook.name && o.namespace == hook.namespace)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Detail, Input, Manifests};

    #[test]
    fn test_hooks_are_taken_in_helms_order_and_others_are_not() {
        let hook = |kind: &str, name: &str, annotations: &str| {
            format!(
                "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n  containers: [{{name: t, image: busybox}}]\n"
            )
        };
        let text = [
            hook("Pod", "b-test", "helm.sh/hook: test"),
            hook("Pod", "a-test", "helm.sh/hook: test-success"),
            hook("Pod", "first", "helm.sh/hook: test, helm.sh/hook-weight: \"-5\""),
            hook("Pod", "install-hook", "helm.sh/hook: post-install"),
            hook("Pod", "app", ""),
            hook("ConfigMap", "test-data", "helm.sh/hook: test"),
        ]
        .join("---\n");
        let manifests = Manifests::load(vec![Input::new("m.yaml", "m", "shop", text)], Detail::Checks).unwrap();
        let index = manifests.index();
        let hooks = test_hooks(&index);
        let names: Vec<(&str, i64)> = hooks.iter().map(|h| (h.name.as_str(), h.weight)).collect();
        assert_eq!(names, [("first", -5), ("a-test", 0), ("b-test", 0)]);
        let objects = hook_objects(&index, &hooks);
        assert_eq!(
            objects.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
            ["first", "a-test", "b-test"]
        );
    }
}
