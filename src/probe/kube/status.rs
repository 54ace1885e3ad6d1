//! Why a pod is not ready, in words: its phase, conditions and container states.

use k8s_openapi::api::core::v1::{Event, Pod};

pub(super) fn event_time(event: &Event) -> Option<k8s_openapi::chrono::DateTime<k8s_openapi::chrono::Utc>> {
    event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
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
    let containers = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in containers {
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
