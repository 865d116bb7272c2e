//! `cryptomeria-bff`: parse the command line and run it.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest and kube share rustls; exactly one crypto provider must be installed first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    bff::cli::Cli::parse().run().await
}
