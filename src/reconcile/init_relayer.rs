//! initRelayer: the relayer config exists, gwc and every target chain are configured in
//! `rly`, and each has the relayer key restored from the mnemonic mounted in the pod. Observe is
//! the relayer report (one exec); all planned commands run in one batched exec; a second
//! report verifies. With `force`, every chain entry and relayer key is deleted and added
//! again (refreshing rpc-addr and keys); `config init` is never re-run on an existing config,
//! which keeps the paths.

use super::journal::Journal;
use super::plan::{Act, Plan};
use super::relayer_state;
use super::run::Run;
use crate::chart::{RELAYER_KEY, mnemonic_file};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::k8s::script::quote;
use crate::system::relayer::RelayerState;
use serde_json::json;

pub const MEMO: &str = "Cryptomeria Relayer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitAction {
    ConfigInit,
    DeleteChain(String),
    AddChain(String),
    DeleteKey(String),
    RestoreKey(String),
}

fn chain_file(id: &str) -> String {
    format!("/tmp/{id}.json")
}

impl Act for InitAction {
    fn command(&self) -> String {
        match self {
            Self::ConfigInit => format!("rly config init --memo \"{MEMO}\""),
            Self::DeleteChain(id) => format!("rly chains delete {id}"),
            Self::AddChain(id) => format!("rly chains add --file {}", chain_file(id)),
            Self::DeleteKey(id) => format!("rly keys delete {id} {RELAYER_KEY} -y"),
            Self::RestoreKey(id) => {
                format!("rly keys restore {id} {RELAYER_KEY} \"$(cat {})\"", mnemonic_file(id))
            }
        }
    }
}

/// The chain file the chart's init-relayer.sh writes for `rly chains add --file`.
pub fn chain_json(release: &str, id: &str) -> serde_json::Value {
    let host = crate::chart::chain_host(release, id);
    json!({"type": "cosmos", "value": {
        "key": RELAYER_KEY, "chain-id": id, "rpc-addr": format!("http://{host}:26657"), "grpc-addr": format!("{host}:9090"),
        "account-prefix": "cosmos", "keyring-backend": "test", "gas-adjustment": 1.5, "gas-prices": "0.001uatom",
        "debug": false, "timeout": "20s", "output-format": "json", "sign-mode": "direct"}})
}

/// Why initRelayer failed (beyond an exec that could not run).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key to restore has no mnemonic mounted in the relayer pod.
    #[error("cannot restore relayer keys: not mounted in the relayer pod: {}", missing.join(", "))]
    MnemonicsMissing { missing: Vec<String> },
    /// A planned `rly` command exited non-zero.
    #[error("{command} failed: {said}")]
    CommandFailed { command: String, exit_code: i32, said: String },
    /// The fresh observation after acting still lacks entries or keys.
    #[error("after initRelayer still missing: {}", left.join(", "))]
    StillMissing { left: Vec<String> },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let details = match &e {
            Error::MnemonicsMissing { missing } => json!({
                "missing": missing,
                "hint": "check the chart's mnemonic Secret and its mount at /etc/mnemonics",
            }),
            Error::CommandFailed { command, exit_code, .. } => {
                json!({"command": command, "exitCode": exit_code})
            }
            Error::StillMissing { .. } => json!({}),
        };
        Failure::new(ErrorCode::ExecFailed, e.to_string()).with_details(details)
    }
}

/// What initRelayer must do for `chains`, given the observed relayer.
pub fn plan(st: &RelayerState, chains: &[String], force: bool) -> Result<Plan<InitAction>, Error> {
    let mut plan = Plan::default();
    if st.config {
        plan.skip(InitAction::ConfigInit.command(), "config.yaml exists");
    } else {
        plan.act(InitAction::ConfigInit, "no config.yaml in the relayer home");
    }
    for id in chains {
        match (st.chains.get(id), force) {
            (Some(_), true) => {
                plan.act(InitAction::DeleteChain(id.clone()), format!("force: refresh {id}'s chain entry"));
                plan.act(InitAction::AddChain(id.clone()), format!("force: re-add {id}"));
            }
            (Some(name), false) => {
                plan.skip(InitAction::AddChain(id.clone()).command(), format!("{id} configured as {name}"))
            }
            (None, _) => plan.act(InitAction::AddChain(id.clone()), format!("{id} not in rly's chains")),
        }
    }
    let mut missing = Vec::new();
    for id in chains {
        let restore = match (st.keys.get(id), force) {
            (Some(_), true) => {
                plan.act(
                    InitAction::DeleteKey(id.clone()),
                    format!("force: restore {id}'s relayer key again"),
                );
                true
            }
            (Some(address), false) => {
                plan.skip(
                    InitAction::RestoreKey(id.clone()).command(),
                    format!("{id} key restored ({address})"),
                );
                false
            }
            (None, _) => true,
        };
        if restore {
            if !st.mnemonics.contains(id) {
                missing.push(mnemonic_file(id));
            }
            let reason = if force && st.keys.contains_key(id) { "force" } else { "no relayer key" };
            plan.act(InitAction::RestoreKey(id.clone()), format!("{reason} for {id}"));
        }
    }
    if !missing.is_empty() {
        return Err(Error::MnemonicsMissing { missing });
    }
    Ok(plan)
}

/// The shell line of an action (`$H` is the relayer home).
pub(super) fn line(action: &InitAction, release: &str) -> String {
    match action {
        InitAction::ConfigInit => format!("rly config init --memo {} --home \"$H\"", quote(MEMO)),
        InitAction::DeleteChain(id) => format!("rly chains delete {id} --home \"$H\""),
        InitAction::AddChain(id) => format!(
            "printf '%s\\n' {} > {file} && rly chains add --file {file} --home \"$H\"",
            quote(&chain_json(release, id).to_string()),
            file = chain_file(id)
        ),
        InitAction::DeleteKey(id) => format!("rly keys delete {id} {RELAYER_KEY} -y --home \"$H\""),
        // The mnemonic is read inside the pod: it never passes through the BFF. The keyring
        // lives on the relayer's PVC while config.yaml is on an emptyDir (the chart), so a
        // recreated pod lists no chains yet still holds the key: reuse it once the chain is
        // added instead of failing with "a key with name relayer already exists".
        InitAction::RestoreKey(id) => format!(
            "rly keys show {id} {RELAYER_KEY} --home \"$H\" >/dev/null 2>&1 || rly keys restore {id} {RELAYER_KEY} \"$(cat {})\" --home \"$H\"",
            mnemonic_file(id)
        ),
    }
}

pub async fn run(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    let topo = run.topology()?;
    let observed = relayer_state::observe(run, journal).await?;
    let plan = plan(&observed, &topo.relayer_chains(), run.params().force_init)?;
    if let Some(outcome) = run.decide(&plan, journal) {
        return Ok(outcome);
    }
    journal.progress(&format!("running {} rly command(s) in {}", plan.actions.len(), topo.relayer_pod));
    let prelude = format!("H={}", quote(&run.settings().rly_home));
    let display = format!("{} rly commands (batched)", plan.actions.len());
    let failed = run
        .run_batched(journal, &topo.relayer_pod, &prelude, &plan, |a| line(a, run.release()), &display)
        .await?;
    if let Some((command, exit_code, said)) = failed {
        return Err(Error::CommandFailed { command, exit_code, said }.into());
    }
    // Verify from a fresh observation, not from the exit codes.
    let after = relayer_state::observe(run, journal).await?;
    let left = plan_after(&after, &topo.relayer_chains());
    if !left.is_empty() {
        return Err(Error::StillMissing { left }.into());
    }
    Ok(StepOutcome::Done(plan.summary()))
}

/// What is still missing once the step has acted.
fn plan_after(st: &RelayerState, chains: &[String]) -> Vec<String> {
    let mut left = Vec::new();
    if !st.config {
        left.push("config.yaml".to_string());
    }
    left.extend(chains.iter().filter(|c| !st.chains.contains_key(*c)).map(|c| format!("chain {c}")));
    left.extend(chains.iter().filter(|c| !st.keys.contains_key(*c)).map(|c| format!("key {c}")));
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn actions(p: &Plan<InitAction>) -> Vec<InitAction> {
        p.actions.iter().map(|a| a.action.clone()).collect()
    }

    #[test]
    fn cold_relayer_gets_every_action() {
        let st = RelayerState { mnemonics: ["gwc", "mdsc"].map(String::from).into(), ..Default::default() };
        let p = plan(&st, &ids(&["gwc", "mdsc"]), false).unwrap();
        use InitAction::*;
        assert_eq!(
            actions(&p),
            [
                ConfigInit,
                AddChain("gwc".into()),
                AddChain("mdsc".into()),
                RestoreKey("gwc".into()),
                RestoreKey("mdsc".into())
            ]
        );
    }

    #[test]
    fn configured_relayer_skips_everything_and_force_redoes_chains_and_keys() {
        let st = RelayerState {
            config: true,
            chains: [("gwc".to_string(), "gwc".to_string())].into(),
            keys: [("gwc".to_string(), "cosmos1x".to_string())].into(),
            mnemonics: ["gwc".to_string()].into(),
            ..Default::default()
        };
        let p = plan(&st, &ids(&["gwc"]), false).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.skips.len(), 3);
        use InitAction::*;
        let forced = plan(&st, &ids(&["gwc"]), true).unwrap();
        assert_eq!(
            actions(&forced),
            [
                DeleteChain("gwc".into()),
                AddChain("gwc".into()),
                DeleteKey("gwc".into()),
                RestoreKey("gwc".into())
            ]
        );
    }

    #[test]
    fn a_key_without_its_mnemonic_file_fails_before_acting() {
        let st = RelayerState { config: true, ..Default::default() };
        let err = plan(&st, &ids(&["gwc"]), false).unwrap_err();
        assert!(err.to_string().contains("/etc/mnemonics/gwc.relayer.mnemonic"), "{err}");
    }

    #[test]
    fn commands_shown_never_carry_the_mnemonic_itself() {
        let shown = InitAction::RestoreKey("gwc".into()).command();
        assert_eq!(shown, "rly keys restore gwc relayer \"$(cat /etc/mnemonics/gwc.relayer.mnemonic)\"");
        assert!(
            line(&InitAction::AddChain("gwc".into()), "cryptomeria")
                .contains("cryptomeria-gwc-0.cryptomeria-chain-headless:26657")
        );
    }
}
