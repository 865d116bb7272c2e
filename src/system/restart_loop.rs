//! Whether the relayer pod's container is restarting in a loop, read from the pod cache (no
//! request): a container in CrashLoopBackOff, or one that has restarted (`restartCount` > 0)
//! and is now waiting, terminated, or running for less than [`SETTLE`]. While
//! it is, nothing execs into it — an exec would fail or find nothing running, and a `rly start`
//! begun there dies with the next exit — and the continuous reconciler waits; once the container
//! has run quietly for [`SETTLE`] it heals as usual.

use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

/// How long a restarted container must have run before anyone execs into it: longer than a
/// crash-looping container's short runs between its back-offs.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The reason, when the pod's container is restarting in a loop or has not yet run for
/// [`SETTLE`] since its last restart; `None` for a pod whose containers never restarted or
/// have run quietly since.
pub fn restart_loop(pod: &Pod, now: jiff::Timestamp) -> Option<String> {
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let backing_off = |c: &&k8s_openapi::api::core::v1::ContainerStatus| {
        let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
        waiting.and_then(|w| w.reason.as_deref()) == Some("CrashLoopBackOff")
    };
    statuses.iter().filter(|c| c.restart_count > 0 || backing_off(c)).find_map(|c| {
        let restarts = c.restart_count;
        let state = c.state.as_ref();
        if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
            let reason = waiting.reason.as_deref().unwrap_or("waiting");
            return Some(format!(
                "relayer pod {name} is restarting in a loop (restartCount {restarts}, {reason}): \
                 no exec into it until it has run {}s",
                SETTLE.as_secs()
            ));
        }
        if state.and_then(|s| s.terminated.as_ref()).is_some() {
            return Some(format!(
                "relayer pod {name} is restarting in a loop (restartCount {restarts}, container terminated): \
                 no exec into it until it has run {}s",
                SETTLE.as_secs()
            ));
        }
        let started = state.and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref())?;
        let ran = now.duration_since(started.0).as_secs_f64().max(0.0);
        (ran < SETTLE.as_secs_f64()).then(|| {
            format!(
                "relayer pod {name} is restarting in a loop (restartCount {restarts}): it restarted {ran:.0}s ago, \
                 no exec into it until it has run {}s",
                SETTLE.as_secs()
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "r"}, "status": {"containerStatuses": [status]}}))
            .unwrap()
    }

    #[test]
    fn a_container_in_back_off_or_just_restarted_is_looping_until_it_has_run_the_settle_time() {
        let now: jiff::Timestamp = "2026-01-01T00:01:00Z".parse().unwrap();
        let c = |restarts: i32, state: serde_json::Value| {
            json!({"name": "relayer", "image": "i", "imageID": "", "ready": false, "restartCount": restarts,
                   "state": state})
        };
        let waiting = c(3, json!({"waiting": {"reason": "CrashLoopBackOff"}}));
        let reason = restart_loop(&pod(waiting), now).unwrap();
        assert!(reason.contains("restarting in a loop (restartCount 3, CrashLoopBackOff)"), "{reason}");
        let just = c(4, json!({"running": {"startedAt": "2026-01-01T00:00:58Z"}}));
        assert!(restart_loop(&pod(just), now).unwrap().contains("restarted 2s ago"));
        let settled = c(4, json!({"running": {"startedAt": "2026-01-01T00:00:50Z"}}));
        assert_eq!(restart_loop(&pod(settled), now), None);
        // A fresh container (never restarted) is not in a loop, however young.
        let fresh = c(0, json!({"running": {"startedAt": "2026-01-01T00:00:59Z"}}));
        assert_eq!(restart_loop(&pod(fresh), now), None);
        let creating = c(0, json!({"waiting": {"reason": "ContainerCreating"}}));
        assert_eq!(restart_loop(&pod(creating), now), None);
        // In its back-off after the first exit, before any restart.
        let first = c(0, json!({"waiting": {"reason": "CrashLoopBackOff"}}));
        assert!(restart_loop(&pod(first), now).unwrap().contains("(restartCount 0, CrashLoopBackOff)"));
    }
}
