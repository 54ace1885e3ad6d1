//! One probe, start to finish, on any [`Sandbox`]: baseline, install, wait,
//! probe, restart, probe again, and cleanup on every path (success, error,
//! timeout, panic, Ctrl-C/SIGTERM).

use super::{Progress, Sandbox};
use crate::model::secrets::{redact_owned, SecretValue};
use crate::model::{ChartTests, Evidence, Exercise, Observations, PodStatus, ProbeReport, WorkloadRef};
use crate::source::interrupt::{self, check as check_interrupt};
use std::collections::BTreeSet;
use std::time::Duration;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Probe runs (2: the pods are restarted between them, for M2).
    pub runs: usize,
    /// How long to wait for readiness, per run.
    pub timeout: Duration,
    /// Pause after readiness before reading sockets (servers that bind late).
    pub settle: Duration,
    /// Leave the sandbox in place.
    pub keep: bool,
    /// The chart's credentials: never shown, even when a container logs
    /// them (its last log lines explain why it stopped).
    pub secrets: Vec<SecretValue>,
    /// `--exercise`: the client to run after the last probe, and the
    /// Service ports it tries.
    pub exercise: Option<super::exercise::Plan>,
    /// `--run-tests`: the chart's test hooks, to run after the last probe
    /// (`None`: not asked).
    pub tests: Option<Vec<super::chart_tests::TestHook>>,
}

impl ProbeOptions {
    fn redact(&self, text: &mut String) {
        redact_owned(text, &self.secrets);
    }

    /// An error whose text holds a credential (helm or podman quoting what
    /// it read) is said again without it, of the same kind (a failed
    /// cleanup stays one; an interrupt is said as "interrupted" anyway).
    fn redact_error(&self, error: anyhow::Error) -> anyhow::Error {
        let mut text = format!("{error:#}");
        self.redact(&mut text);
        if text == format!("{error:#}") || interrupt::is_interrupt(&error) {
            return error;
        }
        if error.downcast_ref::<CleanupFailed>().is_some() {
            return CleanupFailed(text).into();
        }
        anyhow::anyhow!(text)
    }
}

/// Cleanup failed: the sandbox is left behind, and the error says how to
/// remove it (an interrupted run must say so too, not only "interrupted").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CleanupFailed(String);

/// Run a whole probe and say how it went. `not_probed` are the workloads
/// the sandbox does not run (Jobs, CronJobs).
///
/// A probe that read no pod in any run judged nothing: that is an error
/// (`probe incomplete: …`, saying which pods and what stopped them), not a
/// report whose runtime checks found nothing. A probe that read some pods
/// reports the others as incomplete.
pub fn run_probe(
    sandbox: &mut dyn Sandbox,
    options: &ProbeOptions,
    not_probed: Vec<WorkloadRef>,
    progress: &dyn Progress,
) -> anyhow::Result<Evidence> {
    let Observed {
        observations,
        cut_short,
        exercise,
        tests,
    } = observe(sandbox, options, progress).map_err(|error| options.redact_error(error))?;
    // The same pod may go unread in every run: said once.
    let mut notes: Vec<String> = sandbox.notes();
    notes.iter_mut().for_each(|note| options.redact(note));
    notes.sort();
    notes.dedup();
    if observations.runs.is_empty() {
        anyhow::bail!(nothing_judged(&observations, &notes, &not_probed));
    }
    let runs = observations.runs.len();
    if let Some(why) = cut_short {
        notes.push(format!(
            "probe incomplete: {runs} of {} runs probed pods: {why}",
            options.runs
        ));
    }
    let probe = ProbeReport {
        runtime: sandbox.runtime().into(),
        sandbox: sandbox.name().into(),
        runs,
        incomplete: observations.not_ready().cloned().collect(),
        waited_for_readiness: true,
        not_probed,
        timings: observations.timings.clone(),
        kept: options.keep.then(|| sandbox.removal_hint()),
        flows: sandbox.flows(),
        exercise,
        tests,
    };
    Ok(Evidence {
        observations,
        probe,
        notes,
    })
}

/// The error of a probe that read no pod: why, pod by pod (what stopped
/// it, or why it was not read), in one line.
fn nothing_judged(observations: &Observations, notes: &[String], not_probed: &[WorkloadRef]) -> String {
    let mut why: Vec<String> = observations
        .not_ready()
        .map(|status| {
            let state = if status.stopped {
                "stopped for good"
            } else {
                "was not ready within --timeout"
            };
            format!(
                "pod {} ({} `{}`) {state}: {}",
                status.pod, status.owner.kind, status.owner.name, status.detail
            )
        })
        .collect();
    // Ready, but none of its containers could be read.
    why.extend(
        notes
            .iter()
            .filter_map(|note| note.strip_prefix("not probed: "))
            .map(|note| format!("not read: {note}")),
    );
    if observations.statuses.is_empty() {
        why.push(if not_probed.is_empty() {
            "no workload of the release produced a pod in the sandbox (replicas 0, or pods the cluster never created)"
                .to_string()
        } else {
            format!(
                "no workload of the release produced a pod in the sandbox ({} run to completion and are not probed)",
                not_probed.len()
            )
        });
    }
    if why.is_empty() {
        why.push("no pod was ready".into());
    }
    format!(
        "probe incomplete: no pod was probed, so no runtime check judged anything: {}",
        why.join("; ")
    )
}

/// The probe itself, with cleanup on every path.
fn observe(sandbox: &mut dyn Sandbox, options: &ProbeOptions, progress: &dyn Progress) -> anyhow::Result<Observed> {
    let mut body = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| probe_steps(sandbox, options, progress)));
    if options.keep {
        // Said even with -q or a JSON report: the user must be able to remove it.
        progress.notice(&format!(
            "keeping the sandbox {}; remove it with: {}",
            sandbox.describe(),
            sandbox.removal_hint()
        ));
    } else {
        progress.line(&format!("cleaning up {}", sandbox.describe()));
        let started = Instant::now();
        let cleaned = sandbox.cleanup();
        if let Ok(Ok(observed)) = &mut body {
            observed.observations.timings.cleanup = started.elapsed();
        }
        if let Err(cleanup_error) = cleaned {
            // The probe's own error (if any) is the one to report, but a
            // failed cleanup must never go unnoticed.
            let hint = sandbox.removal_hint();
            // What failed first, then the cleanup, then the way out: one line.
            return Err(CleanupFailed(match body {
                Ok(Err(probe_error)) => format!(
                    "{probe_error:#}; and cleaning up failed too ({cleanup_error:#}); remove the sandbox with: {hint}"
                ),
                _ => format!("cleaning up failed ({cleanup_error:#}); remove the sandbox with: {hint}"),
            })
            .into());
        }
    }
    match body {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// "no pod was ready after the wait of run 2, so no further run followed".
fn cut_short_at(run: usize, runs: usize, what: &str) -> String {
    if run < runs {
        format!("{what} {run}, so no further run followed")
    } else {
        format!("{what} {run}")
    }
}

/// What the runs saw, and why they ended before `--runs` when they did.
struct Observed {
    observations: Observations,
    /// "no pod was ready after the wait of run 2".
    cut_short: Option<String>,
    /// `--exercise`: what the client tried.
    exercise: Option<Exercise>,
    /// `--run-tests`: how the chart's test hooks went.
    tests: Option<ChartTests>,
}

fn probe_steps(sandbox: &mut dyn Sandbox, options: &ProbeOptions, progress: &dyn Progress) -> anyhow::Result<Observed> {
    let mut observations = Observations::default();
    let mut cut_short = None;
    check_interrupt()?;
    observations.baseline = sandbox.host_baseline()?;
    progress.line(&format!("installing into {}", sandbox.describe()));
    check_interrupt()?;
    let started = Instant::now();
    sandbox.install()?;
    observations.timings.install = started.elapsed();
    for run in 1..=options.runs.max(1) {
        check_interrupt()?;
        if run > 1 {
            progress.line(&format!("restarting pods for run {run}/{}", options.runs));
            let started = Instant::now();
            sandbox.restart()?;
            observations.timings.restart.push(started.elapsed());
        }
        // One --timeout per run, the install included: an install that
        // waited (helm hooks) leaves run 1 only the rest.
        let timeout = if run == 1 {
            options.timeout.saturating_sub(observations.timings.install)
        } else {
            options.timeout
        };
        progress.line("waiting for pods to become ready");
        let started = Instant::now();
        let mut statuses = sandbox.wait_ready(timeout, &mut |state| {
            progress.waiting(state, started.elapsed(), timeout)
        })?;
        statuses
            .iter_mut()
            .for_each(|status| options.redact(&mut status.detail));
        observations.timings.wait.push(started.elapsed());
        let ready = statuses.iter().filter(|s| s.ready).count();
        if ready == 0 {
            // Nothing to read, and a restart would not change that (a pod
            // that stopped for good stops again): no probe, no further run.
            // Which pods and why: in the report, or, when no run probed
            // anything, in the error.
            if !observations.runs.is_empty() {
                progress.line(&format!(
                    "0/{} pods ready after the wait of run {run}/{}: nothing to probe, no further run",
                    statuses.len(),
                    options.runs
                ));
            }
            merge_statuses(&mut observations.statuses, statuses);
            cut_short = Some(cut_short_at(
                run,
                options.runs,
                "no pod was ready after the wait of run",
            ));
            break;
        }
        for status in statuses.iter().filter(|s| !s.ready) {
            progress.line(&format!(
                "pod {} {}: {}",
                status.pod,
                if status.stopped {
                    "will not become ready"
                } else {
                    "was not ready within --timeout"
                },
                status.detail
            ));
        }
        progress.line(&format!(
            "{ready}/{} pods ready; probing run {run}/{}",
            statuses.len(),
            options.runs
        ));
        // A readiness probe judged by its port only may pass before the
        // application is up: say so, and settle twice as long.
        let notes: BTreeSet<&String> = statuses.iter().flat_map(|s| s.notes.iter()).collect();
        for note in &notes {
            progress.line(&format!("note: {note}; waiting --settle twice"));
        }
        let settle = if notes.is_empty() {
            options.settle
        } else {
            options.settle * 2
        };
        merge_statuses(&mut observations.statuses, statuses);
        interrupt::sleep(settle)?;
        let started = Instant::now();
        let sockets = sandbox.probe()?;
        observations.timings.probe.push(started.elapsed());
        if sockets.is_empty() {
            // Ready, but none could be read (no shell, exec failing): a
            // restart reads no more.
            if !observations.runs.is_empty() {
                progress.line(&format!(
                    "no pod could be read in run {run}/{}: no further run",
                    options.runs
                ));
            }
            cut_short = Some(cut_short_at(run, options.runs, "no pod could be read in run"));
            break;
        }
        observations.runs.push(sockets);
    }
    // The chart's tests first, as after `helm install`; then netaudit's
    // client. Both after the last probe: their connections change no
    // socket the runs read.
    let tests = match &options.tests {
        Some(hooks) if !observations.runs.is_empty() => Some(run_tests(sandbox, hooks, options, progress)?),
        _ => None,
    };
    let exercise = match &options.exercise {
        Some(plan) if !observations.runs.is_empty() => Some(exercise(sandbox, plan, options, progress)?),
        _ => None,
    };
    Ok(Observed {
        observations,
        cut_short,
        exercise,
        tests,
    })
}

/// Run the chart's test hooks (`--run-tests`).
fn run_tests(
    sandbox: &mut dyn Sandbox,
    hooks: &[super::chart_tests::TestHook],
    options: &ProbeOptions,
    progress: &dyn Progress,
) -> anyhow::Result<ChartTests> {
    check_interrupt()?;
    if hooks.is_empty() {
        return Ok(ChartTests::default());
    }
    progress.line(&format!(
        "running the chart's {} (helm test)",
        crate::model::words::count(hooks.len(), "test hook", "test hooks")
    ));
    let mut tests = match sandbox.run_tests(hooks, options.timeout) {
        Ok(tests) => tests,
        Err(e) if interrupt::is_interrupt(&e) => return Err(e),
        // Said in the report; the probe's findings stand.
        Err(e) => ChartTests {
            failed: Some(format!("{e:#}")),
            ran: Vec::new(),
        },
    };
    if let Some(why) = tests.failed.as_mut() {
        options.redact(why);
    }
    for outcome in &mut tests.ran {
        if let Some(detail) = outcome.detail.as_mut() {
            options.redact(detail);
        }
    }
    Ok(tests)
}

/// Run the `--exercise` client (after the last probe: its connections
/// change no socket the runs read) and read what it tried. A client that
/// could not run, or did not finish within `--timeout`, is said in the
/// report; only an interrupt ends the probe.
fn exercise(
    sandbox: &mut dyn Sandbox,
    plan: &super::exercise::Plan,
    options: &ProbeOptions,
    progress: &dyn Progress,
) -> anyhow::Result<Exercise> {
    check_interrupt()?;
    progress.line(&format!(
        "exercising {} Service port(s) from a client pod ({})",
        plan.ports.len(),
        plan.client.image
    ));
    let run = match sandbox.run_client(&plan.client, options.timeout) {
        Ok(run) => run,
        Err(e) if interrupt::is_interrupt(&e) => return Err(e),
        Err(e) => super::exercise::ClientRun {
            failed: Some(format!("{e:#}")),
            ..Default::default()
        },
    };
    let mut failed = run.failed;
    if failed.is_none() && !super::exercise::finished(&run.output) {
        failed = Some("the client ended before it had tried every port".into());
    }
    if let Some(why) = failed.as_mut() {
        options.redact(why);
    }
    Ok(Exercise {
        pod: run.pod,
        failed,
        tried: super::exercise::tried(&run.output, &plan.ports),
    })
}

/// A pod that was not ready in any run stays not ready; details accumulate.
/// The restart replaces a controller's pods (new names, on Kubernetes): a
/// new pod of a workload whose earlier pod is gone continues that pod's
/// entry, so a workload broken in both runs is one entry, not one per run.
fn merge_statuses(all: &mut Vec<PodStatus>, new: Vec<PodStatus>) {
    let current: BTreeSet<String> = new.iter().map(|s| s.pod.clone()).collect();
    let mut continued = BTreeSet::new();
    for status in new {
        let same_pod = all.iter().position(|s| s.pod == status.pod);
        let replaced = || {
            all.iter().enumerate().position(|(index, s)| {
                s.owner == status.owner && !current.contains(&s.pod) && !continued.contains(&index)
            })
        };
        match same_pod.or_else(replaced) {
            Some(index) => {
                continued.insert(index);
                if !status.ready {
                    let existing = &mut all[index];
                    existing.pod = status.pod;
                    existing.ready = false;
                    existing.stopped = status.stopped;
                    existing.detail = status.detail;
                }
            }
            None => all.push(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OpenSocket, PodSockets};
    use crate::probe::Waiting;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// One second of timeout, no settle pause.
    fn options(runs: usize, keep: bool) -> ProbeOptions {
        ProbeOptions {
            exercise: None,
            tests: None,
            runs,
            timeout: Duration::from_secs(1),
            settle: Duration::ZERO,
            keep,
            secrets: Vec::new(),
        }
    }

    /// Progress written down: phase lines, notices, wait states.
    #[derive(Default)]
    struct Recorded {
        lines: RefCell<Vec<String>>,
        notices: RefCell<Vec<String>>,
        waits: RefCell<Vec<Waiting>>,
    }

    impl Progress for Recorded {
        fn line(&self, message: &str) {
            self.lines.borrow_mut().push(message.into());
        }
        fn notice(&self, message: &str) {
            self.notices.borrow_mut().push(message.into());
        }
        fn waiting(&self, state: &Waiting, _: Duration, _: Duration) {
            self.waits.borrow_mut().push(state.clone());
        }
    }

    /// A sandbox that records calls and fails where told.
    struct Scripted {
        log: Rc<RefCell<Vec<String>>>,
        fail_at: Option<&'static str>,
        panic_at: Option<&'static str>,
        /// The timeout each wait was given.
        timeouts: Vec<Duration>,
        /// The release runs no pod at all.
        no_pods: bool,
        /// Per wait, whether the pod is ready then (ready when not said).
        ready: Vec<bool>,
        waits: usize,
        /// What the sandbox could not probe.
        unprobed: Vec<String>,
        /// The ready pod could not be read (no shell): probing reads nothing.
        unreadable: bool,
    }

    impl Scripted {
        fn new(log: Rc<RefCell<Vec<String>>>, fail_at: Option<&'static str>, panic_at: Option<&'static str>) -> Self {
            Scripted {
                log,
                fail_at,
                panic_at,
                timeouts: Vec::new(),
                no_pods: false,
                ready: Vec::new(),
                waits: 0,
                unprobed: Vec::new(),
                unreadable: false,
            }
        }

        fn step(&self, name: &'static str) -> anyhow::Result<()> {
            self.log.borrow_mut().push(name.to_string());
            if self.panic_at == Some(name) {
                panic!("backend bug in {name}");
            }
            if self.fail_at == Some(name) {
                anyhow::bail!("{name} failed");
            }
            Ok(())
        }
    }

    impl Sandbox for Scripted {
        fn runtime(&self) -> &'static str {
            "scripted"
        }
        fn name(&self) -> &str {
            "scripted"
        }
        fn describe(&self) -> String {
            "scripted sandbox".into()
        }
        fn removal_hint(&self) -> String {
            "rm -rf scripted".into()
        }
        fn host_baseline(&mut self) -> anyhow::Result<Vec<OpenSocket>> {
            self.step("baseline").map(|_| Vec::new())
        }
        fn install(&mut self) -> anyhow::Result<()> {
            std::thread::sleep(Duration::from_millis(20));
            self.step("install")
        }
        fn wait_ready(
            &mut self,
            timeout: Duration,
            waiting: &mut dyn FnMut(&Waiting),
        ) -> anyhow::Result<Vec<PodStatus>> {
            self.timeouts.push(timeout);
            if self.no_pods {
                return self.step("wait").map(|_| Vec::new());
            }
            let ready = self.ready.get(self.waits).copied().unwrap_or(true);
            self.waits += 1;
            waiting(&Waiting {
                ready: usize::from(ready),
                total: 1,
                stopped: usize::from(!ready),
            });
            self.step("wait").map(|_| {
                vec![PodStatus {
                    pod: "p".into(),
                    owner: pod_p(),
                    ready,
                    stopped: !ready,
                    detail: if ready {
                        String::new()
                    } else {
                        "container app: image app:1.2.3 cannot be pulled (ErrImagePull: not found)".into()
                    },
                    notes: Vec::new(),
                }]
            })
        }
        fn probe(&mut self) -> anyhow::Result<Vec<PodSockets>> {
            self.step("probe")?;
            if self.unreadable {
                self.unprobed
                    .push("not probed: Pod `p` (pod p): container app: its image has no shell".into());
                return Ok(Vec::new());
            }
            Ok(vec![PodSockets {
                pod: "p".into(),
                owner: pod_p(),
                host_network: false,
                ephemeral_range: (32768, 60999),
                sockets: Vec::new(),
            }])
        }
        fn restart(&mut self) -> anyhow::Result<()> {
            self.step("restart")
        }
        fn notes(&mut self) -> Vec<String> {
            std::mem::take(&mut self.unprobed)
        }
        fn run_tests(
            &mut self,
            hooks: &[crate::probe::chart_tests::TestHook],
            _timeout: Duration,
        ) -> anyhow::Result<ChartTests> {
            self.step("tests")?;
            Ok(ChartTests {
                failed: None,
                ran: hooks.iter().map(|hook| hook.outcome(true, None)).collect(),
            })
        }
        fn cleanup(&mut self) -> anyhow::Result<()> {
            self.step("cleanup")
        }
    }

    /// `--run-tests`: the chart's tests run once, after the last probe and
    /// before cleanup; a sandbox that cannot run them says why in the
    /// report, and the probe's findings stand.
    #[test]
    fn chart_tests_run_after_the_last_probe_and_a_failure_to_run_them_is_reported() {
        let hook = crate::probe::chart_tests::TestHook {
            kind: "Pod".into(),
            name: "web-test".into(),
            namespace: "default".into(),
            weight: 0,
        };
        for fail_at in [None, Some("tests")] {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut sandbox = Scripted::new(log.clone(), fail_at, None);
            let mut options = options(2, false);
            options.tests = Some(vec![hook.clone()]);
            let evidence = run_probe(&mut sandbox, &options, Vec::new(), &Recorded::default()).unwrap();
            assert_eq!(
                *log.borrow(),
                ["baseline", "install", "wait", "probe", "restart", "wait", "probe", "tests", "cleanup"]
            );
            assert_eq!(evidence.observations.runs.len(), 2);
            let tests = evidence.probe.tests.expect("probe.tests");
            match fail_at {
                None => assert_eq!((tests.failed, tests.ran), (None, vec![hook.outcome(true, None)])),
                Some(_) => assert_eq!((tests.failed.as_deref(), tests.ran), (Some("tests failed"), Vec::new())),
            }
        }
    }

    fn pod_p() -> WorkloadRef {
        WorkloadRef {
            kind: "Pod".into(),
            namespace: "default".into(),
            name: "p".into(),
        }
    }

    fn run(
        fail_at: Option<&'static str>,
        panic_at: Option<&'static str>,
        keep: bool,
    ) -> (Vec<String>, Result<usize, String>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), fail_at, panic_at);
        let options = options(2, keep);
        let result = run_probe(&mut sandbox, &options, Vec::new(), &Recorded::default())
            .map(|o| o.observations.runs.len())
            .map_err(|e| format!("{e:#}"));
        let calls = log.borrow().clone();
        (calls, result)
    }

    #[test]
    fn happy_path_probes_twice_with_a_restart_and_cleans_up() {
        let (calls, result) = run(None, None, false);
        assert_eq!(result, Ok(2));
        assert_eq!(
            calls,
            ["baseline", "install", "wait", "probe", "restart", "wait", "probe", "cleanup"]
        );
    }

    #[test]
    fn the_evidence_says_how_the_probe_went() {
        let mut sandbox = Scripted::new(Rc::default(), None, None);
        let options = options(2, false);
        let job = WorkloadRef {
            kind: "Job".into(),
            namespace: "default".into(),
            name: "migrate".into(),
        };
        let evidence = run_probe(&mut sandbox, &options, vec![job.clone()], &Recorded::default()).unwrap();
        assert_eq!(evidence.probe.runtime, "scripted");
        assert_eq!(evidence.probe.runs, 2);
        assert_eq!(evidence.probe.not_probed, [job]);
        assert!(evidence.probe.incomplete.is_empty());
        assert_eq!(evidence.probe.timings.wait.len(), 2);
    }

    #[test]
    fn run_one_waits_only_what_the_install_left_of_the_timeout() {
        let mut sandbox = Scripted::new(Rc::default(), None, None);
        let options = options(2, false);
        let progress = Recorded::default();
        let evidence = run_probe(&mut sandbox, &options, Vec::new(), &progress).unwrap();
        let install = evidence.probe.timings.install;
        assert!(install >= Duration::from_millis(20));
        assert_eq!(
            sandbox.timeouts,
            [Duration::from_secs(1) - install, Duration::from_secs(1)]
        );
        // Each wait's standing reached the progress.
        assert_eq!(progress.waits.borrow().len(), 2);
    }

    #[test]
    fn no_pod_at_all_is_a_probe_incomplete_error() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), None, None);
        sandbox.no_pods = true;
        let job = WorkloadRef {
            kind: "Job".into(),
            namespace: "default".into(),
            name: "migrate".into(),
        };
        let error = run_probe(&mut sandbox, &options(2, false), vec![job], &Recorded::default()).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "probe incomplete: no pod was probed, so no runtime check judged anything: no workload of the release \
             produced a pod in the sandbox (1 run to completion and are not probed)"
        );
        // Nothing to read, nothing to restart.
        assert_eq!(*log.borrow(), ["baseline", "install", "wait", "cleanup"]);
    }

    #[test]
    fn nothing_ready_after_run_one_ends_the_probe_with_an_error_naming_the_pod() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), None, None);
        sandbox.ready = vec![false];
        let progress = Recorded::default();
        let mut options = options(2, false);
        options.secrets = vec![SecretValue {
            line: 1,
            key: "tag".into(),
            text: "app:1.2.3".into(),
        }];
        let error = run_probe(&mut sandbox, &options, Vec::new(), &progress).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "probe incomplete: no pod was probed, so no runtime check judged anything: pod p (Pod `p`) stopped for \
             good: container app: image <redacted> cannot be pulled (ErrImagePull: not found)"
        );
        // No probe, no restart, no second wait; the sandbox is removed.
        assert_eq!(*log.borrow(), ["baseline", "install", "wait", "cleanup"]);
        let lines = progress.lines.borrow();
        assert!(!lines.iter().any(|l| l.contains("run 2")), "{lines:?}");
        // The pod is named once: in the error, not in a progress line too.
        assert!(!lines.iter().any(|l| l.contains("pod p")), "{lines:?}");
        assert_eq!(progress.waits.borrow()[0].stopped, 1);
    }

    #[test]
    fn nothing_ready_in_run_two_keeps_run_one_and_says_the_probe_was_cut_short() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), None, None);
        sandbox.ready = vec![true, false];
        let progress = Recorded::default();
        let evidence = run_probe(&mut sandbox, &options(3, false), Vec::new(), &progress).unwrap();
        assert_eq!(
            *log.borrow(),
            ["baseline", "install", "wait", "probe", "restart", "wait", "cleanup"]
        );
        assert_eq!(evidence.observations.runs.len(), 1);
        assert_eq!(evidence.probe.runs, 1);
        assert_eq!(evidence.probe.incomplete.len(), 1);
        assert!(evidence.probe.incomplete[0].stopped);
        assert_eq!(
            evidence.notes,
            ["probe incomplete: 1 of 3 runs probed pods: no pod was ready after the wait of run 2, so no further run \
              followed"]
        );
        assert!(progress
            .lines
            .borrow()
            .contains(&"0/1 pods ready after the wait of run 2/3: nothing to probe, no further run".to_string()));
    }

    #[test]
    fn ready_pods_none_of_which_could_be_read_are_a_probe_incomplete_error() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), None, None);
        sandbox.unreadable = true;
        let error = run_probe(&mut sandbox, &options(2, false), Vec::new(), &Recorded::default()).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "probe incomplete: no pod was probed, so no runtime check judged anything: not read: Pod `p` (pod p): \
             container app: its image has no shell"
        );
        // A restart would read no more.
        assert_eq!(*log.borrow(), ["baseline", "install", "wait", "probe", "cleanup"]);
    }

    #[test]
    fn what_the_sandbox_could_not_probe_reaches_the_report_once() {
        let mut sandbox = Scripted::new(Rc::default(), None, None);
        sandbox.unprobed = vec![
            "not probed: Pod `x`: no shell".into(),
            "not probed: Pod `x`: no shell".into(),
        ];
        let evidence = run_probe(&mut sandbox, &options(1, false), Vec::new(), &Recorded::default()).unwrap();
        assert_eq!(evidence.notes, ["not probed: Pod `x`: no shell"]);
    }

    #[test]
    fn a_kept_sandbox_is_a_notice_and_in_the_report() {
        let mut sandbox = Scripted::new(Rc::default(), None, None);
        let options = options(1, true);
        let progress = Recorded::default();
        let evidence = run_probe(&mut sandbox, &options, Vec::new(), &progress).unwrap();
        assert_eq!(evidence.probe.kept.as_deref(), Some("rm -rf scripted"));
        assert_eq!(
            *progress.notices.borrow(),
            ["keeping the sandbox scripted sandbox; remove it with: rm -rf scripted"]
        );
        assert!(progress.lines.borrow().iter().all(|l| !l.contains("remove it with")));
    }

    #[test]
    fn every_failure_still_cleans_up() {
        for step in ["baseline", "install", "wait", "probe", "restart"] {
            let (calls, result) = run(Some(step), None, false);
            assert_eq!(result, Err(format!("{step} failed")), "{step}");
            assert_eq!(calls.last().map(String::as_str), Some("cleanup"), "{step}: {calls:?}");
        }
    }

    #[test]
    fn a_credential_in_an_error_is_redacted_and_a_failed_cleanup_stays_one() {
        let secret = |text: &str| SecretValue {
            line: 1,
            key: "password".into(),
            text: text.into(),
        };
        for (fail_at, said) in [
            ("install", "<redacted>"),
            ("cleanup", "cleaning up failed (<redacted>)"),
        ] {
            let mut sandbox = Scripted::new(Rc::default(), Some(fail_at), None);
            let mut options = options(1, false);
            options.secrets = vec![secret(&format!("{fail_at} failed"))];
            let error = run_probe(&mut sandbox, &options, Vec::new(), &Recorded::default()).unwrap_err();
            let message = format!("{error:#}");
            assert!(message.starts_with(said) && !message.contains(" failed)"), "{message}");
            assert_eq!(error.downcast_ref::<CleanupFailed>().is_some(), fail_at == "cleanup");
        }
    }

    #[test]
    fn a_backend_panic_still_cleans_up() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut sandbox = Scripted::new(log.clone(), None, Some("probe"));
        let options = options(1, false);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_probe(&mut sandbox, &options, Vec::new(), &Recorded::default())
        }));
        assert!(outcome.is_err(), "the panic propagates after cleanup");
        assert_eq!(log.borrow().last().map(String::as_str), Some("cleanup"));
    }

    #[test]
    fn keep_skips_cleanup_and_failed_cleanup_is_reported() {
        let (calls, _) = run(None, None, true);
        assert!(!calls.contains(&"cleanup".to_string()));
        let (_, result) = run(Some("cleanup"), None, false);
        let message = result.unwrap_err();
        assert!(
            message.contains("cleaning up failed") && message.contains("rm -rf scripted"),
            "{message}"
        );
    }

    fn status(pod: &str, workload: &str, ready: bool, detail: &str) -> PodStatus {
        PodStatus {
            pod: pod.into(),
            owner: WorkloadRef {
                kind: "Deployment".into(),
                namespace: "default".into(),
                name: workload.into(),
            },
            ready,
            stopped: !ready,
            detail: detail.into(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_replaced_pod_continues_the_entry_of_the_pod_it_replaced() {
        let mut all = Vec::new();
        merge_statuses(
            &mut all,
            vec![
                status("broken-a", "broken", false, "run 1"),
                status("web-a", "web", true, ""),
                status("web-b", "web", true, ""),
            ],
        );
        // The restart gave every pod a new name; broken is broken again,
        // one web pod is not ready this time.
        merge_statuses(
            &mut all,
            vec![
                status("broken-c", "broken", false, "run 2"),
                status("web-c", "web", false, "web run 2"),
                status("web-d", "web", true, ""),
            ],
        );
        let entries: Vec<(&str, bool, &str)> = all
            .iter()
            .map(|s| (s.pod.as_str(), s.ready, s.detail.as_str()))
            .collect();
        assert_eq!(
            entries,
            [
                ("broken-c", false, "run 2"),
                ("web-c", false, "web run 2"),
                ("web-b", true, "")
            ]
        );
        // A pod that keeps its name (podman) is matched by name, and a pod
        // not ready in run 1 stays not ready when run 2 finds it ready.
        merge_statuses(&mut all, vec![status("broken-c", "broken", true, "")]);
        assert!(!all[0].ready && all[0].detail == "run 2");
    }
}
