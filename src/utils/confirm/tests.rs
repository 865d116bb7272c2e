//! Confirmation by following blocks, case by case.
use super::*;

fn found(hash: &str, height: u64, header_time: &str) -> TxConfirmation {
    TxConfirmation::included(hash.into(), height, header_time.into(), FoundBy::Block)
}

fn at(t: &str) -> Timestamp {
    t.parse().unwrap()
}

#[test]
fn latency_runs_to_the_next_headers_time_not_the_including_one() {
    // BFT time: block 7's header time (…:01.5) is block 6's commit, before the send (…:02).
    let mono = Instant::now();
    let mut t = Tracker::default();
    t.expect("AA", Submitted { wall: at("2026-01-01T00:00:02Z"), mono: Some(mono) });
    t.close();
    let observed = (at("2026-01-01T00:00:03Z"), mono + Duration::from_millis(900));
    t.confirm(found("AA", 7, "2026-01-01T00:00:01.5Z"), Some(observed));
    assert!(t.all_included() && !t.done(), "included, commit time still awaited");
    let c = t.confirmation("AA").unwrap();
    assert_eq!((c.latency_seconds, c.observed_latency_seconds), (None, Some(0.9)));
    t.header_seen(7, "2026-01-01T00:00:01.5Z");
    assert!(!t.done(), "the including block's header gives no commit time");
    t.header_seen(8, "2026-01-01T00:00:02.75Z");
    assert!(t.done());
    let c = t.confirmation("AA").unwrap();
    assert_eq!(c.commit_time.as_deref(), Some("2026-01-01T00:00:02.75Z"));
    assert_eq!(c.latency_seconds, Some(0.75));
    assert_eq!(c.latency_unavailable, None);
    let l = latency([c].into_iter());
    assert_eq!((l.commit.unwrap().max, l.excluded), (0.75, 0));
}

#[test]
fn without_a_submit_time_there_is_no_latency_and_the_stats_leave_it_out() {
    let mut t = Tracker::of([("AA".to_string(), None), ("BB".to_string(), None)]);
    t.forget("BB");
    t.confirm(found("CC", 3, "2026-01-01T00:00:00Z"), None);
    assert_eq!(t.confirmed_count(), 0, "an unwatched hash is not confirmed");
    assert_eq!(t.pending(), vec!["AA".to_string()]);
    t.confirm(found("AA", 3, "2026-01-01T00:00:00Z"), None);
    t.header_seen(4, "2026-01-01T00:00:01Z");
    assert!(t.done());
    let c = t.confirmation("AA").unwrap();
    assert_eq!(c.commit_time.as_deref(), Some("2026-01-01T00:00:01Z"), "commit time is still reported");
    assert_eq!((c.latency_seconds, c.observed_latency_seconds), (None, None));
    assert_eq!(c.latency_unavailable.as_deref(), Some(NO_SUBMIT_TIME));
    let l = latency([c].into_iter());
    assert_eq!((l.commit, l.observed, l.excluded), (None, None, 1));
    assert_eq!(l.excluded_by_reason[NO_SUBMIT_TIME], 1);
}

#[test]
fn a_commit_never_seen_leaves_the_latency_null_with_the_reason() {
    let mut t = Tracker::default();
    t.expect("AA", Submitted { wall: at("2026-01-01T00:00:00Z"), mono: None });
    t.close();
    t.confirm(found("AA", 9, "2026-01-01T00:00:01Z"), None);
    t.give_up_awaiting();
    let c = t.confirmation("AA").unwrap();
    assert_eq!(c.latency_seconds, None);
    assert!(c.latency_unavailable.as_deref().unwrap().contains("block 10"), "{c:?}");
}

#[test]
fn a_submit_time_after_the_commit_or_before_the_chain_gives_no_latency_and_no_statistic() {
    let start = WatchStart { height: 5, earliest_block_time: Some(at("2026-01-01T00:00:00Z")) };
    let mut t = Tracker::of([
        ("AHEAD".to_string(), Some(Submitted { wall: at("2026-01-01T01:00:24Z"), mono: None })),
        ("EPOCH".to_string(), Some(Submitted { wall: at("1970-01-01T00:00:00Z"), mono: None })),
        ("SOUND".to_string(), Some(Submitted { wall: at("2026-01-01T01:00:22Z"), mono: None })),
    ])
    .since(start);
    let observed = (at("2026-01-01T01:00:23.6Z"), Instant::now());
    for hash in ["AHEAD", "EPOCH", "SOUND"] {
        t.confirm(found(hash, 7, "2026-01-01T01:00:22.5Z"), Some(observed));
    }
    t.header_seen(8, "2026-01-01T01:00:23.468Z");
    assert!(t.done());
    let ahead = t.confirmation("AHEAD").unwrap();
    assert_eq!(ahead.latency_seconds, None, "never negative: {ahead:?}");
    assert_eq!(ahead.latency_unavailable.as_deref(), Some(SUBMITTED_AFTER_COMMIT));
    assert_eq!(ahead.observed_latency_seconds, None, "{ahead:?}");
    let epoch = t.confirmation("EPOCH").unwrap();
    assert_eq!((epoch.latency_seconds, epoch.observed_latency_seconds), (None, None), "{epoch:?}");
    assert_eq!(epoch.latency_unavailable.as_deref(), Some(SUBMITTED_BEFORE_CHAIN));
    let sound = t.confirmation("SOUND").unwrap();
    assert!((sound.latency_seconds.unwrap() - 1.468).abs() < 1e-9, "{sound:?}");
    let l = latency(["AHEAD", "EPOCH", "SOUND"].iter().map(|h| t.confirmation(h).unwrap()));
    let commit = l.commit.unwrap();
    assert_eq!((commit.count, l.excluded), (1, 2));
    assert!(commit.min >= 0.0 && commit.max < 2.0, "{commit:?}");
    assert_eq!(
        (l.excluded_by_reason[SUBMITTED_AFTER_COMMIT], l.excluded_by_reason[SUBMITTED_BEFORE_CHAIN]),
        (1, 1)
    );
}

#[test]
fn only_a_block_committed_after_the_watch_began_has_an_observed_latency() {
    let start = WatchStart { height: 5, earliest_block_time: None };
    let submitted = Some(Submitted { wall: at("2026-01-01T00:00:00Z"), mono: None });
    let mut t = Tracker::of([("OLD".to_string(), submitted), ("NEW".to_string(), submitted)]).since(start);
    let observed = (at("2026-01-01T00:00:50Z"), Instant::now());
    t.confirm(found("OLD", 5, "2026-01-01T00:00:01Z"), Some(observed));
    t.confirm(found("NEW", 6, "2026-01-01T00:00:02Z"), Some(observed));
    let old = t.confirmation("OLD").unwrap();
    assert_eq!(old.observed_latency_seconds, None, "the watch's delay is no latency: {old:?}");
    assert_eq!(old.observed_latency_unavailable.as_deref(), Some(COMMITTED_BEFORE_WATCH));
    assert_eq!(t.confirmation("NEW").unwrap().observed_latency_seconds, Some(50.0));
    t.header_seen(6, "2026-01-01T00:00:02Z");
    t.header_seen(7, "2026-01-01T00:00:03Z");
    let l = latency(["OLD", "NEW"].iter().map(|h| t.confirmation(h).unwrap()));
    assert_eq!((l.commit.unwrap().count, l.observed.unwrap().count), (2, 1));
    assert_eq!(l.observed_excluded_by_reason[COMMITTED_BEFORE_WATCH], 1);
}
