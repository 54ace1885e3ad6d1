//! Why a pod is not ready, in words: its phase, conditions and container
//! states; and why it stopped for good ([`Stop`]), in one short line.

use crate::model::secrets::{redact_text, SecretValue};
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod, PodStatus};
use std::fmt;

pub(super) fn event_time(event: &Event) -> Option<k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
}

/// The statuses of the init containers, then of the containers.
fn container_statuses(status: &PodStatus) -> impl Iterator<Item = &ContainerStatus> {
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
}

/// Phase, false conditions and container states of a pod, in words.
pub(super) fn pod_status_summary(pod: &Pod) -> Vec<String> {
    let mut parts = Vec::new();
    let Some(status) = &pod.status else {
        return vec!["no status yet".into()];
    };
    parts.push(format!("phase {}", status.phase.as_deref().unwrap_or("Unknown")));
    for condition in status.conditions.iter().flatten() {
        if condition.status != "True" {
            let mut text = format!("{}={}", condition.type_, condition.status);
            let why: Vec<&str> = [condition.reason.as_deref(), condition.message.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !why.is_empty() {
                text.push_str(&format!(" ({})", why.join(": ")));
            }
            parts.push(text);
        }
    }
    for container in container_statuses(status) {
        if container.ready {
            continue;
        }
        let mut text = format!("container {}", container.name);
        if let Some(state) = &container.state {
            if let Some(w) = &state.waiting {
                text.push_str(&format!(
                    ": waiting ({}{})",
                    w.reason.as_deref().unwrap_or("?"),
                    w.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                ));
            } else if let Some(t) = &state.terminated {
                text.push_str(&format!(
                    ": terminated ({}, exit code {})",
                    t.reason.as_deref().unwrap_or("?"),
                    t.exit_code
                ));
            } else if state.running.is_some() {
                text.push_str(": running, not ready");
            }
        }
        if let Some(t) = container.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            text.push_str(&format!(
                ", last exit: {} (exit code {})",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            ));
        }
        if container.restart_count > 0 {
            text.push_str(&format!(", {} restarts", container.restart_count));
        }
        parts.push(text);
    }
    parts
}

/// The longest kubelet message a line carries (its innermost part).
const MESSAGE_LIMIT: usize = 160;

/// A container in CrashLoopBackOff has failed this often before it counts
/// as stopped: one that crashes while a dependency starts gets its chance.
const CRASH_LOOP_RESTARTS: i32 = 2;

/// Why a pod will not become ready without a change to it or to the
/// cluster (the kubelet keeps retrying, in vain). Said in one line
/// ([`fmt::Display`]): the reason, the container and image it concerns,
/// and the kubelet's message shortened ([`short_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stop {
    /// A finished pod (`Failed`, `Succeeded`), with the kubelet's reason.
    Phase { phase: String, why: String },
    /// The scheduler's message.
    Unschedulable(String),
    /// ErrImagePull, ImagePullBackOff: `cause` is the pull error, empty
    /// when the kubelet said only "Back-off pulling image" (the pod's
    /// events have it: [`Stop::pull_image`]).
    Pull {
        container: String,
        image: String,
        reason: String,
        cause: String,
    },
    /// ErrImageNeverPull: not on the node, and `imagePullPolicy: Never`.
    NeverPull { container: String, image: String },
    /// InvalidImageName.
    BadImageName {
        container: String,
        image: String,
        cause: String,
    },
    /// CreateContainerConfigError, CreateContainerError (a Secret or
    /// ConfigMap key that is not there, …).
    NotCreated {
        container: String,
        reason: String,
        cause: String,
    },
    /// CrashLoopBackOff after [`CRASH_LOOP_RESTARTS`] restarts.
    CrashLoop {
        container: String,
        restarts: i32,
        last_exit: Option<i32>,
    },
    /// Exited with an error, and `restartPolicy: Never`.
    Exited { container: String, code: i32 },
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let because = |reason: &str, cause: &str| {
            if cause.is_empty() {
                reason.to_string()
            } else {
                format!("{reason}: {cause}")
            }
        };
        match self {
            Stop::Phase { phase, why } if why.is_empty() => write!(f, "phase {phase}"),
            Stop::Phase { phase, why } => write!(f, "phase {phase} ({why})"),
            Stop::Unschedulable(message) => write!(f, "unschedulable: {message}"),
            Stop::Pull {
                container,
                image,
                reason,
                cause,
            } => write!(
                f,
                "container {container}: image {image} cannot be pulled ({})",
                because(reason, cause)
            ),
            Stop::NeverPull { container, image } => write!(
                f,
                "container {container}: image {image} is not on the node and its imagePullPolicy is Never \
                 (ErrImageNeverPull)"
            ),
            Stop::BadImageName {
                container,
                image,
                cause,
            } => write!(
                f,
                "container {container}: image {image} is not a valid image reference ({})",
                because("InvalidImageName", cause)
            ),
            Stop::NotCreated {
                container,
                reason,
                cause,
            } => write!(
                f,
                "container {container} cannot be created ({})",
                because(reason, cause)
            ),
            Stop::CrashLoop {
                container,
                restarts,
                last_exit,
            } => {
                let exit = last_exit
                    .map(|code| format!(", last exit code {code}"))
                    .unwrap_or_default();
                write!(f, "container {container} CrashLoopBackOff ({restarts} restarts{exit})")
            }
            Stop::Exited { container, code } => write!(f, "container {container} exited {code}"),
        }
    }
}

impl Stop {
    /// The image whose pull error the kubelet no longer says (back-off):
    /// the pod's last `Failed` event has it.
    pub(super) fn pull_image(&self) -> Option<&str> {
        match self {
            Stop::Pull { image, cause, .. } if cause.is_empty() => Some(image),
            _ => None,
        }
    }

    /// Fill in the pull error [`Stop::pull_image`] asked for.
    pub(super) fn set_pull_cause(&mut self, found: String) {
        if let Stop::Pull { cause, .. } = self {
            *cause = found;
        }
    }

    /// The container whose last log line says why it stopped.
    pub(super) fn crashed_container(&self) -> Option<&str> {
        match self {
            Stop::CrashLoop { container, .. } | Stop::Exited { container, .. } => Some(container),
            _ => None,
        }
    }
}

/// Why `pod` will not become ready, if it will not: a finished pod, a pod
/// that cannot be scheduled, an image that cannot be pulled, a container
/// that cannot be created, keeps crashing or exited for good. The
/// kubelet's messages are redacted (`secrets`) before they are shortened,
/// so that no part of a credential survives the cut.
pub(super) fn stopped_reason(pod: &Pod, secrets: &[SecretValue]) -> Option<Stop> {
    let status = pod.status.as_ref()?;
    if let Some(phase @ ("Failed" | "Succeeded")) = status.phase.as_deref() {
        let why: Vec<&str> = [status.reason.as_deref(), status.message.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        return Some(Stop::Phase {
            phase: phase.to_string(),
            why: short_message(&redact_text(&why.join(": "), secrets), ""),
        });
    }
    let unschedulable = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"));
    if let Some(condition) = unschedulable {
        let message = condition.message.as_deref().unwrap_or("");
        return Some(Stop::Unschedulable(short_message(&redact_text(message, secrets), "")));
    }
    let restarts = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
        != "Never";
    for container_status in container_statuses(status) {
        let Some(state) = &container_status.state else { continue };
        let container = container_status.name.clone();
        if let Some(waiting) = &state.waiting {
            let reason = waiting.reason.clone().unwrap_or_default();
            let image = image_of(pod, container_status);
            let cause = short_message(&redact_text(waiting.message.as_deref().unwrap_or(""), secrets), &image);
            let stop = match reason.as_str() {
                "ErrImagePull" | "ImagePullBackOff" => Stop::Pull {
                    container,
                    image,
                    reason,
                    cause,
                },
                "ErrImageNeverPull" => Stop::NeverPull { container, image },
                "InvalidImageName" => Stop::BadImageName {
                    container,
                    image,
                    cause,
                },
                "CreateContainerConfigError" | "CreateContainerError" => Stop::NotCreated {
                    container,
                    reason,
                    cause,
                },
                "CrashLoopBackOff" if container_status.restart_count >= CRASH_LOOP_RESTARTS => Stop::CrashLoop {
                    container,
                    restarts: container_status.restart_count,
                    last_exit: container_status
                        .last_state
                        .as_ref()
                        .and_then(|s| s.terminated.as_ref())
                        .map(|t| t.exit_code),
                },
                _ => continue,
            };
            return Some(stop);
        }
        if let (Some(terminated), false) = (&state.terminated, restarts) {
            if terminated.exit_code != 0 {
                return Some(Stop::Exited {
                    container,
                    code: terminated.exit_code,
                });
            }
        }
    }
    None
}

/// The image of a container, as its pod's spec names it (the status may
/// say it normalized, `docker.io/library/…`).
fn image_of(pod: &Pod, status: &ContainerStatus) -> String {
    let spec = pod.spec.as_ref();
    spec.into_iter()
        .flat_map(|s| s.init_containers.iter().flatten().chain(s.containers.iter()))
        .find(|c| c.name == status.name)
        .and_then(|c| c.image.clone())
        .filter(|image| !image.is_empty())
        .unwrap_or_else(|| status.image.clone())
}

/// A kubelet or container runtime message in a few words: without the
/// gRPC wrapper (`rpc error: code = Unknown desc = `), without the parts of
/// its error chain that only restate `image` (which the line names
/// already), each part once, and when still long, its innermost parts
/// (what went wrong in the end). Empty when nothing is left.
pub(super) fn short_message(message: &str, image: &str) -> String {
    let mut text = message.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(start) = text.find("rpc error: code = ") {
        let Some(desc) = text[start..].find(" desc = ") else {
            break;
        };
        text.replace_range(start..start + desc + " desc = ".len(), "");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ").map(str::trim) {
        let restates_image = !image.is_empty() && part.contains(image);
        if !part.is_empty() && !restates_image && !parts.contains(&part) {
            parts.push(part);
        }
    }
    // The innermost parts that fit.
    let mut kept = 0;
    let mut length = 0;
    for part in parts.iter().rev() {
        let more = part.chars().count() + if kept == 0 { 0 } else { 2 };
        if kept > 0 && length + more > MESSAGE_LIMIT {
            break;
        }
        kept += 1;
        length += more;
    }
    let mut short = parts[parts.len() - kept..].join(": ");
    if kept < parts.len() {
        short.insert_str(0, "…: ");
    }
    if short.chars().count() > MESSAGE_LIMIT {
        short = short.chars().take(MESSAGE_LIMIT).collect::<String>() + "…";
    }
    short
}

/// A container's last log line, for a stopped pod's line: redacted, then
/// cut to [`MESSAGE_LIMIT`] characters.
pub(super) fn last_line(logs: &str, secrets: &[SecretValue]) -> Option<String> {
    let line = logs.lines().map(str::trim).rfind(|line| !line.is_empty())?;
    let line = redact_text(line, secrets);
    Some(if line.chars().count() > MESSAGE_LIMIT {
        line.chars().take(MESSAGE_LIMIT).collect::<String>() + "…"
    } else {
        line.into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::PULL_ERROR;
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value, restart_policy: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"restartPolicy": restart_policy, "containers": [{"name": "app"}]},
            "status": status,
        }))
        .unwrap()
    }

    fn waiting(reason: &str, restarts: i32) -> serde_json::Value {
        json!({"phase": "Pending", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": restarts, "image": "i", "imageID": "",
            "state": {"waiting": {"reason": reason, "message": "m"}},
        }]})
    }

    fn stopped(status: serde_json::Value, policy: &str) -> Option<String> {
        stopped_reason(&pod(status, policy), &[]).map(|stop| stop.to_string())
    }

    #[test]
    fn what_stops_a_pod_for_good() {
        assert_eq!(
            stopped(waiting("ImagePullBackOff", 0), "Always").as_deref(),
            Some("container app: image i cannot be pulled (ImagePullBackOff: m)")
        );
        assert_eq!(
            stopped(waiting("CrashLoopBackOff", 2), "Always").as_deref(),
            Some("container app CrashLoopBackOff (2 restarts)")
        );
        // One crash while a dependency starts: still given a chance.
        assert_eq!(stopped(waiting("CrashLoopBackOff", 1), "Always"), None);
        assert_eq!(stopped(waiting("ContainerCreating", 0), "Always"), None);
        assert_eq!(
            stopped(waiting("CreateContainerConfigError", 0), "Always").as_deref(),
            Some("container app cannot be created (CreateContainerConfigError: m)")
        );
        assert_eq!(
            stopped(waiting("ErrImageNeverPull", 0), "Always").as_deref(),
            Some("container app: image i is not on the node and its imagePullPolicy is Never (ErrImageNeverPull)")
        );
        let unschedulable = json!({"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient memory.",
        }]});
        assert_eq!(
            stopped(unschedulable, "Always").as_deref(),
            Some("unschedulable: 0/1 nodes are available: 1 Insufficient memory.")
        );
        let exited = json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
            "state": {"terminated": {"exitCode": 3}},
        }]});
        assert_eq!(
            stopped(exited.clone(), "Never").as_deref(),
            Some("container app exited 3")
        );
        // Restarting: the kubelet runs it again.
        assert_eq!(stopped(exited, "Always"), None);
        assert_eq!(
            stopped(json!({"phase": "Failed"}), "Never").as_deref(),
            Some("phase Failed")
        );
        let evicted =
            json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."});
        assert_eq!(
            stopped(evicted, "Always").as_deref(),
            Some("phase Failed (Evicted: The node was low on resource: memory.)")
        );
    }

    #[test]
    fn an_image_pull_error_is_one_short_line_naming_the_image_once() {
        let mut status = waiting("ErrImagePull", 0);
        status["containerStatuses"][0]["image"] = json!("localhost/netaudit-no-such-image:1.0");
        status["containerStatuses"][0]["state"]["waiting"]["message"] = json!(PULL_ERROR);
        let mut pod = pod(status, "Always");
        // The spec's name of the image is the one said.
        pod.spec.as_mut().unwrap().containers[0].image = Some("localhost/netaudit-no-such-image:1.0".into());
        let line = stopped_reason(&pod, &[]).unwrap().to_string();
        assert_eq!(
            line,
            "container app: image localhost/netaudit-no-such-image:1.0 cannot be pulled (ErrImagePull: failed to do \
             request: Head \"https://localhost/v2/netaudit-no-such-image/manifests/1.0\": dial tcp 127.0.0.1:443: \
             connect: connection refused)"
        );
        assert_eq!(line.matches("netaudit-no-such-image:1.0").count(), 1, "{line}");
        assert!(!line.contains("rpc error"), "{line}");
    }

    #[test]
    fn kubelet_messages_are_shortened_to_their_innermost_parts() {
        let image = "localhost/netaudit-no-such-image:1.0";
        // Only restating the image: nothing left.
        assert_eq!(short_message(&format!("Back-off pulling image \"{image}\""), image), "");
        assert_eq!(short_message("", image), "");
        // Each part once, whitespace folded.
        assert_eq!(short_message("a: b:  c: b\n", ""), "a: b: c");
        assert_eq!(
            short_message(
                "rpc error: code = NotFound desc = failed to pull: docker.io/x:1: not found",
                "docker.io/x:1"
            ),
            "failed to pull: not found"
        );
        // Long chains keep their innermost parts, marked as cut.
        let chain: Vec<String> = (0..40).map(|i| format!("layer {i} failed")).collect();
        let short = short_message(&chain.join(": "), "");
        assert!(
            short.starts_with("…: ") && short.ends_with("layer 39 failed"),
            "{short}"
        );
        assert!(short.chars().count() <= MESSAGE_LIMIT + 3, "{short}");
        // One endless part is cut at the limit.
        let short = short_message(&"x".repeat(1000), "");
        assert_eq!(short.chars().count(), MESSAGE_LIMIT + 1);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn credentials_are_redacted_before_a_message_is_cut() {
        let secret = crate::model::secrets::SecretValue {
            line: 1,
            key: "password".into(),
            text: "hunter2-but-longer".into(),
        };
        // The credential straddles the cut: redacted first, nothing of it is left.
        let message = format!("{}: token hunter2-but-longer rejected", "y".repeat(150));
        let mut status = waiting("CreateContainerError", 0);
        status["containerStatuses"][0]["state"]["waiting"]["message"] = json!(message);
        let line = stopped_reason(&pod(status, "Always"), std::slice::from_ref(&secret))
            .unwrap()
            .to_string();
        assert!(
            line.contains("token <redacted> rejected") && !line.contains("hunter"),
            "{line}"
        );
        let logs = format!("starting\n{} hunter2-but-longer\n\n", "z".repeat(155));
        let last = last_line(&logs, std::slice::from_ref(&secret)).unwrap();
        assert!(!last.contains("hunter") && last.ends_with('…'), "{last}");
    }
}
