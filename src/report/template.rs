//! `-o template --template FILE`: a report shaped by the user's own
//! handlebars template (as Trivy users write Go templates). The context is
//! the JSON report (docs/json-schema.md), so a template sees everything the
//! JSON has: `findings`, `warnings`, `summary`, `inputs`, `probe`, …
//!
//! Values are inserted as they are (no HTML escaping: reports are text);
//! the helpers `xml` and `json` escape a value for XML/HTML or encode it as
//! a JSON string, for templates that produce those.

use crate::engine::Audit;
use handlebars::{handlebars_helper, no_escape, Handlebars};
use std::path::Path;

handlebars_helper!(xml: |text: str| super::escape_markup(text));
handlebars_helper!(json: |value: Json| value.to_string());

/// Render `template` (its text; `name` says where it came from, for errors).
pub fn render_text(audit: &Audit<'_>, template: &str, name: &str) -> Result<String, String> {
    let mut handlebars = Handlebars::new();
    handlebars.register_escape_fn(no_escape);
    handlebars.register_helper("xml", Box::new(xml));
    handlebars.register_helper("json", Box::new(json));
    handlebars
        .register_template_string("report", template)
        .map_err(|e| format!("{name}: not a valid template: {}", one_line(&e.to_string())))?;
    let context = serde_json::to_value(super::json::build(audit)).map_err(|e| e.to_string())?;
    handlebars
        .render("report", &context)
        .map_err(|e| format!("{name}: {}", one_line(&e.to_string())))
}

/// Read the template at `path` and render it.
pub fn render(audit: &Audit<'_>, path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read template {}: {e}", path.display()))?;
    render_text(audit, &text, &path.display().to_string())
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}
