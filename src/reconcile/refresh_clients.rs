//! refreshClients (continuous reconcile passes only): a light client with under a third of
//! its trusting period left is updated before it expires, since an expired client is
//! recovered only by governance. Observe: both ends' clients of every linked pair, from the
//! chains' REST (as `/system/ibc` reads them). Act: `rly transact update-clients <path>` in
//! the relayer pod for each path with such a client. A running `rly start` updates a client
//! itself once two thirds of its period have passed; this step covers an `rly` that is stuck,
//! or whose updates fail.

use super::journal::Journal;
use super::plan::{Act, Plan};
use super::run::Run;
use crate::error_code::{ErrorCode, Failure};
use crate::jobs::StepOutcome;
use crate::system::ibc::{End, PairObservation, PendingSince, expires_soon, observe_pairs};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateClients(pub String);

impl Act for UpdateClients {
    fn command(&self) -> String {
        format!("rly transact update-clients {}", self.0)
    }
}

fn describe(end: &End) -> String {
    format!(
        "client {} on {} has {}s of its {}s trusting period left",
        end.client_id.as_deref().unwrap_or("?"),
        end.chain_id,
        end.trusting_period_left_seconds.unwrap_or_default(),
        end.trusting_period_seconds.unwrap_or_default()
    )
}

/// One update per path with an Active client in the last third of its trusting period.
pub fn plan(pairs: &[PairObservation]) -> Plan<UpdateClients> {
    let mut plan = Plan::default();
    for p in pairs {
        let path = crate::chart::path_name(&p.chain_id);
        let ends: Vec<&End> = [&p.gwc, &p.counterparty].into_iter().flatten().collect();
        let due: Vec<String> = ends
            .iter()
            .filter(|e| e.client_status.as_deref().is_none_or(|s| s == "Active") && expires_soon(e))
            .map(|e| describe(e))
            .collect();
        let update = UpdateClients(path);
        if due.is_empty() {
            let summary = ends.iter().map(|e| describe(e)).collect::<Vec<_>>().join("; ");
            plan.skip(
                update.command(),
                if summary.is_empty() { "no clients observed".into() } else { summary },
            );
        } else {
            plan.act(update, format!("{}: update it before it expires", due.join("; ")));
        }
    }
    plan
}

pub async fn run(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    let topo = run.topology()?;
    let pairs =
        observe_pairs(&run.ctx.chains, &run.ctx.directory, &topo.targets, &PendingSince::default()).await;
    let plan = plan(&pairs);
    if let Some(outcome) = run.decide(&plan, journal) {
        return Ok(outcome);
    }
    let home = run.settings().rly_home.clone();
    for p in &plan.actions {
        let argv = ["rly", "transact", "update-clients", p.action.0.as_str(), "--home", home.as_str()];
        let out = run
            .exec(journal, &topo.relayer_pod, &argv, &p.action.command(), None)
            .await
            .map_err(|e| run.exec_failure(e))?;
        if out.code != 0 {
            return Err(Failure::new(
                ErrorCode::ExecFailed,
                format!("{} exited {}: {}", p.action.command(), out.code, out.stderr.trim()),
            )
            .with_details(json!({"path": p.action.0})));
        }
    }
    Ok(StepOutcome::Done(format!("{}; clients updated", plan.summary())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::ibc::Direction;

    fn end(chain: &str, left: u64) -> End {
        End {
            chain_id: chain.into(),
            client_id: Some(format!("07-tendermint-{chain}")),
            client_status: Some("Active".into()),
            trusting_period_seconds: Some(900),
            trusting_period_left_seconds: Some(left),
            ..End::default()
        }
    }

    fn pair(chain: &str, gwc_left: u64, other_left: u64) -> PairObservation {
        PairObservation {
            chain_id: chain.into(),
            gwc: Some(end("gwc", gwc_left)),
            counterparty: Some(end(chain, other_left)),
            gwc_to_chain: Direction::default(),
            chain_to_gwc: Direction::default(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn only_a_path_with_a_client_in_its_last_third_is_updated() {
        let plan = plan(&[pair("fdsc-0", 600, 800), pair("fdsc-1", 299, 900)]);
        let acts: Vec<String> = plan.actions.iter().map(|a| a.action.command()).collect();
        assert_eq!(acts, ["rly transact update-clients path-gwc-fdsc-1-gw"]);
        assert!(
            plan.actions[0].reason.contains("client 07-tendermint-gwc on gwc has 299s"),
            "{:?}",
            plan.actions
        );
        assert_eq!(plan.skips.len(), 1, "{:?}", plan.skips);
    }
}
