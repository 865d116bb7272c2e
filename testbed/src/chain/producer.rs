//! The block producer: commits a block every interval, or waits while the interval is
//! `None` (manual mode, where tests call `produce_blocks`). A changed interval applies at
//! once; the node's shutdown ends the task. A suspended node (pod scaled away) waits.

use super::node::ChainNode;

pub fn spawn(node: ChainNode) {
    tokio::spawn(run(node));
}

async fn run(node: ChainNode) {
    let mut interval = node.interval_watch();
    let mut running = node.running_watch();
    let shutdown = node.0.shutdown.clone();
    loop {
        let current = *interval.borrow_and_update();
        let current = if *running.borrow_and_update() { current } else { None };
        match current {
            None => tokio::select! {
                changed = interval.changed() => if changed.is_err() { return },
                changed = running.changed() => if changed.is_err() { return },
                _ = shutdown.cancelled() => return,
            },
            // A change wins over a due block: once `set_block_interval` returns, no block of
            // the old schedule is made (`produce_scheduled` checks again under the lock).
            Some(period) => tokio::select! {
                biased;
                changed = interval.changed() => if changed.is_err() { return },
                changed = running.changed() => if changed.is_err() { return },
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(period) => node.produce_scheduled(period),
            },
        }
    }
}
