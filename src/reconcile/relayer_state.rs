//! Observe the relayer pod for a reconcile run: the one relayer probe
//! (`crate::system::relayer`), run through the session so it is counted and journaled, and
//! reused by later steps until an action changes the relayer.

use super::journal::Journal;
use super::session::ExecFailure as _;
use super::session::Session;
use crate::error_code::ErrorCode;
use crate::jobs::StepFailure;
use crate::system::relayer::{RelayerState, observe_script, parse};

/// The relayer's state: reused when nothing acted since the last observation, else one exec.
pub async fn observe(session: &Session, journal: &dyn Journal) -> Result<RelayerState, StepFailure> {
    if let Some(st) = session.cached_relayer() {
        return Ok(st);
    }
    let topo = session.topology()?;
    let script = observe_script(&session.settings().rly_home, &topo.relayer_chains());
    let out = session
        .script(journal, &topo.relayer_pod, &script, "observe relayer: rly config show, keys show, pgrep")
        .await
        .map_err(|t| t.failure(&topo.relayer_pod, &topo.relayer_pod))?;
    if out.code != 0 {
        return Err(StepFailure::new(
            ErrorCode::ExecFailed,
            format!("observing the relayer exited {}: {}", out.code, out.stderr.trim()),
        ));
    }
    let st = parse(&out.stdout);
    session.remember_relayer(Some(st.clone()));
    Ok(st)
}
