//! `lint`: render charts (or read manifests) and run the static checks.

use super::{emit, load_config, namespace_or_default, release_and_chart, render_request};
use crate::cli::LintArgs;
use crate::model::{Detail, Manifests};
use crate::source::helm::RenderRequest;
use crate::source::{self, InputSpec};
use anyhow::{bail, Result};

pub fn run(args: &LintArgs) -> Result<u8> {
    let render = &args.render;
    let namespace = namespace_or_default(&render.namespace);
    let (release, chart) = release_and_chart(render)?;
    if chart.is_none() && args.manifests.is_empty() && args.extra_charts.is_empty() {
        bail!("nothing to lint: give a CHART, --chart CHART or --manifests FILE (see --help)");
    }
    if args.manifests.iter().filter(|m| *m == "-").count() > 1 {
        bail!("--manifests - (stdin) can be given only once");
    }
    let mut specs = Vec::new();
    if let Some(chart) = chart {
        specs.push(InputSpec::Chart(render_request(render, release, chart)));
    }
    for extra in &args.extra_charts {
        let (release, chart) = match extra.split_once('=') {
            Some((release, chart)) => (Some(release.to_string()), chart.to_string()),
            None => (None, extra.clone()),
        };
        specs.push(InputSpec::Chart(RenderRequest {
            release,
            chart,
            namespace: namespace.clone(),
            kube_version: render.kube_version.clone(),
            api_versions: render.api_versions.clone(),
            ..RenderRequest::default()
        }));
    }
    for path in &args.manifests {
        specs.push(InputSpec::Manifests {
            path: path.clone(),
            namespace: namespace.clone(),
        });
    }
    let inputs = source::acquire(&specs)?;
    let config = load_config(args.report.config.as_deref(), &inputs)?;
    let manifests = Manifests::load(inputs, Detail::Checks)?;
    emit(&crate::engine::run(&manifests, &config, None), &args.report)
}
