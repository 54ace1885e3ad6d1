//! Readiness probes, run as the kubelet runs them: podman 4.3 ignores
//! them, so the sandbox evaluates each container's `readinessProbe` itself
//! before it reads any socket. A pod read before its application is up
//! gives false findings (ports not open yet, boot-time sockets).
//!
//! Kubelet semantics (`pkg/kubelet/prober`): the first probe runs
//! `initialDelaySeconds` after the container starts, then one every
//! `periodSeconds`; a probe that takes longer than `timeoutSeconds` fails.
//! The container becomes ready after `successThreshold` consecutive
//! successes, and unready again after `failureThreshold` consecutive
//! failures. Defaults: 0 s delay, 10 s period, 1 s timeout, 1 success,
//! 3 failures.
//!
//! How each kind is evaluated here:
//! - `exec`: the command runs in the container (`podman exec`), exit 0 is
//!   success, as the kubelet does;
//! - `tcpSocket`: the port listens in the pod's network namespace (what a
//!   connection would find);
//! - `httpGet` and `grpc`: the port listens; the request itself is not
//!   made (the pod's network is not reachable from here), which the
//!   status says, and the caller waits `--settle` once more.

use serde_json::Value;
use std::time::{Duration, Instant};

/// What a probe checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Check {
    /// The port listens.
    Port(u16),
    /// The command exits 0 in the container.
    Exec(Vec<String>),
}

/// A container's readiness probe, with the kubelet's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    /// `exec`, `tcpSocket`, `httpGet` or `grpc`.
    pub(super) kind: &'static str,
    pub(super) check: Check,
    pub(super) initial_delay: Duration,
    pub(super) period: Duration,
    pub(super) timeout: Duration,
    pub(super) success_threshold: u32,
    pub(super) failure_threshold: u32,
}

impl Probe {
    /// The readiness probe of a container (its pod-spec JSON), if it has one
    /// that names something to check. `Err` says why a probe cannot be
    /// evaluated (a named port no container declares, an empty command).
    pub(super) fn of(container: &Value) -> Option<Result<Probe, String>> {
        let probe = container.get("readinessProbe")?;
        let seconds = |field: &str, default: u64| {
            Duration::from_secs(probe.get(field).and_then(Value::as_u64).unwrap_or(default))
        };
        let count = |field: &str, default: u32| {
            probe
                .get(field)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let port = |kind: &'static str, pointer: &str| {
            let port = probe.pointer(pointer)?;
            Some(
                resolve_port(container, port)
                    .map(|p| (kind, Check::Port(p)))
                    .ok_or_else(|| {
                        format!("its {kind} readiness probe names port {port}, which the container does not declare")
                    }),
            )
        };
        let check = if let Some(command) = probe.pointer("/exec/command") {
            let command: Vec<String> = command
                .as_array()
                .map(|c| c.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            if command.is_empty() {
                Err("its exec readiness probe has no command".to_string())
            } else {
                Ok(("exec", Check::Exec(command)))
            }
        } else {
            port("tcpSocket", "/tcpSocket/port")
                .or_else(|| port("httpGet", "/httpGet/port"))
                .or_else(|| port("grpc", "/grpc/port"))?
        };
        Some(check.map(|(kind, check)| Probe {
            kind,
            check,
            initial_delay: seconds("initialDelaySeconds", 0),
            period: seconds("periodSeconds", 10).max(Duration::from_secs(1)),
            timeout: seconds("timeoutSeconds", 1).max(Duration::from_secs(1)),
            success_threshold: count("successThreshold", 1),
            failure_threshold: count("failureThreshold", 3),
        }))
    }

    /// Whether the check itself is what the kubelet does (`exec`,
    /// `tcpSocket`), or only its port (`httpGet`, `grpc`).
    pub(super) fn evaluated_fully(&self) -> bool {
        matches!(self.kind, "exec" | "tcpSocket")
    }
}

/// A port number, or the name of one of the container's ports.
fn resolve_port(container: &Value, port: &Value) -> Option<u16> {
    match port {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(name) => container.get("ports")?.as_array()?.iter().find_map(|p| {
            (p.get("name")?.as_str()? == name)
                .then(|| p.get("containerPort")?.as_u64().and_then(|n| u16::try_from(n).ok()))?
        }),
        _ => None,
    }
}

/// Where one container's probing stands, from the moment it was seen running.
#[derive(Debug, Clone)]
pub(super) struct Tracker {
    started: Instant,
    next: Instant,
    successes: u32,
    failures: u32,
    ready: bool,
    /// The last failure, for the not-ready detail.
    pub(super) last_failure: Option<String>,
}

impl Tracker {
    /// A container seen running at `started`: its first probe is due after
    /// the initial delay.
    pub(super) fn new(probe: &Probe, started: Instant) -> Tracker {
        Tracker {
            started,
            next: started + probe.initial_delay,
            successes: 0,
            failures: 0,
            ready: false,
            last_failure: None,
        }
    }

    pub(super) fn ready(&self) -> bool {
        self.ready
    }

    pub(super) fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Record the result of the probe that was due (`Err`: why it failed).
    pub(super) fn record(&mut self, probe: &Probe, result: Result<(), String>, now: Instant) {
        // The next probe is one period after this one was due, as the
        // kubelet's ticker runs; a tick missed by a slow probe is dropped.
        self.next += probe.period;
        if self.next <= now {
            self.next = now + probe.period;
        }
        match result {
            Ok(()) => {
                self.failures = 0;
                self.successes += 1;
                if self.successes >= probe.success_threshold {
                    self.ready = true;
                }
            }
            Err(why) => {
                self.successes = 0;
                self.failures += 1;
                if self.failures >= probe.failure_threshold {
                    self.ready = false;
                }
                self.last_failure = Some(why);
            }
        }
    }

    /// How long the container has been watched.
    pub(super) fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn probe(spec: Value) -> Probe {
        Probe::of(&spec).expect("a probe").expect("evaluable")
    }

    #[test]
    fn probes_take_the_kubelet_defaults() {
        let p = probe(
            json!({"readinessProbe": {"exec": {"command": ["rabbitmq-diagnostics", "-q", "check_port_connectivity"]}}}),
        );
        assert_eq!(p.kind, "exec");
        assert_eq!(
            p.check,
            Check::Exec(vec![
                "rabbitmq-diagnostics".into(),
                "-q".into(),
                "check_port_connectivity".into()
            ])
        );
        assert_eq!(
            (
                p.initial_delay,
                p.period,
                p.timeout,
                p.success_threshold,
                p.failure_threshold
            ),
            (Duration::ZERO, Duration::from_secs(10), Duration::from_secs(1), 1, 3)
        );
        assert!(p.evaluated_fully());
        let p = probe(json!({
            "ports": [{"name": "amqp", "containerPort": 5672}],
            "readinessProbe": {"tcpSocket": {"port": "amqp"}, "initialDelaySeconds": 5, "periodSeconds": 2,
                               "timeoutSeconds": 3, "successThreshold": 2, "failureThreshold": 4}
        }));
        assert_eq!(
            (
                p.kind,
                p.check.clone(),
                p.initial_delay,
                p.period,
                p.timeout,
                p.success_threshold,
                p.failure_threshold
            ),
            (
                "tcpSocket",
                Check::Port(5672),
                Duration::from_secs(5),
                Duration::from_secs(2),
                Duration::from_secs(3),
                2,
                4
            )
        );
        let p = probe(json!({"readinessProbe": {"grpc": {"port": 9090}}}));
        assert_eq!(
            (p.kind, p.check.clone(), p.evaluated_fully()),
            ("grpc", Check::Port(9090), false)
        );
        let p = probe(json!({"readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}));
        assert_eq!((p.kind, p.evaluated_fully()), ("httpGet", false));
        assert!(Probe::of(&json!({"image": "x"})).is_none());
        assert_eq!(
            Probe::of(&json!({"readinessProbe": {"tcpSocket": {"port": "missing"}}})),
            Some(Err(
                "its tcpSocket readiness probe names port \"missing\", which the container does not declare".into()
            ))
        );
        assert!(Probe::of(&json!({"readinessProbe": {"exec": {"command": []}}}))
            .unwrap()
            .is_err());
    }

    #[test]
    fn trackers_follow_the_kubelet_timeline() {
        let p = probe(
            json!({"readinessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 5,
                                                "periodSeconds": 2, "successThreshold": 2, "failureThreshold": 2}}),
        );
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tracker = Tracker::new(&p, t0);
        // Nothing before the initial delay.
        assert!(!tracker.due(at(4)));
        assert!(tracker.due(at(5)));
        tracker.record(&p, Err("exit 1".into()), at(5));
        assert!(!tracker.ready() && !tracker.due(at(6)) && tracker.due(at(7)));
        // Two successes in a row are needed.
        tracker.record(&p, Ok(()), at(7));
        assert!(!tracker.ready());
        tracker.record(&p, Ok(()), at(9));
        assert!(tracker.ready());
        // One failure is not enough to become unready; two are.
        tracker.record(&p, Err("exit 1".into()), at(11));
        assert!(tracker.ready());
        tracker.record(&p, Err("exit 1".into()), at(13));
        assert!(!tracker.ready());
        assert_eq!(tracker.last_failure.as_deref(), Some("exit 1"));
        // Recorded late (a slow probe, a busy loop): the missed ticks are
        // dropped, the next probe is one period later.
        tracker.record(&p, Ok(()), at(30));
        assert!(!tracker.due(at(31)) && tracker.due(at(32)));
        assert_eq!(tracker.age(at(30)), Duration::from_secs(30));
    }
}
