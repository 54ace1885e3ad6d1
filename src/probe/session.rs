//! One probe, start to finish, on any [`Sandbox`]: baseline, install, wait,
//! probe, restart, probe again, and cleanup on every path (success, error,
//! timeout, panic, Ctrl-C/SIGTERM).

use super::{Progress, Sandbox};
use crate::model::secrets::{redact_owned, SecretValue};
use crate::model::{Evidence, Observations, PodStatus, ProbeReport, WorkloadRef};
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
pub fn run_probe(
    sandbox: &mut dyn Sandbox,
    options: &ProbeOptions,
    not_probed: Vec<WorkloadRef>,
    progress: &dyn Progress,
) -> anyhow::Result<Evidence> {
    let observations = observe(sandbox, options, progress).map_err(|error| options.redact_error(error))?;
    // The same pod may go unread in every run: said once.
    let mut notes: Vec<String> = sandbox.notes();
    notes.iter_mut().for_each(|note| options.redact(note));
    notes.sort();
    notes.dedup();
    if observations.statuses.is_empty() {
        notes.push(format!(
            "probe incomplete: no workload of the release produced a pod in the sandbox ({}), so no runtime \
             check saw anything",
            if not_probed.is_empty() {
                "replicas 0, or pods the cluster never created".to_string()
            } else {
                format!("{} run to completion and are not probed", not_probed.len())
            }
        ));
    }
    let probe = ProbeReport {
        runtime: sandbox.runtime().into(),
        sandbox: sandbox.name().into(),
        runs: options.runs,
        incomplete: observations.not_ready().cloned().collect(),
        waited_for_readiness: true,
        not_probed,
        timings: observations.timings.clone(),
        kept: options.keep.then(|| sandbox.removal_hint()),
    };
    Ok(Evidence {
        observations,
        probe,
        notes,
    })
}

/// The probe itself, with cleanup on every path.
fn observe(sandbox: &mut dyn Sandbox, options: &ProbeOptions, progress: &dyn Progress) -> anyhow::Result<Observations> {
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
        if let Ok(Ok(observations)) = &mut body {
            observations.timings.cleanup = started.elapsed();
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

fn probe_steps(
    sandbox: &mut dyn Sandbox,
    options: &ProbeOptions,
    progress: &dyn Progress,
) -> anyhow::Result<Observations> {
    let mut observations = Observations::default();
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
            let mut state = state.clone();
            state.stopped.iter_mut().for_each(|(_, why)| options.redact(why));
            progress.waiting(&state, started.elapsed(), timeout)
        })?;
        statuses
            .iter_mut()
            .for_each(|status| options.redact(&mut status.detail));
        observations.timings.wait.push(started.elapsed());
        let ready = statuses.iter().filter(|s| s.ready).count();
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
        observations.runs.push(sockets);
    }
    Ok(observations)
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
        /// What the sandbox could not probe.
        unprobed: Vec<String>,
    }

    impl Scripted {
        fn new(log: Rc<RefCell<Vec<String>>>, fail_at: Option<&'static str>, panic_at: Option<&'static str>) -> Self {
            Scripted {
                log,
                fail_at,
                panic_at,
                timeouts: Vec::new(),
                no_pods: false,
                unprobed: Vec::new(),
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
            waiting(&Waiting {
                ready: 1,
                total: 1,
                stopped: Vec::new(),
            });
            self.step("wait").map(|_| {
                vec![PodStatus {
                    pod: "p".into(),
                    owner: WorkloadRef {
                        kind: "Pod".into(),
                        namespace: "default".into(),
                        name: "p".into(),
                    },
                    ready: true,
                    stopped: false,
                    detail: String::new(),
                    notes: Vec::new(),
                }]
            })
        }
        fn probe(&mut self) -> anyhow::Result<Vec<PodSockets>> {
            self.step("probe").map(|_| Vec::new())
        }
        fn restart(&mut self) -> anyhow::Result<()> {
            self.step("restart")
        }
        fn notes(&mut self) -> Vec<String> {
            std::mem::take(&mut self.unprobed)
        }
        fn cleanup(&mut self) -> anyhow::Result<()> {
            self.step("cleanup")
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
    fn no_pod_at_all_is_a_probe_incomplete_note() {
        let mut sandbox = Scripted::new(Rc::default(), None, None);
        sandbox.no_pods = true;
        let options = options(1, false);
        let evidence = run_probe(&mut sandbox, &options, Vec::new(), &Recorded::default()).unwrap();
        assert_eq!(evidence.notes.len(), 1, "{:?}", evidence.notes);
        assert!(
            evidence.notes[0].starts_with("probe incomplete: no workload of the release produced a pod"),
            "{}",
            evidence.notes[0]
        );
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
