//! The IBC assessment and the pending-packet ages, case by case.
use super::*;
use crate::chart::{GATEWAY_PORT, OPEN, path_name};
use crate::system::relayer::{PathState, RelayerState};

const BOUNDS: Bounds = Bounds { stall_blocks: 10, low_balance_uatom: 20_000 };

fn end(chain: &str, n: u32) -> End {
    End {
        chain_id: chain.into(),
        port_id: if chain == GWC { GATEWAY_PORT.into() } else { "datastore".into() },
        channel_id: format!("channel-{n}"),
        channel_state: Some(OPEN.into()),
        connection_id: Some(format!("connection-{n}")),
        connection_state: Some(OPEN.into()),
        client_id: Some(format!("07-tendermint-{n}")),
        client_status: Some("Active".into()),
        trusting_period_seconds: Some(1_209_600),
        ..End::default()
    }
}

fn linked() -> PairObservation {
    PairObservation {
        chain_id: "fdsc-0".into(),
        gwc: Some(end(GWC, 1)),
        counterparty: Some(end("fdsc-0", 0)),
        gwc_to_chain: Direction::default(),
        chain_to_gwc: Direction::default(),
        errors: Vec::new(),
    }
}

fn relayer(path: Option<PathState>, running: bool) -> RelayerState {
    let mut st = RelayerState::default();
    if let Some(p) = path {
        st.paths.insert(path_name("fdsc-0"), p);
    }
    st.running = if running { vec![42] } else { Vec::new() };
    st
}

fn good_path() -> PathState {
    PathState {
        src: GWC.into(),
        dst: "fdsc-0".into(),
        src_client: "07-tendermint-1".into(),
        dst_client: "07-tendermint-0".into(),
        src_connection: "connection-1".into(),
        dst_connection: "connection-0".into(),
    }
}

#[test]
fn a_linked_pair_with_a_matching_path_and_a_running_relayer_is_relaying() {
    let pair = assess_pair(&linked(), Some(&relayer(Some(good_path()), true)), BOUNDS);
    assert_eq!((pair.verdict, pair.path_matches), (Verdict::Relaying, Some(true)), "{:?}", pair.reasons);
}

#[test]
fn a_path_without_ids_or_a_dead_relayer_is_down_with_the_reason() {
    let empty = PathState { src: GWC.into(), dst: "fdsc-0".into(), ..PathState::default() };
    let pair = assess_pair(&linked(), Some(&relayer(Some(empty), true)), BOUNDS);
    assert_eq!((pair.verdict, pair.path_matches), (Verdict::Down, Some(false)));
    assert!(pair.reasons[0].contains("(none)"), "{:?}", pair.reasons);
    let pair = assess_pair(&linked(), Some(&relayer(Some(good_path()), false)), BOUNDS);
    assert_eq!(pair.verdict, Verdict::Down);
    assert!(pair.reasons.iter().any(|r| r.contains("not running")), "{:?}", pair.reasons);
    let pair = assess_pair(&linked(), Some(&relayer(None, true)), BOUNDS);
    assert!(pair.reasons.iter().any(|r| r.contains("no path")), "{:?}", pair.reasons);
}

#[test]
fn an_expired_client_is_down_and_a_stalled_backlog_degraded() {
    let mut obs = linked();
    obs.counterparty.as_mut().unwrap().client_status = Some("Expired".into());
    let pair = assess_pair(&obs, Some(&relayer(Some(good_path()), true)), BOUNDS);
    assert_eq!(pair.verdict, Verdict::Down);
    assert!(
        pair.reasons.iter().any(|r| r.contains("07-tendermint-0 on fdsc-0 is Expired")),
        "{:?}",
        pair.reasons
    );
    let mut obs = linked();
    obs.gwc_to_chain.packets = Backlog {
        count: 2,
        oldest_sequence: Some(3),
        oldest_pending_blocks: Some(10),
        sequences: vec![3, 7],
    };
    let pair = assess_pair(&obs, Some(&relayer(Some(good_path()), true)), BOUNDS);
    assert_eq!(pair.verdict, Verdict::Degraded, "{:?}", pair.reasons);
    assert!(pair.reasons.iter().any(|r| r.contains("sequences [3, 7]")), "{:?}", pair.reasons);
    obs.gwc_to_chain.packets.oldest_pending_blocks = Some(9);
    assert_eq!(assess_pair(&obs, Some(&relayer(Some(good_path()), true)), BOUNDS).verdict, Verdict::Relaying);
}

#[test]
fn pending_items_age_from_first_sight_and_are_forgotten_once_relayed() {
    let since = PendingSince::default();
    let key = (GWC, GATEWAY_PORT, "channel-1", "packet");
    assert_eq!(since.backlog(key, &[4, 5], Some(100), None).oldest_pending_blocks, Some(0));
    let b = since.backlog(key, &[4, 5, 6], Some(107), None);
    assert_eq!((b.count, b.oldest_sequence, b.oldest_pending_blocks), (3, Some(4), Some(7)));
    assert_eq!(b.sequences, vec![4, 5, 6]);
    assert_eq!(since.backlog(key, &[6], Some(108), None).oldest_pending_blocks, Some(1));
    assert_eq!(since.backlog(key, &[], Some(109), None), Backlog::default());
    assert_eq!(since.backlog(key, &[4], Some(110), None).oldest_pending_blocks, Some(0), "seen anew");
    assert!(!since.knows(key, 9));
    let b = since.backlog(key, &[4, 9], Some(112), Some((9, 105)));
    assert_eq!(b.oldest_pending_blocks, Some(7), "aged from its own event's height");
    assert!(since.knows(key, 9));
}

#[test]
fn a_client_past_two_thirds_of_its_trusting_period_is_degraded_with_what_to_run() {
    let now: jiff::Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
    let ago = |secs: i64| now.checked_sub(jiff::SignedDuration::from_secs(secs)).unwrap();
    let mut obs = linked();
    let other = obs.counterparty.as_mut().unwrap();
    other.trusting_period_seconds = Some(300);
    other.set_consensus(Some(ago(199)), now);
    assert_eq!(other.trusting_period_left_seconds, Some(101));
    let fresh = assess_pair(&obs, Some(&relayer(Some(good_path()), true)), BOUNDS);
    assert_eq!(fresh.verdict, Verdict::Relaying, "{:?}", fresh.reasons);

    let other = obs.counterparty.as_mut().unwrap();
    other.set_consensus(Some(ago(201)), now);
    assert_eq!(other.trusting_period_left_seconds, Some(99));
    let stale = assess_pair(&obs, Some(&relayer(Some(good_path()), true)), BOUNDS);
    assert_eq!(stale.verdict, Verdict::Degraded);
    assert_eq!(
        stale.reasons,
        vec![
            "client 07-tendermint-0 on fdsc-0 expires in 99s unless updated (trusting period 300s): relay a packet \
             over it or run `rly transact update-clients path-gwc-fdsc-0-gw`"
                .to_string()
        ]
    );

    let other = obs.counterparty.as_mut().unwrap();
    other.set_consensus(Some(ago(400)), now);
    assert_eq!(other.trusting_period_left_seconds, Some(0), "never negative");
    other.set_consensus(None, now);
    assert_eq!(other.trusting_period_left_seconds, None, "unknown without a consensus state");
}

#[test]
fn a_wallet_below_the_warning_names_the_account_and_chain_to_fund() {
    let observed = RelayerObservation {
        pod: Some("rly-0".into()),
        state: Ok(relayer(Some(good_path()), true)),
        at: jiff::Timestamp::now(),
        restart_loop: None,
    };
    let low = Balance {
        chain_id: GWC.into(),
        address: "cosmos1relayer".into(),
        uatom: Some("100".into()),
        low: true,
        error: None,
    };
    let health = assess(&[linked()], &observed, vec![low], BOUNDS);
    assert_eq!(health.verdict, Verdict::Degraded, "{:?}", health.reasons);
    assert!(
        health.reasons.iter().any(|r| r.contains("100uatom") && r.ends_with("fund cosmos1relayer on gwc")),
        "{:?}",
        health.reasons
    );
}

#[test]
fn a_relayer_pod_restarting_in_a_loop_is_down_with_the_loop_named_and_not_probed() {
    let looping = "relayer pod rly-0 is restarting in a loop (restartCount 2, CrashLoopBackOff)".to_string();
    let observed = RelayerObservation {
        pod: Some("rly-0".into()),
        state: Err(looping.clone()),
        at: jiff::Timestamp::now(),
        restart_loop: Some(looping.clone()),
    };
    let health = assess(&[linked()], &observed, Vec::new(), BOUNDS);
    assert_eq!(health.verdict, Verdict::Down, "{:?}", health.reasons);
    assert_eq!(health.reasons, std::slice::from_ref(&looping), "named once, not as an observation failure");
    assert_eq!(health.relayer.restart_loop.as_deref(), Some(looping.as_str()));
    assert_eq!(health.relayer.running, None, "not observed: nothing execs into it");
}
