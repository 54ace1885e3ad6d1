//! Which values key switches on the NetworkPolicy of which workloads, for a
//! chart on disk: its own toggles (`server.networkPolicy.enabled`) and its
//! subcharts' (`kube-state-metrics.networkPolicy.enabled`, under the
//! subchart's alias), each with the templates whose pods its policy can
//! select. The M6 hint then names, for each workload, only the keys that
//! would cover it, and `--enable-chart-policies` switches on the
//! subcharts' policies too.
//!
//! A toggle of the chart itself covers the workloads of the template
//! directories whose templates read it (`.Values.server.networkPolicy`
//! in `templates/server/networkpolicy.yaml`: the workloads of
//! `templates/server/`; in `templates/` itself: every workload of the
//! chart, not of its subcharts); read nowhere literally (through `with`,
//! say): every workload of the chart. A subchart's toggle covers the
//! subchart's workloads; a `global.` one, which helm hands to every
//! subchart, any workload. Only subcharts the render holds are read.

use super::helm::Helm;
use super::values::{enabled_toggle_paths, network_policy_toggles};
use crate::model::ValuesToggle;
use crate::yaml::{parse_documents, Node};
use std::path::{Path, PathBuf};

/// Subcharts of the chart in `dir` that render under an alias: (alias, the
/// subchart's directory name in `charts/`). Archives have no directory.
pub fn aliased_subchart_dirs(dir: &Path) -> Vec<(String, String)> {
    subcharts(dir)
        .into_iter()
        .filter(|s| s.path.is_dir())
        .filter_map(|s| Some((s.alias?, file_name(&s.path))))
        .collect()
}

/// The toggles of the chart in `dir` and of its subcharts that `rendered`
/// (its `helm template` output) holds workloads of.
pub fn chart_toggles(helm: &Helm, dir: &Path, rendered: &str) -> Vec<ValuesToggle> {
    let name = chart_name(&dir.join("Chart.yaml")).unwrap_or_else(|| file_name(dir));
    let values_file = dir.join("values.yaml");
    let values = std::fs::read_to_string(&values_file).unwrap_or_default();
    let mut toggles = network_policy_toggles(&values, &values_file.display().to_string());
    let templates = template_texts(&dir.join("templates"));
    let subcharts = subcharts(dir);
    for toggle in &mut toggles {
        // `metrics.networkPolicy.enabled` in the parent's values is the
        // `metrics` subchart's own toggle, set by its parent.
        let first = toggle.path.split('.').next().unwrap_or_default();
        if first == "global" {
            // Helm hands `global` to every subchart too: any workload.
            continue;
        }
        if let Some(sub) = subcharts.iter().find(|s| s.key() == first) {
            toggle.applies_to = Some(sub.prefixes(&name));
            continue;
        }
        let reference = format!(".Values.{}", toggle.path);
        let dirs: Vec<String> = templates
            .iter()
            .filter(|(_, text)| text.contains(&reference))
            .map(|(relative, _)| match relative.rsplit_once('/') {
                Some((dir, _)) => format!("{name}/templates/{dir}/"),
                None => format!("{name}/templates/"),
            })
            .collect();
        toggle.applies_to = Some(if dirs.is_empty() {
            vec![format!("{name}/templates/")]
        } else {
            dirs
        });
    }
    // What the parent's values set explicitly wins over the subchart's default.
    let set_by_parent = enabled_toggle_paths(&values);
    for sub in &subcharts {
        let prefixes = sub.prefixes(&name);
        let rendered_here = prefixes.iter().any(|p| rendered.contains(&format!("# Source: {p}")));
        if !rendered_here {
            continue;
        }
        let Some((text, file)) = sub.values(helm) else {
            continue;
        };
        for mut toggle in network_policy_toggles(&text, &file) {
            toggle.path = format!("{}.{}", sub.key(), toggle.path);
            if set_by_parent.contains(&toggle.path) || toggles.iter().any(|t| t.path == toggle.path) {
                continue;
            }
            toggle.applies_to = Some(prefixes.clone());
            toggles.push(toggle);
        }
    }
    toggles
}

/// A subchart in `charts/`: a directory or an archive.
pub(super) struct Subchart {
    /// Its chart name.
    name: String,
    /// Its alias in the parent's dependencies, if any.
    alias: Option<String>,
    pub(super) path: PathBuf,
}

impl Subchart {
    /// The key of its values in the parent's values: the alias, else the name.
    pub(super) fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    /// Where its templates render (`# Source: parent/charts/NAME/`; helm
    /// names an aliased subchart by its alias).
    fn prefixes(&self, parent: &str) -> Vec<String> {
        let mut prefixes = vec![format!("{parent}/charts/{}/", self.name)];
        if let Some(alias) = &self.alias {
            prefixes.push(format!("{parent}/charts/{alias}/"));
        }
        prefixes
    }

    /// Its default values and where they come from: `values.yaml` of a
    /// directory, `helm show values` of an archive.
    fn values(&self, helm: &Helm) -> Option<(String, String)> {
        if self.path.is_dir() {
            let file = self.path.join("values.yaml");
            return Some((std::fs::read_to_string(&file).ok()?, file.display().to_string()));
        }
        let text = helm.show_values_of(&self.path).ok()?;
        Some((text, format!("{} values.yaml", self.path.display())))
    }
}

/// The subcharts in `dir/charts`, with the aliases of the parent's
/// dependencies (`Chart.yaml`, or `requirements.yaml` of v1 charts).
pub(super) fn subcharts(dir: &Path) -> Vec<Subchart> {
    let aliases: Vec<(String, String)> = ["Chart.yaml", "requirements.yaml"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .flat_map(|text| parse_documents(&text, 1).unwrap_or_default())
        .flat_map(|doc| doc.get("dependencies").map(|d| d.as_seq().to_vec()).unwrap_or_default())
        .filter_map(|dep| {
            let text = |key: &str| dep.get(key).and_then(Node::scalar_text).map(str::to_string);
            Some((text("name")?, text("alias")?))
        })
        .collect();
    let Ok(entries) = std::fs::read_dir(dir.join("charts")) else {
        return Vec::new();
    };
    let mut found: Vec<Subchart> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let name = if path.is_dir() {
                chart_name(&path.join("Chart.yaml"))?
            } else {
                archive_chart_name(&file_name(&path))?
            };
            Some((name, path))
        })
        .flat_map(|(name, path)| {
            // One entry per alias (a chart used twice), else the name.
            let mut aliased: Vec<Subchart> = aliases
                .iter()
                .filter(|(dep, _)| *dep == name)
                .map(|(_, alias)| Subchart {
                    name: name.clone(),
                    alias: Some(alias.clone()),
                    path: path.clone(),
                })
                .collect();
            if aliased.is_empty() {
                aliased.push(Subchart {
                    name,
                    alias: None,
                    path,
                });
            }
            aliased
        })
        .collect();
    found.sort_by(|a, b| a.key().cmp(b.key()));
    found
}

/// `name` of a Chart.yaml.
pub(super) fn chart_name(chart_yaml: &Path) -> Option<String> {
    let text = std::fs::read_to_string(chart_yaml).ok()?;
    let doc = parse_documents(&text, 1).ok()?.into_iter().next()?;
    doc.get("name").and_then(Node::scalar_text).map(str::to_string)
}

/// `kube-state-metrics-5.30.1.tgz` → `kube-state-metrics` (helm packages
/// charts as NAME-VERSION.tgz, the version starting with a digit).
fn archive_chart_name(file: &str) -> Option<String> {
    let stem = file.strip_suffix(".tgz")?;
    let at = stem
        .match_indices('-')
        .map(|(i, _)| i)
        .rfind(|&i| stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?;
    Some(stem[..at].to_string())
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every template file under `dir` (recursively), by its path relative to
/// `dir` with `/` separators.
pub(super) fn template_texts(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.flatten() {
            let child = relative.join(entry.file_name());
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(child);
            } else if let Ok(text) = std::fs::read_to_string(dir.join(&child)) {
                let shown: Vec<String> = child.iter().map(|c| c.to_string_lossy().into_owned()).collect();
                found.push((shown.join("/"), text));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{archive_chart_name, chart_toggles};
    use crate::source::helm::Helm;

    /// The chart's own toggles cover the template directories that read
    /// them; a subchart's, its workloads under its alias; a `global.` one,
    /// every workload (no helm call: the subchart is a directory).
    #[test]
    fn toggles_cover_their_templates_subcharts_and_globals() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "Chart.yaml",
            "name: stack\ndependencies: [{name: metrics, alias: kube-metrics}]\n",
        );
        write(
            "values.yaml",
            "server: {networkPolicy: {enabled: false}}\nglobal: {networkPolicy: {enabled: false}}\n",
        );
        write(
            "templates/server/np.yaml",
            "{{ if .Values.server.networkPolicy.enabled }}x{{ end }}",
        );
        write("charts/metrics/Chart.yaml", "name: metrics\n");
        write("charts/metrics/values.yaml", "networkPolicy: {enabled: false}\n");
        let rendered = "# Source: stack/charts/kube-metrics/templates/deployment.yaml\n";
        let helm = Helm {
            bin: "no-helm-needed".into(),
        };
        let found: Vec<(String, Option<Vec<String>>)> = chart_toggles(&helm, dir.path(), rendered)
            .into_iter()
            .map(|t| (t.path, t.applies_to))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "server.networkPolicy.enabled".into(),
                    Some(vec!["stack/templates/server/".into()])
                ),
                ("global.networkPolicy.enabled".into(), None),
                (
                    "kube-metrics.networkPolicy.enabled".into(),
                    Some(vec![
                        "stack/charts/metrics/".into(),
                        "stack/charts/kube-metrics/".into()
                    ])
                ),
            ]
        );
    }

    #[test]
    fn archives_are_named_without_their_version() {
        assert_eq!(
            archive_chart_name("kube-state-metrics-5.30.1.tgz").as_deref(),
            Some("kube-state-metrics")
        );
        assert_eq!(archive_chart_name("grafana-8.10.4.tgz").as_deref(), Some("grafana"));
        assert_eq!(
            archive_chart_name("prometheus-node-exporter-4.44.0-rc.1.tgz").as_deref(),
            Some("prometheus-node-exporter")
        );
        assert_eq!(archive_chart_name("README.md"), None);
    }
}
