//! cryptomeria-bff: a Kubernetes-style reconciler for the Cryptomeria testbed, served as a
//! REST API from outside the cluster through a kubeconfig.
//!
//! ```text
//!   kube API ──watch──▶ cache ──reads──▶ api (/api/v1: system, chains, utils)
//!                         │                 │ POST start/connect/restart
//!                         ▼                 ▼
//!   pods/exec ◀──act── reconcile steps ◀── jobs (runner, logs, cancel)
//!   chain RPC/REST ◀── chain clients
//! ```
//! The embedded simulated cluster is its own crate (`testbed/`, package `cryptomeria-testbed`),
//! used by `demo`, `bench` and the tests behind the default `testbed` feature; the product
//! reaches it only through a kubeconfig and HTTP.

pub mod api;
pub mod app;
#[cfg(feature = "testbed")]
pub mod bench;
pub mod cache;
pub mod chain;
pub mod chart;
pub mod cli;
pub mod config;
pub mod ctl;
pub mod error_code;
pub mod jobs;
pub mod k8s;
pub mod metrics;
pub mod reconcile;
pub mod sync;
pub mod system;
pub mod telemetry;
pub mod utils;
