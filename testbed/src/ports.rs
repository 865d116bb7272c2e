//! NodePorts for testbeds on free ports. They are picked below the kernel's ephemeral range:
//! every client connection of the process takes its local port from that range, and one of
//! them could hold a chain's port while its RPC is stopped, so it could not listen again (a
//! fault-schedule run once failed that way). Leases are process-wide, so testbeds running side
//! by side never pick the same port, and end when the chain goes.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;

static LEASED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Lowest port picked (below it: well-known and registered services).
const LOWEST: u16 = 10_000;

/// A port this process holds for a chain; released on drop.
#[derive(Debug)]
pub struct PortLease(u16);

impl Drop for PortLease {
    fn drop(&mut self) {
        LEASED.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
}

/// First port of the kernel's ephemeral range (Linux default 32768).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A listener on a free port of `ip` outside the ephemeral range, with its lease; an
/// ephemeral port (no lease) if none is found.
pub fn listen(ip: &str) -> std::io::Result<(TcpListener, Option<PortLease>)> {
    let top = ephemeral_start();
    if top > LOWEST + 100 {
        for _ in 0..200 {
            let port = rand::random_range(LOWEST..top);
            let mut leased = LEASED.lock().unwrap_or_else(|e| e.into_inner());
            if leased.contains(&port) {
                continue;
            }
            if let Ok(listener) = TcpListener::bind((ip, port)) {
                leased.insert(port);
                return Ok((listener, Some(PortLease(port))));
            }
        }
    }
    Ok((TcpListener::bind((ip, 0))?, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leased_ports_are_below_the_ephemeral_range_distinct_and_released_on_drop() {
        let (a, lease_a) = listen("127.0.0.1").unwrap();
        let (b, _lease_b) = listen("127.0.0.1").unwrap();
        let (pa, pb) = (a.local_addr().unwrap().port(), b.local_addr().unwrap().port());
        assert_ne!(pa, pb);
        assert!(pa < ephemeral_start() && pa >= LOWEST, "{pa}");
        assert!(LEASED.lock().unwrap().contains(&pa));
        drop(lease_a);
        assert!(!LEASED.lock().unwrap().contains(&pa));
    }
}
