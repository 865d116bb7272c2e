//! cryptomeria-bff: a Kubernetes-style reconciler for the Cryptomeria testbed, served as a REST API.
pub mod testbed;
