//! connectAll / connect(target): each storage chain gets an OPEN channel from gwc's `gateway`
//! port to its own port (`metastore` for mdsc, `datastore` otherwise), a relayer path whose
//! client and connection ids are the channel ends', and its storage registered on gwc.
//! Observe: the relayer report (paths), gwc's channels and registrations (REST), and for each
//! OPEN channel the ids on both chains ([`chain_ids`]). A missing path is rebuilt from those ids
//! (`rly paths new` + `rly paths update`), a path whose ids disagree is corrected, and a pair
//! with an OPEN channel is never linked again (no second client, connection or channel). Links
//! run one at a time (they all sign with the relayer key on gwc), each retried; success is an
//! OPEN channel observed on gwc, never `rly`'s exit code alone. With `force`, the ids of every
//! path with an OPEN channel are set again; an OPEN channel or a registration is still never
//! created twice.

use super::chain_ids::{self, Observed, PairIds};
use super::chains_live;
use super::gateway::{self, GatewayChannel, open_channel};
use super::journal::Journal;
use super::plan::{Act, Plan};
use super::relayer_state;
use super::run::Run;
use super::settings::LinkSigners;
use crate::chart::{GWC, dst_port, path_name};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::k8s::script::quote;
use crate::system::relayer::RelayerState;
use act::{link, path_batch, register};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub const VERSION: &str = "cryptomeria-1";

/// Cosmos SDK `ErrWrongSequence` (codespace sdk).
const SDK_WRONG_SEQUENCE: i64 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectAction {
    NewPath(String),
    /// `rly paths update` with the ids the chains record for the pair.
    SetPathIds(String, PairIds),
    Link(String),
    Register(String),
}

impl ConnectAction {
    /// Whether this action edits rly's config (run in the one batched path exec).
    fn edits_path(&self) -> bool {
        matches!(self, Self::NewPath(_) | Self::SetPathIds(..))
    }

    /// The command as the batch runs it: ids read from a chain are quoted.
    fn shell_line(&self) -> String {
        match self {
            Self::SetPathIds(id, ids) => {
                let args: Vec<String> =
                    ids.update_args().iter().map(|(f, v)| format!("{f} {}", quote(v))).collect();
                format!("rly paths update {} {}", path_name(id), args.join(" "))
            }
            other => other.command(),
        }
    }

    fn chain(&self) -> &str {
        match self {
            Self::NewPath(id) | Self::SetPathIds(id, _) | Self::Link(id) | Self::Register(id) => id,
        }
    }
}

impl Act for ConnectAction {
    fn command(&self) -> String {
        match self {
            Self::NewPath(id) => format!(
                "rly paths new {GWC} {id} {} --src-port gateway --dst-port {} --version {VERSION}",
                path_name(id),
                dst_port(id)
            ),
            Self::SetPathIds(id, ids) => {
                let args: Vec<String> = ids.update_args().iter().map(|(f, v)| format!("{f} {v}")).collect();
                format!("rly paths update {} {}", path_name(id), args.join(" "))
            }
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

/// A pair with an OPEN gateway channel whose path can't be rebuilt: the chains' ids are
/// unknown and the relayer has no complete path. Linking again would duplicate the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoChainIds {
    pub chain: String,
    pub channel: String,
    pub why: String,
}

/// What connect must do for `targets`. `ids` holds, per target with an OPEN gateway channel,
/// the ids the chains record (or why they are unknown).
pub fn plan(
    relayer: &RelayerState,
    channels: &[GatewayChannel],
    ids: &BTreeMap<String, Observed>,
    storage: &BTreeSet<String>,
    targets: &[String],
    force: bool,
) -> Result<Plan<ConnectAction>, NoChainIds> {
    let mut plan = Plan::default();
    for id in targets {
        let path = path_name(id);
        let new_path = ConnectAction::NewPath(id.clone());
        let link = ConnectAction::Link(id.clone());
        let existing = relayer.paths.get(&path);
        match open_channel(channels, id, dst_port(id)) {
            Some(ch) => {
                let known = match ids.get(id) {
                    Some(Ok(known)) => Ok(known),
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("not observed".to_string()),
                };
                match (existing, known) {
                    (None, Ok(known)) => {
                        let from = known.describe(id);
                        plan.act(new_path, format!("rebuild path {path} from chain state: {from}"));
                        plan.act(
                            ConnectAction::SetPathIds(id.clone(), known.clone()),
                            format!("set {path}'s ids from chain state: {from}"),
                        );
                    }
                    (Some(p), Ok(known)) => {
                        let wrong = known.differences(p);
                        let set = ConnectAction::SetPathIds(id.clone(), known.clone());
                        let from = known.describe(id);
                        plan.skip(new_path.command(), format!("path {path} exists"));
                        if !wrong.is_empty() {
                            let what = if chain_ids::complete(p) { "disagree with" } else { "are missing from" };
                            plan.act(
                                set,
                                format!(
                                    "correct path {path}: its ids {what} chain state ({}): {from}",
                                    wrong.join(", ")
                                ),
                            );
                        } else if force {
                            plan.act(set, format!("force: set {path}'s ids again from chain state: {from}"));
                        } else {
                            plan.skip(set.command(), format!("path {path}'s ids match chain state: {from}"));
                        }
                    }
                    (Some(p), Err(why)) if chain_ids::complete(p) => plan.skip(
                        new_path.command(),
                        format!(
                            "path {path} exists with client {} connection {}; ids not checked against chain state: {why}",
                            p.src_client, p.src_connection
                        ),
                    ),
                    (_, Err(why)) => {
                        return Err(NoChainIds { chain: id.clone(), channel: ch.channel_id.clone(), why });
                    }
                }
                plan.skip(
                    link.command(),
                    format!(
                        "{} OPEN gateway<->{}:{} (never a second client, connection or channel)",
                        ch.channel_id,
                        id,
                        dst_port(id)
                    ),
                );
            }
            None => {
                match existing {
                    Some(p) => {
                        let reuse = if p.src_client.is_empty() {
                            String::new()
                        } else {
                            format!(" (reusing client {} connection {})", p.src_client, p.src_connection)
                        };
                        // `rly paths new` refuses a name it has, so force cannot re-run it.
                        plan.skip(new_path.command(), format!("path {path} exists{reuse}"))
                    }
                    None => plan.act(new_path, format!("no path {path} in rly's config")),
                }
                let stuck: Vec<&str> = channels
                    .iter()
                    .filter(|c| c.counterparty_chain == *id && c.state != crate::chart::OPEN)
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
    Ok(plan)
}

/// Why connectAll / connect failed (beyond an exec that could not run).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `rly` lacks a chain entry or key a link needs.
    #[error("rly lacks {} needed to link {chain}", missing.join(", "))]
    RelayerLacks { chain: String, missing: Vec<String> },
    /// gwc has an OPEN channel whose ids could not be read while rly lacks a complete path:
    /// linking again would create a second client, connection and channel.
    #[error(
        "cannot rebuild path {path} from chain state: gwc has OPEN {channel} to {chain} but its ids are unknown ({why}); the path {has} and a new link would duplicate the channel"
    )]
    NoChainIds { path: String, channel: String, chain: String, why: String, has: &'static str },
    /// A batched `rly paths new/update` exited non-zero.
    #[error("{command} exited {code}: {said}")]
    PathCommandFailed { command: String, code: i32, said: String },
    /// `rly transact link` did not leave an OPEN gateway channel after every attempt.
    #[error("linking gwc<->{chain} failed {attempts} times: {last_error}")]
    LinkFailed { chain: String, attempts: u32, last_error: String },
    /// An earlier `rly transact link` of the path still ran when LINK_TIMEOUT ran out.
    #[error("rly transact link {path} still runs after {after}")]
    LinkStillRunning { path: String, after: String, pids: Vec<String> },
    /// The storage registration did not land on gwc; `tx` is what gwcd answered.
    #[error("{message}")]
    RegisterFailed { chain: String, channel: String, message: String, tx: serde_json::Value },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (code, details) = match &e {
            Error::RelayerLacks { chain, .. } => (
                ErrorCode::RelayerNotReady,
                json!({"chainId": chain, "hint": "run system.start with the initRelayer step"}),
            ),
            Error::NoChainIds { path, channel, chain, why, .. } => (
                ErrorCode::IbcNotReady,
                json!({
                    "chainPair": format!("gwc<->{chain}"),
                    "path": path,
                    "channel": channel,
                    "reason": why,
                    "hint": "the BFF reads the ids from gwc's REST API (channel → connection → client): make it reachable (--chain-endpoint) and run again",
                }),
            ),
            Error::PathCommandFailed { .. } => (ErrorCode::ExecFailed, json!({})),
            Error::LinkFailed { chain, attempts, last_error } => (
                ErrorCode::RelayerLinkFailed,
                json!({"chainPair": format!("gwc<->{chain}"), "attempts": attempts, "hint": act::hint(last_error), "lastError": last_error}),
            ),
            Error::LinkStillRunning { path, pids, .. } => (
                ErrorCode::Timeout,
                json!({"path": path, "pids": pids, "hint": "the earlier link may be stuck: check the relayer pod (pgrep -af rly)"}),
            ),
            Error::RegisterFailed { chain, channel, tx, .. } => {
                (ErrorCode::StorageRegisterFailed, json!({"chainId": chain, "channel": channel, "tx": tx}))
            }
        };
        Failure::new(code, e.to_string()).with_details(details)
    }
}

/// Links need both chains configured in `rly` with their relayer keys.
fn ready_to_link(relayer: &RelayerState, id: &str) -> Result<(), Error> {
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
    Err(Error::RelayerLacks { chain: id.to_string(), missing })
}

pub async fn run(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    let topo = run.topology()?;
    if topo.targets.is_empty() {
        return Ok(StepOutcome::Skipped("no storage chain to link".into()));
    }
    // gwc and the targets must serve before their REST is read; the relayer's exec meanwhile.
    let chains: Vec<String> = std::iter::once(GWC.to_string()).chain(topo.targets.iter().cloned()).collect();
    let (relayer, live) =
        tokio::join!(relayer_state::observe(run, journal), chains_live::wait(run, journal, &chains));
    let (relayer, _) = (relayer?, live?);
    let channels = gateway::channels(run, journal).await?;
    let ids = chain_ids::observe(run, &channels, &topo.targets).await;
    let storage = gateway::storage(run, journal).await?;
    let plan = plan(&relayer, &channels, &ids, &storage, &topo.targets, run.params().force)
        .map_err(|e| no_chain_ids(&relayer, e))?;
    if let Some(outcome) = run.decide(&plan, journal) {
        return Ok(outcome);
    }
    let planned = |a: &ConnectAction| plan.actions.iter().any(|p| p.action == *a);
    for id in topo.targets.iter().filter(|id| planned(&ConnectAction::Link((*id).clone()))) {
        ready_to_link(&relayer, id)?;
    }
    let edits: Vec<&ConnectAction> =
        plan.actions.iter().map(|p| &p.action).filter(|a| a.edits_path()).collect();
    if !edits.is_empty() {
        path_batch(run, journal, &topo, &edits).await?;
        run.mark_paths_changed();
        if !relayer.running.is_empty() {
            let chains: BTreeSet<&str> = edits.iter().map(|a| a.chain()).collect();
            journal.warn(&format!(
                "rly start (pid {}) read config.yaml before these path changes ({}); it relays them once restarted (system.start's startRelayer does, or POST /system/relayer/restart)",
                relayer.running.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
                chains.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let mut linked = Vec::new();
    let to_link: Vec<String> =
        topo.targets.iter().filter(|id| planned(&ConnectAction::Link((*id).clone()))).cloned().collect();
    let side_by_side = run.settings().link_signers == LinkSigners::PerPath && to_link.len() > 1;
    let mut opened = BTreeMap::new();
    if side_by_side {
        opened = link_side_by_side(run, journal, &topo, &to_link).await?;
    }
    for id in &topo.targets {
        let channel = if let Some((channel, attempts)) = opened.get(id) {
            linked.push(format!("{id} via {channel} (attempts={attempts}, own gwc signer)"));
            channel.clone()
        } else if planned(&ConnectAction::Link(id.clone())) {
            let home = run.settings().rly_home.clone();
            let (channel, attempts) = link(run, journal, &topo, id, &home).await?;
            linked.push(format!("{id} via {channel} (attempts={attempts})"));
            run.mark_paths_changed();
            channel
        } else {
            open_channel(&channels, id, dst_port(id)).map(|c| c.channel_id.clone()).unwrap_or_default()
        };
        if planned(&ConnectAction::Register(id.clone())) {
            register(run, journal, &topo, id, &channel).await?;
        }
    }
    let mut message = plan.summary();
    let rebuilt: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|p| match &p.action {
            ConnectAction::SetPathIds(id, ids) => Some(format!("{} ({})", path_name(id), ids.describe(id))),
            _ => None,
        })
        .collect();
    if !rebuilt.is_empty() {
        message.push_str(&format!("; paths set from chain state: {}", rebuilt.join(", ")));
    }
    if !linked.is_empty() {
        message.push_str(&format!("; linked {}", linked.join(", ")));
    }
    Ok(StepOutcome::Done(message))
}

/// Links `chains` at once, each in its own link home with its own gwc signer, then sets
/// the ids of each opened pair in the main home's path from chain state (the link wrote them
/// to its own home's config only). Returns each opened chain's channel and attempts; the
/// first failure after the others are done and recorded.
async fn link_side_by_side(
    run: &Run,
    journal: &dyn Journal,
    topo: &super::run::Topology,
    chains: &[String],
) -> Result<BTreeMap<String, (String, u32)>, Failure> {
    link_homes::prepare(run, journal, topo, chains).await?;
    journal.progress(&format!("linking {} chains side by side, each with its own gwc signer", chains.len()));
    let main = run.settings().rly_home.clone();
    let homes: Vec<String> = chains.iter().map(|id| link_homes::home(&main, id)).collect();
    let results = futures::future::join_all(
        chains.iter().zip(&homes).map(|(id, home)| link(run, journal, topo, id, home)),
    )
    .await;
    let mut opened = BTreeMap::new();
    let mut failed = None;
    for (id, result) in chains.iter().zip(results) {
        match result {
            Ok(done) => {
                opened.insert(id.clone(), done);
            }
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    if !opened.is_empty() {
        run.mark_paths_changed();
        let ids: Vec<String> = opened.keys().cloned().collect();
        let channels = gateway::channels(run, journal).await?;
        let observed = chain_ids::observe(run, &channels, &ids).await;
        let mut edits = Vec::new();
        for id in &ids {
            match observed.get(id) {
                Some(Ok(known)) => {
                    let set = ConnectAction::SetPathIds(id.clone(), known.clone());
                    journal.command(
                        &set.command(),
                        "planned",
                        &format!(
                            "linked in its own home: set {}'s ids from chain state: {}",
                            path_name(id),
                            known.describe(id)
                        ),
                    );
                    edits.push(set);
                }
                Some(Err(why)) => journal.warn(&format!(
                    "{}'s ids could not be read after its link ({why}); the next connect sets them",
                    path_name(id)
                )),
                None => {}
            }
        }
        let edits: Vec<&ConnectAction> = edits.iter().collect();
        if !edits.is_empty() {
            path_batch(run, journal, topo, &edits).await?;
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(opened),
    }
}

/// The failure for a pair whose OPEN channel's ids could not be read while rly lacks a
/// complete path: linking again would create a second client, connection and channel.
fn no_chain_ids(relayer: &RelayerState, e: NoChainIds) -> Error {
    let path = path_name(&e.chain);
    let has = if relayer.paths.contains_key(&path) { "has no ids" } else { "is missing" };
    Error::NoChainIds { path, channel: e.channel, chain: e.chain, why: e.why, has }
}

mod act;
pub mod link_homes;
#[cfg(test)]
mod tests;
