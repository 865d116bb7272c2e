//! One integration-test binary (links once on 2-core CI), one module per area.

mod architecture;
mod bench;
mod chains;
mod cli;
mod common;
mod ctl;
mod deploy;
mod fault_schedules;
mod first_tx;
mod fuzz;
mod ibc_health;
mod jobs;
mod metrics;
mod reconcile;
mod request_rules;
mod system_reads;
mod testbed_chains;
mod testbed_ibc;
mod testbed_kube_rs;
mod testbed_kubectl;
mod testbed_programs;
mod testbed_python_client;
mod testbed_wire;
mod ui;
mod utils;
mod watch_faults;
