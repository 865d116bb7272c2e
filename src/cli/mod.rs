//! The `cryptomeria-bff` command line: `serve` and `ctl`, plus `testbed`, `demo` and `bench`
//! with the `testbed` feature (the default).

#[cfg(feature = "testbed")]
mod embedded;
/// README's flag reference; the full command set exists only with the `testbed` feature.
#[cfg(all(test, feature = "testbed"))]
mod flags_doc;

use crate::app::{self, AppState};
use crate::config::Settings;
use crate::telemetry::LogFormat;

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
    #[cfg(feature = "testbed")]
    Testbed(embedded::TestbedArgs),
    /// Run the embedded testbed and the API together (no cluster needed).
    #[cfg(feature = "testbed")]
    Demo(embedded::DemoArgs),
    /// Talk to a running BFF: start, connect, jobs, logs.
    Ctl(crate::ctl::CtlArgs),
    /// Measure the performance figures P1–P8 beside their baselines on embedded testbeds.
    #[cfg(feature = "testbed")]
    Bench(crate::bench::BenchArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let command = match self.command {
            // A client: its output is for the user, so no log subscriber.
            Command::Ctl(args) => std::process::exit(args.run().await),
            // Its output is the table; service logs only when RUST_LOG asks for them.
            #[cfg(feature = "testbed")]
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
            Command::Serve(settings) => serve(settings).await,
            #[cfg(feature = "testbed")]
            Command::Testbed(args) => embedded::testbed(args).await,
            #[cfg(feature = "testbed")]
            Command::Demo(args) => embedded::demo(args).await,
            #[cfg(feature = "testbed")]
            Command::Bench(_) => Ok(()),
            Command::Ctl(_) => Ok(()),
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
pub(crate) async fn serve_until_signal(
    listener: tokio::net::TcpListener,
    state: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "serving");
    let cache = state.cache.clone();
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
    // Our own watches end here, before whatever they watch goes away (demo's testbed).
    cache.stop();
    tracing::info!("stopped");
    Ok(())
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
