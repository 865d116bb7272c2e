//! Whether the release is stopped (`POST /system/stop` scaled it to zero), and the failure a
//! job that needs running pods meets at admission then: start, connect and relayer restart
//! would otherwise wait `PODS_READY_TIMEOUT` for pods that cannot appear, holding the one
//! system-job slot all the while.

use super::scale::{self, Kind, Workload};
use crate::error_code::{ErrorCode, Failure};
use serde_json::json;

/// What the SYSTEM_STOPPED answer tells the client to do.
pub const RESUME_HINT: &str = "POST /api/v1/system/resume";

/// A workload at 0 replicas with its count recorded by a stop.
pub fn is_stopped(workloads: &[Workload]) -> bool {
    workloads.iter().any(|w| w.replicas == 0 && w.recorded.is_some())
}

/// SYSTEM_STOPPED when the release is stopped, with each workload's replicas. Without the
/// right to list workloads the system counts as running: the job then reports what it meets.
pub async fn refuse_if_stopped(kube: &kube::Client, namespace: &str) -> Result<(), Failure> {
    let workloads = match scale::observe(kube, namespace).await {
        Ok(workloads) => workloads,
        Err(e) => {
            tracing::debug!(error = %e.message, "admission: workloads not observed");
            return Ok(());
        }
    };
    if !is_stopped(&workloads) {
        return Ok(());
    }
    let rows: Vec<_> = workloads
        .iter()
        .map(|w| {
            let kind = match w.kind {
                Kind::StatefulSet => "StatefulSet",
                Kind::Deployment => "Deployment",
            };
            json!({"kind": kind, "name": w.name, "replicas": w.replicas, "replicasBeforeStop": w.recorded})
        })
        .collect();
    Err(Failure::new(
        ErrorCode::SystemStopped,
        "the system is stopped (its workloads are scaled to zero): resume it first",
    )
    .with_details(json!({"workloads": rows, "hint": RESUME_HINT})))
}
