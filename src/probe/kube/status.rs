//! Why a pod is not ready, in words: its phase, conditions and container states.

use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod, PodStatus};

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

/// Waiting reasons that do not clear without a change to the pod or the
/// cluster (the kubelet keeps retrying, in vain).
const STUCK_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// A container in CrashLoopBackOff has failed this often before it counts
/// as stopped: one that crashes while a dependency starts gets its chance.
const CRASH_LOOP_RESTARTS: i32 = 2;

/// Why `pod` will not become ready, if it will not: a finished pod, a pod
/// that cannot be scheduled, an image that cannot be pulled, a container
/// that keeps crashing or exited for good.
pub(super) fn stopped_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if let Some(phase @ ("Failed" | "Succeeded")) = status.phase.as_deref() {
        return Some(format!("phase {phase}"));
    }
    let unschedulable = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"));
    if let Some(condition) = unschedulable {
        return Some(format!("unschedulable: {}", condition.message.as_deref().unwrap_or("")));
    }
    let restarts = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
        != "Never";
    for container in container_statuses(status) {
        let Some(state) = &container.state else { continue };
        let last_exit = container
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(|t| format!(", last exit code {}", t.exit_code))
            .unwrap_or_default();
        if let Some(waiting) = &state.waiting {
            let reason = waiting.reason.as_deref().unwrap_or("");
            let message = waiting.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            if STUCK_REASONS.contains(&reason) {
                return Some(format!("container {} {reason}{message}", container.name));
            }
            if reason == "CrashLoopBackOff" && container.restart_count >= CRASH_LOOP_RESTARTS {
                return Some(format!(
                    "container {} CrashLoopBackOff ({} restarts{last_exit})",
                    container.name, container.restart_count
                ));
            }
        }
        if let (Some(terminated), false) = (&state.terminated, restarts) {
            if terminated.exit_code != 0 {
                return Some(format!("container {} exited {}", container.name, terminated.exit_code));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn what_stops_a_pod_for_good() {
        let stopped = |status, policy| stopped_reason(&pod(status, policy));
        assert_eq!(
            stopped(waiting("ImagePullBackOff", 0), "Always").as_deref(),
            Some("container app ImagePullBackOff: m")
        );
        assert_eq!(
            stopped(waiting("CrashLoopBackOff", 2), "Always").as_deref(),
            Some("container app CrashLoopBackOff (2 restarts)")
        );
        // One crash while a dependency starts: still given a chance.
        assert_eq!(stopped(waiting("CrashLoopBackOff", 1), "Always"), None);
        assert_eq!(stopped(waiting("ContainerCreating", 0), "Always"), None);
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
    }
}
