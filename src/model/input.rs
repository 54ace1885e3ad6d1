//! One rendered release as netaudit reads it (`Input`), and the values
//! keys that switch its NetworkPolicies off (`ValuesToggle`).

use super::object::Object;
use std::path::PathBuf;

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
    /// Subcharts that render under an alias: (alias, directory name in
    /// `charts/`), so that `chart/charts/ALIAS/templates/x.yaml` is found.
    pub chart_aliases: Vec<(String, String)>,
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
    /// The largest text loaded (`--max-input-size`, default
    /// [`MAX_INPUT_BYTES`]): beyond it the input is refused.
    pub max_bytes: usize,
    /// Objects already running in the cluster (`lint --cluster`): the
    /// other inputs are checked against them, but what concerns only them
    /// is not reported (it is not the audited chart's doing).
    pub live: bool,
    /// A release's manifests as installed (`helm get manifest`): its
    /// objects run in `default_namespace`, a fact rather than an assumption.
    pub deployed: bool,
}

/// A values key such as `networkPolicy.enabled` set to false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesToggle {
    pub path: String,
    pub file: String,
    pub line: u32,
    /// The templates whose workloads its policy can select, as helm's
    /// `# Source:` paths begin (`shop/templates/server/`,
    /// `shop/charts/metrics/`); `None`: not known, any workload of the chart.
    pub applies_to: Option<Vec<String>>,
}

impl ValuesToggle {
    /// Can its policy select the pods of `object` (by the template that rendered it)?
    pub fn may_select(&self, object: &Object) -> bool {
        match (&self.applies_to, &object.template) {
            (Some(prefixes), Some(template)) => prefixes.iter().any(|p| template.starts_with(p.as_str())),
            _ => true,
        }
    }
}

impl Input {
    /// Where a template (helm's `# Source:` path) is: its file in the chart
    /// directory when the chart is on disk (an aliased subchart renders
    /// under its alias, not its directory), else the path helm names.
    pub fn template_file(&self, template: &str) -> String {
        let Some(dir) = &self.chart_dir else {
            return template.to_string();
        };
        let within_chart = template.split_once('/').map(|(_, rest)| rest).unwrap_or(template);
        let within_chart = self
            .chart_aliases
            .iter()
            .find_map(|(alias, name)| {
                let rest = within_chart.strip_prefix(&format!("charts/{alias}/"))?;
                Some(format!("charts/{name}/{rest}"))
            })
            .unwrap_or_else(|| within_chart.to_string());
        dir.join(within_chart).display().to_string()
    }

    pub fn new(
        name: impl Into<String>,
        release: impl Into<String>,
        namespace: impl Into<String>,
        text: String,
    ) -> Input {
        let line_starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        Input {
            name: name.into(),
            release: release.into(),
            chart_dir: None,
            chart_aliases: Vec::new(),
            default_namespace: namespace.into(),
            text,
            line_starts,
            netpol_toggles: Vec::new(),
            rendered_by_helm: false,
            max_bytes: MAX_INPUT_BYTES,
            live: false,
            deployed: false,
        }
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
