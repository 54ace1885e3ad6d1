//! `install --probe`: static checks, then a sandboxed install whose pods are
//! probed for the sockets they open; one report with both.

use super::progress::Printer;
use super::{emit, emit_table, load_config, quiet_for, release_and_chart, render_request};
use crate::cli::InstallArgs;
use crate::engine::chart_policies;
use crate::model::scope;
use crate::model::{Detail, Manifests};
use crate::probe::{self, session, RuntimeChoice, SandboxRequest};
use crate::source::{self, helm::Helm, helm::RenderRequest, InputSpec};
use anyhow::{bail, Result};

pub fn run(args: &InstallArgs) -> Result<u8> {
    if !args.probe {
        bail!("`netaudit install` only installs into a throwaway sandbox: add --probe (see --help)");
    }
    if args.report.output.format() == crate::report::Format::PolicyReport {
        bail!("-o policyreport reports on what runs in a cluster, not on a sandbox: use `netaudit audit` once the release is installed");
    }
    if args.flows && args.report.output.format() != crate::report::Format::Human {
        bail!("--flows prints a table: drop -o (-o json lists the flows in probe.flows)");
    }
    let (release, chart) = release_and_chart(&args.render)?;
    let Some(chart) = chart else {
        bail!("nothing to install: give [RELEASE] CHART (see --help)")
    };
    let printer = Printer::new(quiet_for(&args.report, args.quiet));
    let progress = printer.lines();
    progress(&format!("rendering {chart}"));
    let helm = Helm::locate()?;
    let mut request = render_request(&args.render, release, chart);
    let mut input = source::render_chart(&helm, &request)?;
    let config = load_config(args.report.config.as_deref(), std::slice::from_ref(&input))?;
    // --enable-chart-policies: the sandbox runs the render with the chart's
    // policies on; the render as the values have it is audited with the same
    // evidence, for the comparison.
    let mut as_valued = None;
    let mut keys = Vec::new();
    if args.enable_chart_policies {
        let spec = InputSpec::Chart(request.clone());
        let (switched, switched_keys) =
            super::lint::with_chart_policies(std::slice::from_ref(&spec), std::slice::from_ref(&input))?;
        if let (Some(on), [toggles]) = (switched.into_iter().next(), switched_keys.as_slice()) {
            request.set.extend(toggles.iter().map(|k| format!("{k}=true")));
            as_valued = Some(std::mem::replace(&mut input, on));
        }
        keys = switched_keys;
    }
    if args.runtime.choice() == RuntimeChoice::Kube {
        check_scope(&helm, &request, args.allow_cluster_scoped, &progress)?;
    }
    // The podman sandbox mounts the chart's ConfigMaps and Secrets.
    let manifests = Manifests::load(vec![input], Detail::WithConfiguration)?;
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
        let secrets = crate::model::secrets::secret_values(&manifests.objects);
        let request = SandboxRequest {
            index: &index,
            release: &input.release,
            model_namespace: &input.default_namespace,
            helm: &helm,
            render: &request,
            install_timeout: args.timeout,
            probe_image: &args.probe_image,
            pull: args.pull.policy(),
            helm_args: &args.helm_args,
            secrets: &secrets,
        };
        let mut sandbox = probe::open_sandbox(args.runtime.choice(), &request, &progress)?;
        let exercise = match args.exercise {
            true => {
                let plan = probe::exercise::plan(&index, &args.probe_image);
                if plan.is_none() {
                    progress("--exercise: the chart has no TCP Service port to try");
                }
                plan
            }
            false => None,
        };
        let tests = args.run_tests.then(|| {
            let hooks = probe::chart_tests::test_hooks(&index);
            if hooks.is_empty() {
                progress("--run-tests: the chart has no test hook (`helm.sh/hook: test` on a Pod or Job)");
            }
            hooks
        });
        let options = session::ProbeOptions {
            exercise,
            tests,
            runs: usize::from(args.runs),
            timeout: args.timeout,
            settle: args.settle,
            keep: args.keep,
            secrets,
        };
        session::run_probe(sandbox.as_mut(), &options, not_probed, &printer)?
    };
    // An interrupt during the sandbox's last steps only set the flag (the
    // sandbox held a cooperative section): stop before the checks.
    crate::source::interrupt::check()?;
    let mut audit = crate::engine::run_on(&manifests, index, &config, Some(&evidence));
    if let Some(as_valued) = as_valued {
        let before = Manifests::load(vec![as_valued], Detail::Checks)?;
        let before_audit = crate::engine::run(&before, &config, Some(&evidence));
        audit.chart_policies = chart_policies::compare(&before_audit, &audit, &keys);
    }
    if args.flows {
        // The findings are counted below the table: the exit code follows them.
        let table = format!(
            "{}{}{}\n{}",
            crate::report::observed::table(&evidence.probe.flows),
            crate::report::observed::tests(evidence.probe.tests.as_ref()),
            crate::report::observed::exercise(evidence.probe.exercise.as_ref()),
            crate::report::human::closing_line(&audit)
        );
        return emit_table(&audit, &args.report, &table);
    }
    emit(&audit, &args.report)
}

/// A kube sandbox is a namespace: what the chart puts elsewhere (cluster-
/// scoped objects, its `crds/`, objects of other namespaces) would change
/// the cluster for everyone. Without `--allow-cluster-scoped` nothing is
/// installed then, and the objects are listed. The chart is rendered as
/// `helm install` will create it (CRDs included), in a namespace no chart
/// names, so that a namespace written into a template shows.
fn check_scope(helm: &Helm, request: &RenderRequest, allowed: bool, progress: &dyn Fn(&str)) -> Result<()> {
    let probe_request = RenderRequest {
        namespace: SCOPE_CHECK_NAMESPACE.into(),
        include_crds: true,
        ..request.clone()
    };
    let outside = scope::outside_namespace(&source::render_chart(helm, &probe_request)?);
    if outside.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 8;
    let mut listed: Vec<String> = outside.iter().take(SHOWN).map(ToString::to_string).collect();
    if outside.len() > SHOWN {
        listed.push(format!("+{} more", outside.len() - SHOWN));
    }
    let listed = listed.join(", ");
    if allowed {
        progress(&format!(
            "--allow-cluster-scoped: {} object(s) go outside the sandbox namespace: {listed}",
            outside.len()
        ));
        return Ok(());
    }
    bail!(
        "the chart puts {} object(s) outside the sandbox namespace, where they would change the cluster for everyone: {listed}; nothing was installed (--allow-cluster-scoped installs them anyway, and the sandbox's helm uninstall removes them; --runtime podman stays local)",
        outside.len()
    )
}

/// The namespace of the scope check's render: one no chart writes.
const SCOPE_CHECK_NAMESPACE: &str = "netaudit-scope-check";
