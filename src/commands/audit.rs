//! `audit RELEASE`: the static checks on an installed release's manifests
//! (`helm get manifest`), and the runtime checks on its pods as they run,
//! read-only (see `probe::kube::in_place`). Without RELEASE, a fleet audit:
//! every release of a namespace or of the cluster, audited together.

use super::progress::Printer;
use super::{emit, emit_as, load_config, namespace_or_default, note, quiet_for};
use crate::cli::AuditArgs;
use crate::model::parallel::map_in_order_counted;
use crate::model::secrets::secret_values;
use crate::model::{Detail, Evidence, Input, Manifests, WorkloadRef};
use crate::probe::kube::in_place::{InPlaceOptions, InPlaceProbe};
use crate::probe::Progress;
use crate::source::helm::{Helm, ReleaseRecord, ReleaseScope};
use anyhow::{Context, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// `helm get manifest` calls at once in a fleet audit: helm spends most of
/// its time waiting for the API server.
const CONCURRENT_MANIFEST_READS: usize = 4;

pub fn run(args: &AuditArgs) -> Result<u8> {
    let printer = Printer::new(quiet_for(&args.report, args.quiet));
    let helm = Helm::locate()?;
    let context = std::env::var("HELM_KUBECONTEXT").ok().filter(|c| !c.is_empty());
    let namespace = namespace_or_default(&args.namespace);
    let Some(release) = &args.release else {
        let scope = if args.all_namespaces {
            ReleaseScope::AllNamespaces
        } else {
            ReleaseScope::Namespace(namespace)
        };
        return fleet(args, &helm, context.as_deref(), &scope, &printer);
    };
    printer.line(&format!(
        "reading the manifests of release {release} (namespace {namespace})"
    ));
    let manifest = helm.get_manifest(release, &namespace, context.as_deref())?;
    let input = release_input(&namespace, release, release.clone(), manifest);
    let config = load_config(args.report.config.as_deref(), std::slice::from_ref(&input))?;
    // With the release's Secrets: what its pods log is redacted by them.
    let manifests = Manifests::load(vec![input], Detail::WithConfiguration)?;
    let evidence = probe_in_place(
        args,
        &manifests,
        format!("{namespace} (release {release}, read-only)"),
        &printer,
    )?;
    emit(&crate::engine::run(&manifests, &config, Some(&evidence)), &args.report)
}

fn release_input(namespace: &str, release: &str, name: String, manifest: String) -> Input {
    let mut input = Input::new(name, release, namespace, manifest);
    input.rendered_by_helm = true;
    input.deployed = true;
    input
}

/// Every release of `scope`, audited together (M4G between them), with a
/// summary row each; probed in place with `--probe`.
fn fleet(args: &AuditArgs, helm: &Helm, context: Option<&str>, scope: &ReleaseScope, printer: &Printer) -> Result<u8> {
    let place = match scope {
        ReleaseScope::AllNamespaces => "all namespaces".to_string(),
        ReleaseScope::Namespace(namespace) => format!("namespace {namespace}"),
    };
    printer.line(&format!("listing the Helm releases of {place}"));
    let releases = helm.list_releases(scope, context)?;
    if releases.is_empty() {
        note(&format!(
            "warning: no deployed, failed or pending Helm release ({place}): nothing to audit"
        ));
    }
    let texts = read_manifests(helm, &releases, context, printer)?;
    let inputs: Vec<Input> = releases
        .iter()
        .zip(texts)
        .map(|(r, text)| release_input(&r.namespace, &r.name, format!("{}/{}", r.namespace, r.name), text))
        .collect();
    let config = load_config(args.report.config.as_deref(), &inputs)?;
    let detail = if args.probe {
        Detail::WithConfiguration
    } else {
        Detail::Checks
    };
    let manifests = Manifests::load(inputs, detail)?;
    let evidence = if args.probe {
        let label = format!("{} releases of {place} (read-only)", releases.len());
        Some(probe_in_place(args, &manifests, label, printer)?)
    } else {
        None
    };
    let audit = crate::engine::run(&manifests, &config, evidence.as_ref());
    emit_as(&audit, &args.report, Some("release"))
}

/// The releases' manifests, in their order, read a few at a time.
fn read_manifests(
    helm: &Helm,
    releases: &[ReleaseRecord],
    context: Option<&str>,
    printer: &Printer,
) -> Result<Vec<String>> {
    let failed = AtomicBool::new(false);
    let read = map_in_order_counted(
        releases,
        CONCURRENT_MANIFEST_READS,
        |_, release| {
            // The first error ends the audit: the releases after it are not read.
            if failed.load(Ordering::Relaxed) {
                return None;
            }
            let text = helm
                .get_manifest(&release.name, &release.namespace, context)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("reading release {}/{}", release.namespace, release.name));
            failed.fetch_or(text.is_err(), Ordering::Relaxed);
            Some(text)
        },
        // The counter is drawn here: the printer belongs to this thread.
        |done| printer.count(done, releases.len(), "release manifests read"),
    );
    printer.end_count();
    // Releases are taken in order, so the ones skipped come after the first
    // failure: the first error in order is the one reported.
    read.into_iter().flatten().collect()
}

/// Read the sockets of the running pods of `manifests`' long-running
/// workloads, in place.
fn probe_in_place(args: &AuditArgs, manifests: &Manifests, label: String, printer: &Printer) -> Result<Evidence> {
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
    printer.line("connecting to the current Kubernetes context (nothing in it is changed)");
    let prober = InPlaceProbe::connect(options).context("probing in place")?;
    Ok(prober.probe(&long_running, &printer.lines())?.into_evidence(
        run_to_completion,
        label,
        &secret_values(&manifests.objects),
    ))
}
