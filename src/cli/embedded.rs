//! The subcommands that run the embedded simulated cluster: `testbed` alone, and `demo`
//! (testbed + API in one process). Built only with the `testbed` feature.

use crate::api::serve::{shutdown_signal, until_signal};
use crate::app::AppState;
use crate::config::{ChainSettings, DEFAULT_MAX_BODY_BYTES, JobSettings, ServerSettings, Settings, Timeouts};
use crate::reconcile::ReconcileSettings;
use crate::system::IbcSettings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use testbed::{NodePorts, Testbed};

#[derive(Debug, Clone, clap::Args)]
pub struct TestbedOptions {
    /// Number of data chains fdsc-0..N-1.
    #[arg(long, default_value_t = 2)]
    pub fdsc: usize,
    /// How long a new pod stays Pending before it runs and turns Ready.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub ready_delay: Duration,
    /// How long a chain pod is Ready before its node serves: the chart's entrypoint fetches
    /// genesis first (on install, pod recreation and scale-up). `0s` = serve at once.
    #[arg(long, default_value = "6s", value_parser = humantime::parse_duration)]
    pub boot_delay: Duration,
    /// Time between blocks on every chain (CometBFT's default timeout_commit is 1s), or
    /// `manual` for blocks only on demand through the testbed's control handle.
    #[arg(long, default_value = "1s", value_parser = parse_block_interval)]
    pub block_interval: BlockInterval,
    /// The Helm release to install the chart's objects under (as `helm install NAME`): their
    /// names follow the chart's fullname rule. `serve --release` must name the same.
    #[arg(long, default_value = "cryptomeria", value_parser = parse_release)]
    pub release: String,
    /// Where to write the testbed's kubeconfig (`kubectl --kubeconfig testbed.kubeconfig …`
    /// from the directory the command ran in).
    #[arg(long, default_value = "testbed.kubeconfig")]
    pub kubeconfig: PathBuf,
}

/// Helm's rule for a release name: a DNS label (lowercase letters, digits, `-`), ≤ 53 chars.
fn parse_release(text: &str) -> Result<String, String> {
    if testbed::objects::valid_release_name(text) {
        Ok(text.to_string())
    } else {
        Err("a release name is 1-53 lowercase letters, digits or '-', starting and ending alphanumeric"
            .into())
    }
}

/// A chain block interval; `None` = manual block production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInterval(pub Option<Duration>);

fn parse_block_interval(text: &str) -> Result<BlockInterval, String> {
    match text {
        "manual" => Ok(BlockInterval(None)),
        _ => match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() => Ok(BlockInterval(Some(d))),
            Ok(_) => Err("a block interval must be positive (or `manual`)".into()),
            Err(e) => Err(e.to_string()),
        },
    }
}

#[derive(Debug, clap::Args)]
pub struct TestbedArgs {
    #[command(flatten)]
    pub options: TestbedOptions,
    /// Address of the simulated API server (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub api_listen: SocketAddr,
}

/// `demo` takes `serve`'s settings except those that locate a cluster (kubeconfig, context,
/// namespace, node host): the testbed fixes them; the release is the testbed's `--release`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub options: TestbedOptions,
    /// Address the API listens on.
    #[arg(long, env = "BFF_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub timeouts: Timeouts,
    #[command(flatten)]
    pub server: Box<ServerSettings>,
    #[command(flatten)]
    pub jobs: Box<JobSettings>,
    #[command(flatten)]
    pub chains: Box<ChainSettings>,
    #[command(flatten)]
    pub reconcile: Box<ReconcileSettings>,
    #[command(flatten)]
    pub ibc: Box<IbcSettings>,
    /// Largest request body (`maxBodyBytes`); beyond it 413 PAYLOAD_TOO_LARGE.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
}

fn builder(options: &TestbedOptions) -> testbed::TestbedBuilder {
    Testbed::builder()
        .fdsc(options.fdsc)
        .ready_delay(options.ready_delay)
        .boot_delay(options.boot_delay)
        .block_interval(options.block_interval.0)
        .release(&options.release)
        .kubeconfig(&options.kubeconfig)
}

pub(super) async fn testbed(args: TestbedArgs) -> anyhow::Result<()> {
    let testbed =
        builder(&args.options).node_ports(NodePorts::Chart).api_bind(args.api_listen).start().await?;
    let path = std::path::absolute(&testbed.kubeconfig)?;
    println!("testbed ready kubeconfig={}", path.display());
    for line in testbed.chain_summary() {
        println!("  chain {line}");
    }
    shutdown_signal().await;
    Ok(())
}

pub(super) async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let testbed = builder(&args.options).node_ports(NodePorts::Chart).start().await?;
    let listener = super::listen(args.listen).await?;
    let addr = listener.local_addr()?;
    // The BFF half knows the testbed only by the kubeconfig it wrote, as it would a cluster.
    let DemoArgs { options, listen: _, timeouts, server, jobs, chains, reconcile, ibc, max_body_bytes } =
        args;
    let settings = Settings {
        release: options.release,
        timeouts,
        server,
        jobs,
        chains,
        reconcile,
        ibc,
        max_body_bytes,
        ..Settings::for_kubeconfig(testbed.kubeconfig.clone(), addr)
    };
    let state = AppState::connect(settings).await?;
    let api = format!("http://{addr}");
    println!("demo ready api={api}");
    println!("  docs={api}/api/v1/docs/");
    println!("  dashboard={api}/");
    let kubeconfig = std::path::absolute(&testbed.kubeconfig)?;
    println!("  kubeconfig={}", kubeconfig.display());
    for line in testbed.chain_summary() {
        println!("  chain {line}");
    }
    print!(
        "{}",
        next_steps(&api, &kubeconfig, &crate::chart::chain_pod(&state.reads().release, crate::chart::GWC))
    );
    until_signal(listener, state, shutdown_signal()).await
}

/// What a newcomer runs next, as commands to copy: check, start, follow; then a first
/// transaction (README's first hour) with a funded key read where the chart mounts it.
fn next_steps(api: &str, kubeconfig: &std::path::Path, gwc_pod: &str) -> String {
    let kc = kubeconfig.display();
    let me = crate::ctl::self_command();
    format!(
        "next:\n\
         \x20 curl -s {api}/api/v1/system/preflight\n\
         \x20 curl -s -X POST {api}/api/v1/system/start\n\
         \x20 curl -sN '{api}/api/v1/system/jobs/JOB_ID/logs?follow=true'\n\
         \x20 {me} ctl --api {api} start --follow   # or both at once\n\
         \x20 # first transaction: README, \"The first hour\"; a funded key (gwc local-admin):\n\
         \x20 kubectl --kubeconfig {kc} exec -n cryptomeria {gwc_pod} -- cat /etc/mnemonics/gwc.local-admin.mnemonic\n"
    )
}
