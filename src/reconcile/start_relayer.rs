//! startRelayer: `rly start` runs in the relayer pod. Observe: the relayer report's `pgrep`
//! (no extra exec on a warm run). Act: start it detached with its log on the pod's stdout,
//! then verify it still runs a moment later. With `force` (and for `system.relayer.restart`)
//! a running `rly` is stopped first: `pkill -x rly`, up to the stop wait, then `pkill -KILL`.

use super::journal::Journal;
use super::plan::{Act, Plan};
use super::relayer_state;
use super::run::{Run, Topology};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::k8s::script::quote;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAction {
    Stop,
    Start,
}

impl Act for StartAction {
    fn command(&self) -> String {
        match self {
            Self::Stop => "pkill -x rly".into(),
            Self::Start => "nohup rly start --log-format json > /proc/1/fd/1 2>&1 < /dev/null &".into(),
        }
    }
}

/// Why startRelayer / restartRelayer failed (beyond an exec that could not run).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The line that starts `rly start` in the background exited non-zero.
    #[error("starting rly exited {code}: {stderr}")]
    StartExited { code: i32, stderr: String },
    /// `rly start` was gone by the verify delay.
    #[error("rly start exited within {}", humantime::format_duration(*after))]
    DidNotKeepRunning { pod: String, after: std::time::Duration },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let details = match &e {
            Error::StartExited { .. } => json!({}),
            Error::DidNotKeepRunning { pod, .. } => {
                json!({"pod": pod, "hint": "read its output: GET /api/v1/system/k8s/logs?component=relayer"})
            }
        };
        Failure::new(ErrorCode::ExecFailed, e.to_string()).with_details(details)
    }
}

/// `paths_changed`: connect created or changed a path in this run. `rly start` reads
/// config.yaml once, when it starts, so a running one must be restarted to relay it.
pub fn plan(running: &[u32], restart: bool, paths_changed: bool) -> Plan<StartAction> {
    let mut plan = Plan::default();
    let pids = running.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    match (running.is_empty(), restart, paths_changed) {
        (true, _, _) => {
            plan.skip(StartAction::Stop.command(), "rly start is not running");
            plan.act(StartAction::Start, "rly start is not running");
        }
        (false, true, _) => {
            plan.act(StartAction::Stop, format!("restart: stop rly start (pid {pids})"));
            plan.act(StartAction::Start, "restart");
        }
        (false, false, true) => {
            plan.act(
                StartAction::Stop,
                format!("rly start (pid {pids}) read config.yaml before connect changed its paths"),
            );
            plan.act(
                StartAction::Start,
                "relay the paths as connect left them (rly reads its config at start)",
            );
        }
        (false, false, false) => {
            plan.skip(StartAction::Start.command(), format!("rly start is running (pid {pids})"))
        }
    }
    plan
}

/// `pgrep -f 'rly start'` run directly (through `sh -c` it would match its own shell).
async fn running(run: &Run, journal: &dyn Journal, topo: &Topology) -> Result<bool, Failure> {
    let out = run
        .exec(journal, &topo.relayer_pod, &["pgrep", "-f", "rly start"], "pgrep -f 'rly start'", None)
        .await
        .map_err(|e| run.exec_failure(e))?;
    Ok(out.code == 0 && !out.stdout.trim().is_empty())
}

async fn stop(run: &Run, journal: &dyn Journal, topo: &Topology) -> Result<(), Failure> {
    let pod = &topo.relayer_pod;
    let fail = |e| run.exec_failure(e);
    run.exec(journal, pod, &["pkill", "-x", "rly"], "pkill -x rly", None).await.map_err(fail)?;
    let settings = run.settings();
    let deadline = tokio::time::Instant::now() + settings.relayer_stop_wait;
    while running(run, journal, topo).await? {
        if tokio::time::Instant::now() >= deadline {
            journal.warn(&format!(
                "rly still runs after {}; killing it",
                humantime::format_duration(settings.relayer_stop_wait)
            ));
            run.exec(journal, pod, &["pkill", "-KILL", "-x", "rly"], "pkill -KILL -x rly", None)
                .await
                .map_err(fail)?;
            break;
        }
        tokio::time::sleep(settings.reconcile_poll_interval).await;
    }
    Ok(())
}

async fn start(run: &Run, journal: &dyn Journal, topo: &Topology) -> Result<(), Failure> {
    let pod = &topo.relayer_pod;
    let line = format!(
        "nohup rly start --log-format json --home {} > /proc/1/fd/1 2>&1 < /dev/null &",
        quote(&run.settings().rly_home)
    );
    let out = run
        .script(journal, pod, &line, &StartAction::Start.command())
        .await
        .map_err(|e| run.exec_failure(e))?;
    if out.code != 0 {
        return Err(Error::StartExited { code: out.code, stderr: out.stderr.trim().to_string() }.into());
    }
    let delay = run.settings().relayer_verify_delay;
    journal.progress(&format!("checking rly start still runs after {}", humantime::format_duration(delay)));
    tokio::time::sleep(delay).await;
    if !running(run, journal, topo).await? {
        return Err(Error::DidNotKeepRunning { pod: pod.clone(), after: delay }.into());
    }
    Ok(())
}

/// startRelayer: `rly start` running, restarted when connect changed a path in this run or
/// when the run was asked to `force`.
pub async fn ensure_running(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    reconcile_process(run, journal, run.params().force).await
}

/// restartRelayer (`system.relayer.restart`): a running `rly start` is always stopped first.
pub async fn restart(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    reconcile_process(run, journal, true).await
}

/// Observe the process, plan (`restart`: stop a running one first), act.
async fn reconcile_process(run: &Run, journal: &dyn Journal, restart: bool) -> Result<StepOutcome, Failure> {
    let topo = run.topology()?;
    let observed = relayer_state::observe(run, journal).await?;
    let plan = plan(&observed.running, restart, run.paths_changed());
    if let Some(outcome) = run.decide(&plan, journal) {
        return Ok(outcome);
    }
    run.invalidate();
    for p in &plan.actions {
        match p.action {
            StartAction::Stop => stop(run, journal, &topo).await?,
            StartAction::Start => start(run, journal, &topo).await?,
        }
    }
    Ok(StepOutcome::Done(format!("{}; rly start is running", plan.summary())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_only_when_not_running_and_restart_stops_first() {
        assert!(plan(&[7], false, false).is_empty());
        let acts = |p: Plan<StartAction>| p.actions.into_iter().map(|a| a.action).collect::<Vec<_>>();
        assert_eq!(acts(plan(&[], false, false)), [StartAction::Start]);
        assert_eq!(acts(plan(&[7], true, false)), [StartAction::Stop, StartAction::Start]);
        assert_eq!(acts(plan(&[], true, false)), [StartAction::Start]);
    }

    #[test]
    fn a_running_rly_restarts_when_connect_changed_its_paths() {
        let p = plan(&[7], false, true);
        assert_eq!(
            p.actions.iter().map(|a| a.action.clone()).collect::<Vec<_>>(),
            [StartAction::Stop, StartAction::Start]
        );
        assert!(p.actions[0].reason.contains("pid 7"), "{}", p.actions[0].reason);
        assert_eq!(plan(&[], false, true).actions.len(), 1, "not running: only a start");
    }
}
