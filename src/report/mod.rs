//! Reports: human (miette diagnostics), JSON (versioned schema, see
//! docs/json-schema.md), SARIF 2.1.0, and the summary table.

pub mod human;
pub mod json;
pub mod sarif;
pub mod summary;

use crate::checks::Subject;
use crate::model::Input;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// The line a reader should look at: inside the template's rendered
/// document when Helm named the template, else in the input itself.
pub fn display_line(subject: &Subject<'_>) -> u32 {
    subject.location.template_line.unwrap_or(subject.location.line)
}

/// The file a subject came from, as a path a reader (or GitHub code
/// scanning) can open: the chart template on disk when the chart is local
/// (`shop/templates/api.yaml` -> `<chart dir>/templates/api.yaml`), else
/// Helm's template path, else the input's own name.
pub fn source_file(input: &Input, subject: &Subject<'_>) -> String {
    match (&subject.location.template, &input.chart_dir) {
        (Some(template), Some(dir)) => {
            let within_chart = template.split_once('/').map(|(_, rest)| rest).unwrap_or(template);
            let path: PathBuf = dir.join(within_chart);
            path.display().to_string()
        }
        (Some(template), None) => template.clone(),
        (None, _) => input.name.clone(),
    }
}
