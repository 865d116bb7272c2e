//! The connect plan, case by case.

use super::act::hint;
use super::*;
use crate::system::relayer::PathState;

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

/// What the chains record for gwc's channel-1 to fdsc-0.
fn chain_ids() -> PairIds {
    PairIds {
        src_channel: "channel-1".into(),
        src_connection: "connection-1".into(),
        src_client: "07-tendermint-1".into(),
        dst_channel: "channel-0".into(),
        dst_connection: "connection-0".into(),
        dst_client: "07-tendermint-0".into(),
        unconfirmed: None,
        unfinished: false,
    }
}

fn path_with(ids: &PairIds) -> PathState {
    PathState {
        src: GWC.into(),
        dst: "fdsc-0".into(),
        src_client: ids.src_client.clone(),
        dst_client: ids.dst_client.clone(),
        src_connection: ids.src_connection.clone(),
        dst_connection: ids.dst_connection.clone(),
    }
}

/// fdsc-0 linked (channel-1 OPEN) and registered; the relayer's path as given.
fn plan_open(path: Option<PathState>, ids: Observed, force: bool) -> Result<Plan<ConnectAction>, NoChainIds> {
    let mut relayer = RelayerState::default();
    if let Some(p) = path {
        relayer.paths.insert(path_name("fdsc-0"), p);
    }
    let channels = vec![chan("channel-1", "fdsc-0", "STATE_OPEN")];
    let observed: BTreeMap<String, Observed> = [("fdsc-0".to_string(), ids)].into();
    let storage: BTreeSet<String> = ["fdsc-0".to_string()].into();
    plan(&relayer, &channels, &observed, &storage, &["fdsc-0".to_string()], force)
}

fn no_link(p: &Plan<ConnectAction>) {
    assert!(!acts(p).iter().any(|a| matches!(a, ConnectAction::Link(_))), "{p:?}");
    assert!(
        p.skips
            .iter()
            .any(|s| s.command.starts_with("rly transact link") && s.reason.contains("channel-1 OPEN"))
    );
}

#[test]
fn ports_and_paths_follow_the_scripts() {
    assert_eq!((dst_port("mdsc"), dst_port("fdsc-3")), ("metastore", "datastore"));
    assert_eq!(path_name("fdsc-0"), "path-gwc-fdsc-0-gw");
}

#[test]
fn a_missing_path_of_an_open_channel_is_rebuilt_with_the_chains_ids_never_linked() {
    use ConnectAction::*;
    let p = plan_open(None, Ok(chain_ids()), false).unwrap();
    assert_eq!(acts(&p), [NewPath("fdsc-0".into()), SetPathIds("fdsc-0".into(), chain_ids())]);
    assert_eq!(
        p.actions[0].reason,
        "rebuild path path-gwc-fdsc-0-gw from chain state: channel-1 on connection-1 (client 07-tendermint-1) ↔ fdsc-0 channel-0 on connection-0 (client 07-tendermint-0)"
    );
    assert_eq!(
        p.actions[1].action.command(),
        "rly paths update path-gwc-fdsc-0-gw --src-client-id 07-tendermint-1 --dst-client-id 07-tendermint-0 --src-connection-id connection-1 --dst-connection-id connection-0"
    );
    no_link(&p);
}

#[test]
fn a_counterparty_end_in_tryopen_still_rebuilds_the_path_and_says_rly_start_finishes_it() {
    use ConnectAction::*;
    let half = PairIds { unfinished: true, ..chain_ids() };
    let p = plan_open(None, Ok(half.clone()), false).unwrap();
    assert_eq!(acts(&p), [NewPath("fdsc-0".into()), SetPathIds("fdsc-0".into(), half)]);
    assert!(
        p.actions[0].reason.ends_with(
            "; channel handshake unfinished: fdsc-0's channel-0 is STATE_TRYOPEN, `rly start` completes it (ChanOpenConfirm)"
        ),
        "{}",
        p.actions[0].reason
    );
    no_link(&p);
}

#[test]
fn a_path_without_ids_gets_them_and_one_with_wrong_ids_is_corrected() {
    use ConnectAction::*;
    let bare = PathState { src: GWC.into(), dst: "fdsc-0".into(), ..Default::default() };
    let p = plan_open(Some(bare), Ok(chain_ids()), false).unwrap();
    assert_eq!(acts(&p), [SetPathIds("fdsc-0".into(), chain_ids())]);
    assert!(p.actions[0].reason.contains("are missing from chain state"), "{}", p.actions[0].reason);
    no_link(&p);

    let mut wrong = path_with(&chain_ids());
    wrong.dst_client = "07-tendermint-9".into();
    let p = plan_open(Some(wrong), Ok(chain_ids()), false).unwrap();
    assert_eq!(acts(&p), [SetPathIds("fdsc-0".into(), chain_ids())]);
    let why = &p.actions[0].reason;
    assert!(
        why.contains("disagree with chain state (dst client 07-tendermint-9 → 07-tendermint-0)"),
        "{why}"
    );
    no_link(&p);
}

#[test]
fn matching_ids_are_skipped_and_force_sets_them_again_without_paths_new_or_link() {
    use ConnectAction::*;
    let p = plan_open(Some(path_with(&chain_ids())), Ok(chain_ids()), false).unwrap();
    assert!(p.is_empty(), "{p:?}");
    assert!(p.skips.iter().any(|s| s.reason.contains("ids match chain state")));
    let p = plan_open(Some(path_with(&chain_ids())), Ok(chain_ids()), true).unwrap();
    assert_eq!(acts(&p), [SetPathIds("fdsc-0".into(), chain_ids())]);
    assert!(p.actions[0].reason.starts_with("force:"));
    no_link(&p);
    // Force on a missing path: rebuilt as without force, still never linked.
    let p = plan_open(None, Ok(chain_ids()), true).unwrap();
    assert_eq!(acts(&p), [NewPath("fdsc-0".into()), SetPathIds("fdsc-0".into(), chain_ids())]);
    no_link(&p);
}

#[test]
fn unknown_chain_ids_keep_a_complete_path_but_never_rebuild_blindly_or_link() {
    let why = "reading channel channel-1 from gwc's REST failed: refused".to_string();
    let p = plan_open(Some(path_with(&chain_ids())), Err(why.clone()), false).unwrap();
    assert!(p.is_empty());
    assert!(p.skips.iter().any(|s| s.reason.contains("ids not checked against chain state")));
    for path in [None, Some(PathState::default())] {
        let e = plan_open(path, Err(why.clone()), true).unwrap_err();
        assert_eq!(e, NoChainIds { chain: "fdsc-0".into(), channel: "channel-1".into(), why: why.clone() });
    }
}

#[test]
fn chains_without_an_open_channel_get_exactly_the_missing_actions() {
    use ConnectAction::*;
    let mut relayer = RelayerState::default();
    relayer.paths.insert(
        path_name("fdsc-0"),
        PathState { src_client: "07-tendermint-1".into(), ..Default::default() },
    );
    let channels = vec![chan("channel-0", "mdsc", "STATE_OPEN"), chan("channel-1", "fdsc-0", "STATE_INIT")];
    let mut mdsc = chain_ids();
    mdsc.src_channel = "channel-0".into();
    let mdsc_path = PathState { src: GWC.into(), dst: "mdsc".into(), ..path_with(&mdsc) };
    relayer.paths.insert(path_name("mdsc"), mdsc_path);
    let ids: BTreeMap<String, Observed> = [("mdsc".to_string(), Ok(mdsc))].into();
    let storage: BTreeSet<String> = ["mdsc".to_string()].into();
    let targets = vec!["mdsc".to_string(), "fdsc-0".to_string(), "fdsc-1".to_string()];
    let p = plan(&relayer, &channels, &ids, &storage, &targets, false).unwrap();
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
    assert_eq!(
        p.skips.iter().filter(|s| s.reason.contains("mdsc")).count(),
        4,
        "path, ids, link, registration"
    );
    // Force does not re-run `rly paths new` on a path rly has (it refuses the name).
    let forced = plan(&relayer, &channels, &ids, &storage, &targets, true).unwrap();
    assert!(!acts(&forced).contains(&NewPath("fdsc-0".into())));
    assert!(acts(&forced).contains(&SetPathIds("mdsc".into(), ids["mdsc"].clone().unwrap())));
}

#[test]
fn ids_from_a_chain_are_quoted_in_the_batch() {
    let mut ids = chain_ids();
    ids.src_client = "07-tendermint-1;x".into();
    let line = ConnectAction::SetPathIds("fdsc-0".into(), ids).shell_line();
    assert!(
        line.starts_with("rly paths update path-gwc-fdsc-0-gw --src-client-id '07-tendermint-1;x' "),
        "{line}"
    );
}

#[test]
fn hints_follow_the_last_error() {
    assert!(hint("Error: account sequence mismatch, expected 5").contains("raced"));
    assert!(hint("rly exited 0 but gwc shows no OPEN gateway channel").contains("handshake"));
}
