//! connectAll / connect(target): each storage chain gets an OPEN channel from gwc's `gateway`
//! port to its own port (`metastore` for mdsc, `datastore` otherwise) and its storage
//! registered on gwc. Observe: the relayer report (paths), gwc's channels and registrations
//! (REST). Existing paths, clients, connections and OPEN channels are reused, never
//! duplicated. Links run one at a time (they all sign with the relayer key on gwc), each
//! retried; success is an OPEN channel observed on gwc, never `rly`'s exit code alone.
//! With `force`, `rly paths new` is re-run for every target; an OPEN channel or an existing
//! registration is still never created twice.

use super::gateway::{self, GWC, GatewayChannel, open_channel};
use super::journal::Journal;
use super::plan::{Act, Plan};
use super::relayer_state::{self, RelayerState};
use super::session::ExecFailure as _;
use super::session::{ExecTrouble, Session, Topology};
use crate::error_code::ErrorCode;
use crate::jobs::{StepFailure, StepOutcome};
use crate::k8s::script::{Batch, last_line, quote};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const VERSION: &str = "cryptomeria-1";

/// Cosmos SDK `ErrWrongSequence` (codespace sdk).
const SDK_WRONG_SEQUENCE: i64 = 32;

/// The port a storage chain's end of the gateway channel binds.
pub fn dst_port(chain: &str) -> &'static str {
    if chain == "mdsc" { "metastore" } else { "datastore" }
}

pub fn path_name(chain: &str) -> String {
    format!("path-gwc-{chain}-gw")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectAction {
    NewPath(String),
    Link(String),
    Register(String),
}

impl Act for ConnectAction {
    fn command(&self) -> String {
        match self {
            Self::NewPath(id) => format!(
                "rly paths new {GWC} {id} {} --src-port gateway --dst-port {} --version {VERSION}",
                path_name(id),
                dst_port(id)
            ),
            Self::Link(id) => format!(
                "rly transact link {} --src-port gateway --dst-port {} --version {VERSION}",
                path_name(id),
                dst_port(id)
            ),
            Self::Register(id) => {
                format!("gwcd tx gateway register-storage <channel> {id} … {}", dst_port(id))
            }
        }
    }
}

/// What connect must do for `targets`.
pub fn plan(
    relayer: &RelayerState,
    channels: &[GatewayChannel],
    storage: &BTreeSet<String>,
    targets: &[String],
    force: bool,
) -> Plan<ConnectAction> {
    let mut plan = Plan::default();
    for id in targets {
        let path = path_name(id);
        let new_path = ConnectAction::NewPath(id.clone());
        let link = ConnectAction::Link(id.clone());
        match open_channel(channels, id, dst_port(id)) {
            Some(ch) => {
                if force {
                    plan.act(new_path, format!("force: refresh path {path}"));
                } else {
                    plan.skip(new_path.command(), format!("{id} already linked"));
                }
                plan.skip(
                    link.command(),
                    format!("{} OPEN gateway<->{}:{}", ch.channel_id, id, dst_port(id)),
                );
            }
            None => {
                match relayer.paths.get(&path) {
                    Some(p) if !force => {
                        let reuse = if p.src_client.is_empty() {
                            String::new()
                        } else {
                            format!(" (reusing client {} connection {})", p.src_client, p.src_connection)
                        };
                        plan.skip(new_path.command(), format!("path {path} exists{reuse}"))
                    }
                    Some(_) => plan.act(new_path, format!("force: refresh path {path}")),
                    None => plan.act(new_path, format!("no path {path} in rly's config")),
                }
                let stuck: Vec<&str> = channels
                    .iter()
                    .filter(|c| c.counterparty_chain == *id && c.state != gateway::OPEN)
                    .map(|c| c.channel_id.as_str())
                    .collect();
                let why = if stuck.is_empty() {
                    format!("no OPEN gateway channel to {id}")
                } else {
                    format!("no OPEN gateway channel to {id} ({} not open)", stuck.join(", "))
                };
                plan.act(link, why);
            }
        }
        let register = ConnectAction::Register(id.clone());
        if storage.contains(id) {
            plan.skip(register.command(), format!("{id} registered on gwc"));
        } else {
            plan.act(register, format!("{id} not in gwc's storage endpoints"));
        }
    }
    plan
}

/// Links need both chains configured in `rly` with their relayer keys.
fn ready_to_link(relayer: &RelayerState, id: &str) -> Result<(), StepFailure> {
    let missing: Vec<String> = [GWC, id]
        .iter()
        .flat_map(|c| {
            let mut m = Vec::new();
            if !relayer.chains.contains_key(*c) {
                m.push(format!("chain {c}"));
            }
            if !relayer.keys.contains_key(*c) {
                m.push(format!("key {c}"));
            }
            m
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StepFailure::new(
        ErrorCode::RelayerNotReady,
        format!("rly lacks {} needed to link {id}", missing.join(", ")),
    )
    .with_details(json!({"chainId": id, "hint": "run system.start with the initRelayer step"})))
}

pub async fn run(session: &Session, journal: &dyn Journal) -> Result<StepOutcome, StepFailure> {
    let topo = session.topology()?;
    if topo.targets.is_empty() {
        return Ok(StepOutcome::Skipped("no storage chain to link".into()));
    }
    let relayer = relayer_state::observe(session, journal).await?;
    let channels = gateway::channels(session, journal).await?;
    let storage = gateway::storage(session, journal).await?;
    let plan = plan(&relayer, &channels, &storage, &topo.targets, session.force);
    plan.record(journal);
    if plan.is_empty() {
        return Ok(StepOutcome::Skipped(plan.summary()));
    }
    let planned = |a: &ConnectAction| plan.actions.iter().find(|p| p.action == *a).map(|p| p.reason.as_str());
    let new_paths: Vec<&String> =
        topo.targets.iter().filter(|id| planned(&ConnectAction::NewPath((*id).clone())).is_some()).collect();
    for id in topo.targets.iter().filter(|id| planned(&ConnectAction::Link((*id).clone())).is_some()) {
        ready_to_link(&relayer, id)?;
    }
    if !new_paths.is_empty() {
        new_path_batch(session, journal, &topo, &new_paths).await?;
    }
    let mut linked = Vec::new();
    for id in &topo.targets {
        let channel = if planned(&ConnectAction::Link(id.clone())).is_some() {
            let (channel, attempts) = link(session, journal, &topo, id).await?;
            linked.push(format!("{id} via {channel} (attempts={attempts})"));
            channel
        } else {
            open_channel(&channels, id, dst_port(id)).map(|c| c.channel_id.clone()).unwrap_or_default()
        };
        if planned(&ConnectAction::Register(id.clone())).is_some() {
            register(session, journal, &topo, id, &channel).await?;
        }
    }
    let mut message = plan.summary();
    if !linked.is_empty() {
        message.push_str(&format!("; linked {}", linked.join(", ")));
    }
    Ok(StepOutcome::Done(message))
}

async fn new_path_batch(
    session: &Session,
    journal: &dyn Journal,
    topo: &Topology,
    ids: &[&String],
) -> Result<(), StepFailure> {
    let mut batch = Batch::new(&format!("H={}", quote(&session.settings().rly_home)));
    for id in ids {
        batch.push(&format!("{} --home \"$H\"", ConnectAction::NewPath((*id).clone()).command()));
    }
    session.invalidate();
    let out = session
        .script(journal, &topo.relayer_pod, batch.script(), &format!("{} rly paths new (batched)", ids.len()))
        .await
        .map_err(|t| t.failure(&topo.relayer_pod, &topo.relayer_pod))?;
    for ran in Batch::results(&out.stdout) {
        let Some(id) = ids.get(ran.index) else { continue };
        let cmd = ConnectAction::NewPath((*id).clone()).command();
        journal.command(&cmd, if ran.code == 0 { "ok" } else { "failed" }, "");
        if ran.code != 0 {
            return Err(StepFailure::new(
                ErrorCode::ExecFailed,
                format!("{cmd} exited {}: {}", ran.code, last_line(&ran.output)),
            ));
        }
    }
    Ok(())
}

/// What to try when links keep failing, from the last error.
fn hint(last_error: &str) -> &'static str {
    let e = last_error.to_lowercase();
    if e.contains("sequence mismatch") {
        "another transaction signed with the relayer key raced the link; keep other users of that key idle during start"
    } else if e.contains("insufficient") {
        "fund the relayer key on both chains"
    } else if e.contains("key") && e.contains("not found") {
        "restore the relayer keys (system.start with initRelayer)"
    } else if e.contains("no open") {
        "the handshake did not finish: check that both chains produce blocks; a re-run reuses the client and connection"
    } else {
        "check both chains' RPC from the relayer pod and rly's output in this job's log"
    }
}

/// `rly transact link` until gwc shows an OPEN gateway channel to `id`; the channel and the
/// attempts it took.
async fn link(
    session: &Session,
    journal: &dyn Journal,
    topo: &Topology,
    id: &str,
) -> Result<(String, u32), StepFailure> {
    let settings = session.settings();
    let attempts = settings.link_attempts.max(1);
    let home = settings.rly_home.clone();
    let (path, port) = (path_name(id), dst_port(id));
    let argv = [
        "rly",
        "transact",
        "link",
        &path,
        "--src-port",
        "gateway",
        "--dst-port",
        port,
        "--version",
        VERSION,
        "--home",
        &home,
    ];
    let display = ConnectAction::Link(id.to_string()).command();
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        journal.progress(&format!("linking gwc<->{id}: attempt {attempt}/{attempts}"));
        for chain in [GWC, id] {
            // Advisory: the BFF may not reach what the relayer reaches.
            if let Some(Err(e)) = session.node_status(chain).await {
                journal.warn(&format!("{chain} RPC does not answer the BFF ({e}); linking anyway"));
            }
        }
        session.invalidate();
        let exit = match session.exec(journal, &topo.relayer_pod, &argv, &display, None).await {
            Ok(out) => Ok((out.code, last_line(&out.stderr).to_string())),
            Err(t @ ExecTrouble::PodGone(_)) => return Err(t.failure(&topo.relayer_pod, &topo.relayer_pod)),
            Err(ExecTrouble::Other(m)) => Err(m),
        };
        let channels = gateway::channels(session, journal).await?;
        if let Some(ch) = open_channel(&channels, id, port) {
            journal.command(
                &format!("link gwc<->{id}"),
                "ok",
                &format!("{} OPEN, attempts={attempt}", ch.channel_id),
            );
            return Ok((ch.channel_id.clone(), attempt));
        }
        last_error = match exit {
            Ok((0, _)) => {
                "rly exited 0 but gwc shows no OPEN gateway channel (handshake not finished)".into()
            }
            Ok((code, said)) => format!("rly exited {code}: {said}"),
            Err(m) => m,
        };
        journal.warn(&format!("link gwc<->{id} attempt {attempt}/{attempts} failed: {last_error}"));
        if attempt < attempts {
            journal.info(&format!("retrying in {}", humantime::format_duration(settings.link_retry_wait)));
            tokio::time::sleep(settings.link_retry_wait).await;
        }
    }
    Err(StepFailure::new(ErrorCode::RelayerLinkFailed, format!("linking gwc<->{id} failed {attempts} times: {last_error}"))
        .with_details(json!({"chainPair": format!("gwc<->{id}"), "attempts": attempts, "hint": hint(&last_error), "lastError": last_error})))
}

/// Registers `id`'s storage on gwc with the local-admin key in the gwc pod, then waits until
/// gwc lists it (the next registration needs this one's sequence committed).
async fn register(
    session: &Session,
    journal: &dyn Journal,
    topo: &Topology,
    id: &str,
    channel: &str,
) -> Result<(), StepFailure> {
    let release = session.release();
    let api = format!("http://{release}-{id}-0.{release}-chain-headless:1317");
    let home = session.settings().gwc_home.clone();
    let argv = [
        "gwcd",
        "tx",
        "gateway",
        "register-storage",
        channel,
        id,
        &api,
        dst_port(id),
        "--from",
        "local-admin",
        "--chain-id",
        GWC,
        "--gas",
        "auto",
        "--gas-adjustment",
        "1.5",
        "--gas-prices",
        "0.1uatom",
        "--broadcast-mode",
        "sync",
        "-o",
        "json",
        "-y",
        "--keyring-backend",
        "test",
        "--home",
        &home,
    ];
    let display = format!("gwcd tx gateway register-storage {channel} {id} {api} {}", dst_port(id));
    let failed = |message: String, extra: Value| {
        StepFailure::new(ErrorCode::StorageRegisterFailed, message)
            .with_details(json!({"chainId": id, "channel": channel, "tx": extra}))
    };
    let out = session
        .exec(journal, &topo.gwc_pod, &argv, &display, None)
        .await
        .map_err(|t| t.failure(&topo.relayer_pod, &topo.gwc_pod))?;
    let resp: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    let code = resp["code"].as_i64();
    // Code 32 (wrong sequence): another local-admin tx is pending — most likely this chain's
    // registration from a run cut off before it saw the answer. Wait for the listing instead.
    let pending_elsewhere = code == Some(SDK_WRONG_SEQUENCE);
    if pending_elsewhere {
        journal
            .warn(&format!("a local-admin tx is pending on gwc; waiting to see whether it registers {id}"));
    }
    if !pending_elsewhere && (out.code != 0 || code != Some(0)) {
        let said = resp["raw_log"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| last_line(&out.stderr).to_string());
        return Err(failed(
            format!(
                "registering {id} on gwc failed (exit {}, code {}): {said}",
                out.code,
                code.map_or("none".into(), |c| c.to_string())
            ),
            json!({"code": code, "txhash": resp["txhash"], "rawLog": said}),
        ));
    }
    let txhash = resp["txhash"].as_str().unwrap_or_default().to_string();
    journal.progress(&format!("waiting for gwc to list {id} (tx {txhash})"));
    let settings = session.settings();
    let deadline = tokio::time::Instant::now() + settings.registration_timeout;
    loop {
        if gateway::storage(session, journal).await?.contains(id) {
            journal.command(&format!("verify storage {id}"), "ok", &format!("listed on gwc (tx {txhash})"));
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let txhash = if pending_elsewhere { "pending".to_string() } else { txhash };
            return Err(failed(
                format!(
                    "tx {txhash} was accepted but gwc does not list {id} after {}",
                    humantime::format_duration(settings.registration_timeout)
                ),
                json!({"txhash": txhash}),
            ));
        }
        tokio::time::sleep(settings.reconcile_poll_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::relayer_state::PathState;

    fn chan(id: &str, chain: &str, state: &str) -> GatewayChannel {
        GatewayChannel {
            channel_id: id.into(),
            state: state.into(),
            counterparty_chain: chain.into(),
            counterparty_port: dst_port(chain).into(),
        }
    }

    fn acts(p: &Plan<ConnectAction>) -> Vec<ConnectAction> {
        p.actions.iter().map(|a| a.action.clone()).collect()
    }

    #[test]
    fn ports_and_paths_follow_the_scripts() {
        assert_eq!((dst_port("mdsc"), dst_port("fdsc-3")), ("metastore", "datastore"));
        assert_eq!(path_name("fdsc-0"), "path-gwc-fdsc-0-gw");
    }

    #[test]
    fn open_and_registered_chains_are_skipped_others_get_exactly_the_missing_actions() {
        use ConnectAction::*;
        let mut relayer = RelayerState::default();
        relayer.paths.insert(
            path_name("fdsc-0"),
            PathState { src_client: "07-tendermint-1".into(), ..Default::default() },
        );
        let channels =
            vec![chan("channel-0", "mdsc", "STATE_OPEN"), chan("channel-1", "fdsc-0", "STATE_INIT")];
        let storage: BTreeSet<String> = ["mdsc".to_string()].into();
        let targets = vec!["mdsc".to_string(), "fdsc-0".to_string(), "fdsc-1".to_string()];
        let p = plan(&relayer, &channels, &storage, &targets, false);
        assert_eq!(
            acts(&p),
            [
                Link("fdsc-0".into()),
                Register("fdsc-0".into()),
                NewPath("fdsc-1".into()),
                Link("fdsc-1".into()),
                Register("fdsc-1".into())
            ]
        );
        let why = &p.actions[0].reason;
        assert!(why.contains("channel-1 not open"), "{why}");
        assert!(p.skips.iter().any(|s| s.reason.contains("reusing client 07-tendermint-1")));
        assert_eq!(p.skips.iter().filter(|s| s.reason.contains("mdsc")).count(), 3);
    }

    #[test]
    fn force_refreshes_paths_but_never_duplicates_a_channel_or_registration() {
        use ConnectAction::*;
        let channels = vec![chan("channel-0", "mdsc", "STATE_OPEN")];
        let storage: BTreeSet<String> = ["mdsc".to_string()].into();
        let p = plan(&RelayerState::default(), &channels, &storage, &["mdsc".to_string()], true);
        assert_eq!(acts(&p), [NewPath("mdsc".into())]);
    }

    #[test]
    fn hints_follow_the_last_error() {
        assert!(hint("Error: account sequence mismatch, expected 5").contains("raced"));
        assert!(hint("rly exited 0 but gwc shows no OPEN gateway channel").contains("handshake"));
    }
}
