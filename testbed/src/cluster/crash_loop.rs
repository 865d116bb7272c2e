//! A pod's containers in a restart loop for a while, as the kubelet runs a container that keeps
//! exiting: each exit kills every process in it, the pod shows `state.waiting` CrashLoopBackOff
//! (the failed run in `lastState.terminated`, Ready False) for the back-off, then the container
//! starts again with `restartCount` one higher, runs briefly and exits again. Once the loop's
//! time is up the container is started one last time and keeps running.
//!
//! The kubelet's back-off starts at 10 s and doubles up to 5 min; here it starts at 1 s and
//! doubles up to [`BACK_OFF_CAP`], so a loop of a few seconds already shows several restarts.

use super::Cluster;
use crate::kinds::PODS;
use crate::objects;
use std::time::Duration;
use tokio::time::Instant;

/// The first back-off after an exit.
pub const BACK_OFF_BASE: Duration = Duration::from_secs(1);
/// The longest back-off.
pub const BACK_OFF_CAP: Duration = Duration::from_secs(10);
/// How long a restarted container runs before it exits again.
pub const RUNS_FOR: Duration = Duration::from_secs(1);
/// The exit code of each failed run.
const EXIT_CODE: i32 = 1;

impl Cluster {
    /// Puts a pod's containers in a restart loop for `duration` (see the module). Returns
    /// false for an unknown pod. The loop ends early if the pod is deleted.
    pub fn crash_loop(&self, name: &str, duration: Duration) -> bool {
        let Some(live) = self.pod(name) else { return false };
        let (cluster, name) = (self.clone(), name.to_string());
        let until = Instant::now() + duration;
        tokio::spawn(async move {
            let mut back_off = BACK_OFF_BASE;
            loop {
                live.runtime.kill_container();
                live.runtime.log().append(format!("container exited with code {EXIT_CODE}\n").as_bytes());
                cluster.write_pod(&name, |pod| objects::set_crash_loop_back_off(pod, EXIT_CODE, back_off));
                let restart_at = (Instant::now() + back_off).min(until.max(Instant::now()));
                tokio::select! {
                    _ = tokio::time::sleep_until(restart_at) => {}
                    _ = live.gone.cancelled() => return,
                }
                live.runtime.restart_container().await;
                if name.starts_with(&format!("{}-", cluster.release.relayer())) {
                    live.runtime.log().append(b"relayer container started; rly idles until configured\n");
                }
                let ready = !cluster.lock().held_not_ready.contains(&name);
                cluster.write_pod(&name, |pod| objects::set_restarted(pod, ready));
                if Instant::now() >= until {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(RUNS_FOR) => {}
                    _ = live.gone.cancelled() => return,
                }
                if Instant::now() >= until {
                    return;
                }
                back_off = (back_off * 2).min(BACK_OFF_CAP);
            }
        });
        true
    }

    /// Writes a pod's status as the kubelet does and brings Endpoints and workload status
    /// into step.
    fn write_pod(&self, name: &str, write: impl FnOnce(&mut serde_json::Value)) {
        let ns = self.ns().to_string();
        self.store.update(&PODS, Some(&ns), name, write);
        self.sync();
    }
}

#[cfg(test)]
mod tests {
    use crate::objects;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn an_exit_shows_crash_loop_back_off_and_a_restart_counts_up_as_the_kubelet_writes_them() {
        let template = json!({"metadata": {"labels": {}}, "spec": {"containers": [{"name": "relayer", "image": "rly"}]}});
        let mut pod = objects::pending_pod("r-1", "ns", &template, ("ReplicaSet", "r", "u"), "10.0.0.1");
        objects::set_running(&mut pod, "10.244.0.9", true);
        let first_id = pod["status"]["containerStatuses"][0]["containerID"].clone();
        objects::set_crash_loop_back_off(&mut pod, 1, Duration::from_secs(2));
        let c = &pod["status"]["containerStatuses"][0];
        assert_eq!(c["state"]["waiting"]["reason"], "CrashLoopBackOff", "{c}");
        assert!(
            c["state"]["waiting"]["message"]
                .as_str()
                .unwrap()
                .starts_with("back-off 2s restarting failed container=relayer pod=r-1_ns(")
        );
        assert_eq!(c["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(c["lastState"]["terminated"]["containerID"], first_id);
        assert_eq!((c["ready"].clone(), c["restartCount"].clone()), (json!(false), json!(0)));
        assert!(!objects::is_pod_ready(&pod), "Ready False while it backs off");
        objects::set_restarted(&mut pod, true);
        let c = &pod["status"]["containerStatuses"][0];
        assert_eq!(c["restartCount"], 1);
        assert!(c["state"]["running"]["startedAt"].is_string() && c["state"].get("waiting").is_none(), "{c}");
        assert_ne!(c["containerID"], first_id, "a new container");
        assert_eq!(c["lastState"]["terminated"]["reason"], "Error", "the failed run is kept");
        assert!(objects::is_pod_ready(&pod));
    }
}
