//! The `cryptomeria-bff` command line: `serve`, `testbed`, `demo`, `bench` and `ctl`.

use crate::app::{self, AppState};
use crate::config::Settings;
use crate::telemetry::LogFormat;
use crate::testbed::{NodePorts, Testbed};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Parser)]
#[command(name = "cryptomeria-bff", version, about = "Reconciler and REST API for the Cryptomeria testbed")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the API against a cluster reached through a kubeconfig.
    Serve(Settings),
    /// Run the embedded simulated cluster alone and write its kubeconfig.
    Testbed(TestbedArgs),
    /// Run the embedded testbed and the API together (no cluster needed).
    Demo(DemoArgs),
    /// Talk to a running BFF: start, connect, jobs, logs.
    Ctl(crate::ctl::CtlArgs),
    /// Measure the performance figures P1–P8 beside their baselines on embedded testbeds.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct TestbedOptions {
    /// Number of data chains fdsc-0..N-1.
    #[arg(long, default_value_t = 2)]
    pub fdsc: usize,
    /// How long a new pod stays Pending before it runs and turns Ready.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub ready_delay: Duration,
    /// Time between blocks on every chain (CometBFT's default timeout_commit is 1s), or
    /// `manual` for blocks only on demand through the testbed's control handle.
    #[arg(long, default_value = "1s", value_parser = parse_block_interval)]
    pub block_interval: BlockInterval,
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
    /// Where to write the kubeconfig.
    #[arg(long, default_value = "testbed.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Address of the simulated API server (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub api_listen: SocketAddr,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub options: TestbedOptions,
    /// Address the API listens on.
    #[arg(long, env = "BFF_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let command = match self.command {
            // A client: its output is for the user, so no log subscriber.
            Command::Ctl(args) => std::process::exit(args.run().await),
            // Its output is the table; service logs only when RUST_LOG asks for them.
            Command::Bench(args) => {
                if std::env::var_os("RUST_LOG").is_some() {
                    crate::telemetry::init(self.log_format);
                }
                return args.run().await;
            }
            server => server,
        };
        crate::telemetry::init(self.log_format);
        match command {
            Command::Ctl(_) | Command::Bench(_) => Ok(()),
            Command::Serve(settings) => serve(settings).await,
            Command::Testbed(args) => testbed(args).await,
            Command::Demo(args) => demo(args).await,
        }
    }
}

/// After SIGTERM, how long in-flight requests may take before the process exits anyway
/// (Kubernetes' grace period is 30s; a stopping BFF should be gone well before).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(4);

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Signal handlers first: a SIGTERM right after "serving" must shut down, not kill.
    let signal = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    let state = AppState::connect(settings).await?;
    serve_until_signal(listener, state, signal).await
}

/// Serves until `signal`; then cancels jobs, drains requests, and gives up after the grace.
async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let notify = stopping.clone();
    let shutdown = async move {
        signal.await;
        notify.notify_one();
    };
    let server = app::serve(listener, state, shutdown);
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r?,
        _ = async { stopping.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!("requests still open {SHUTDOWN_GRACE:?} after the shutdown signal; exiting");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

fn builder(options: &TestbedOptions) -> crate::testbed::TestbedBuilder {
    Testbed::builder()
        .fdsc(options.fdsc)
        .ready_delay(options.ready_delay)
        .block_interval(options.block_interval.0)
}

async fn testbed(args: TestbedArgs) -> anyhow::Result<()> {
    let testbed = builder(&args.options)
        .node_ports(NodePorts::Chart)
        .api_bind(args.api_listen)
        .kubeconfig(&args.kubeconfig)
        .start()
        .await?;
    let path = std::path::absolute(&testbed.kubeconfig)?;
    println!("testbed ready kubeconfig={}", path.display());
    for line in testbed.chain_summary() {
        println!("  chain {line}");
    }
    shutdown_signal().await;
    Ok(())
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let testbed = builder(&args.options).node_ports(NodePorts::Chart).start().await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    // The BFF half knows the testbed only by the kubeconfig it wrote, as it would a cluster.
    let state = AppState::connect(Settings::for_kubeconfig(testbed.kubeconfig.clone(), addr)).await?;
    println!("demo ready api=http://{addr}");
    println!("  kubeconfig={}", testbed.kubeconfig.display());
    for line in testbed.chain_summary() {
        println!("  chain {line}");
    }
    serve_until_signal(listener, state, shutdown_signal()).await
}

/// Resolves on SIGINT or SIGTERM. The SIGTERM handler is installed by this call, before the
/// future is first polled, so a TERM that arrives early is not lost (nor fatal).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        tracing::info!("shutting down");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap checks unique names, flags and env vars only in debug builds, at parse time:
        // this finds a clash before any user does.
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
