//! `audit RELEASE`: the static checks on an installed release's manifests
//! (`helm get manifest`), and the runtime checks on its pods as they run,
//! read-only (see `probe::kube::in_place`).

use super::{emit, load_config, namespace_or_default, progress, quiet_for};
use crate::cli::AuditArgs;
use crate::model::{Detail, Input, Manifests, WorkloadRef};
use crate::probe::kube::in_place::{InPlaceOptions, InPlaceProbe};
use crate::source::helm::Helm;
use anyhow::Result;

pub fn run(args: &AuditArgs) -> Result<u8> {
    let namespace = namespace_or_default(&args.namespace);
    let release = &args.release;
    let progress = progress(quiet_for(&args.report, args.quiet));
    progress(&format!(
        "reading the manifests of release {release} (namespace {namespace})"
    ));
    let helm = Helm::locate()?;
    let context = std::env::var("HELM_KUBECONTEXT").ok().filter(|c| !c.is_empty());
    let manifest = helm.get_manifest(release, &namespace, context.as_deref())?;
    let mut input = Input::new(release.clone(), release.clone(), namespace.clone(), manifest);
    input.rendered_by_helm = true;
    let config = load_config(args.report.config.as_deref(), std::slice::from_ref(&input))?;
    let manifests = Manifests::load(vec![input], Detail::Checks)?;
    let (run_to_completion, long_running): (Vec<WorkloadRef>, Vec<WorkloadRef>) = {
        let index = manifests.index();
        let (done, running): (Vec<_>, Vec<_>) = index.workloads.iter().partition(|w| w.runs_to_completion());
        (
            done.iter().map(|w| w.reference()).collect(),
            running.iter().map(|w| w.reference()).collect(),
        )
    };
    let options = InPlaceOptions {
        allow_debug_containers: args.allow_debug_containers,
        probe_image: args.probe_image.clone(),
        ..Default::default()
    };
    progress("connecting to the current Kubernetes context (nothing in it is changed)");
    let prober = InPlaceProbe::connect(options)?;
    let evidence = prober
        .probe(&long_running, &progress)?
        .into_evidence(run_to_completion, format!("{namespace} (release {release}, read-only)"));
    emit(&crate::engine::run(&manifests, &config, Some(&evidence)), &args.report)
}
