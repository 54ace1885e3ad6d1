//! `install --probe`: static checks, then a sandboxed install whose pods are
//! probed for the sockets they open; one report with both.

use super::{emit, load_config, progress, quiet_for, release_and_chart, render_request};
use crate::cli::InstallArgs;
use crate::model::{Detail, Manifests};
use crate::probe::{self, session, SandboxRequest};
use crate::source::{self, helm::Helm};
use anyhow::{bail, Result};

pub fn run(args: &InstallArgs) -> Result<u8> {
    if !args.probe {
        bail!("`netaudit install` only installs into a throwaway sandbox: add --probe (see --help)");
    }
    let (release, chart) = release_and_chart(&args.render)?;
    let Some(chart) = chart else {
        bail!("nothing to install: give [RELEASE] CHART (see --help)")
    };
    let progress = progress(quiet_for(&args.report, args.quiet));
    progress(&format!("rendering {chart}"));
    let helm = Helm::locate()?;
    let request = render_request(&args.render, release, chart);
    let input = source::render_chart(&helm, &request)?;
    let config = load_config(args.report.config.as_deref(), std::slice::from_ref(&input))?;
    // The podman sandbox mounts the chart's ConfigMaps and Secrets.
    let manifests = Manifests::load(vec![input], Detail::WithConfiguration)?;
    probe::interrupt::install_handler()?;
    // One index: the sandbox's plan, then the checks.
    let index = manifests.index();
    let evidence = {
        let input = &manifests.inputs[0];
        let not_probed = index
            .workloads
            .iter()
            .filter(|w| w.runs_to_completion())
            .map(|w| w.reference())
            .collect();
        let request = SandboxRequest {
            index: &index,
            release: &input.release,
            model_namespace: &input.default_namespace,
            helm: &helm,
            render: &request,
            install_timeout: args.timeout,
            probe_image: &args.probe_image,
        };
        let mut sandbox = probe::open_sandbox(args.runtime.choice(), &request, &progress)?;
        let options = session::ProbeOptions {
            runs: usize::from(args.runs),
            timeout: args.timeout,
            settle: args.settle,
            keep: args.keep,
        };
        session::run_probe(sandbox.as_mut(), &options, not_probed, &progress)?
    };
    emit(
        &crate::engine::run_on(&manifests, index, &config, Some(&evidence)),
        &args.report,
    )
}
