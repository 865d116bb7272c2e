//! Observe the relayer pod for a reconcile run: the one relayer probe
//! (`crate::system::relayer`), run through the run so it is counted and journaled, and
//! reused by later steps until an action changes the relayer.

use super::journal::Journal;
use super::run::{CommandExited, Run};
use crate::error_code::Failure;
use crate::system::relayer::{RelayerState, observe_script, parse};

/// The relayer's state: reused when nothing acted since the last observation, else one exec.
pub async fn observe(run: &Run, journal: &dyn Journal) -> Result<RelayerState, Failure> {
    if let Some(st) = run.cached_relayer() {
        return Ok(st);
    }
    let topo = run.topology()?;
    let script = observe_script(&run.settings().rly_home, &topo.relayer_chains());
    let out = run
        .script(journal, &topo.relayer_pod, &script, "observe relayer: rly config show, keys show, pgrep")
        .await
        .map_err(|e| run.exec_failure(e))?;
    if out.code != 0 {
        let stderr = out.stderr.trim().to_string();
        return Err(CommandExited { command: "observing the relayer".into(), code: out.code, stderr }.into());
    }
    let st = parse(&out.stdout);
    run.remember_relayer(Some(st.clone()));
    Ok(st)
}
