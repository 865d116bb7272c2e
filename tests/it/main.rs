//! One integration-test binary (links once on 2-core CI), one module per area.

mod bench;
mod chains;
mod cli;
mod common;
mod ctl;
mod deploy;
mod fault_schedules;
mod first_tx;
mod fuzz;
mod jobs;
mod metrics;
mod reconcile;
mod system_reads;
mod testbed_chains;
mod testbed_kube_rs;
mod testbed_kubectl;
mod testbed_programs;
mod testbed_wire;
mod utils;
mod watch_faults;
