//! The `cryptomeria-bff` command line: `serve` and `ctl`, plus `testbed`, `demo` and `bench`
//! with the `testbed` feature (the default).

#[cfg(feature = "testbed")]
mod embedded;
/// The flag reference in docs/configuration.md; the full command set exists only with the `testbed` feature.
#[cfg(all(test, feature = "testbed"))]
mod flags_doc;

use crate::api;
use crate::app::AppState;
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
    Serve(Box<Settings>),
    /// Run the embedded simulated cluster alone and write its kubeconfig.
    #[cfg(feature = "testbed")]
    Testbed(embedded::TestbedArgs),
    /// Run the embedded testbed and the API together (no cluster needed).
    #[cfg(feature = "testbed")]
    Demo(embedded::DemoArgs),
    /// Talk to a running BFF: start, connect, jobs, logs.
    Ctl(crate::ctl::CtlArgs),
    /// Measure the performance figures P1–P10 beside their baselines on embedded testbeds.
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
            Command::Serve(settings) => serve(*settings).await,
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

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Signal handlers first: a SIGTERM right after "serving" must shut down, not kill.
    let signal = api::serve::shutdown_signal();
    let listener = listen(settings.listen).await?;
    let state = AppState::connect(settings).await?;
    api::serve::until_signal(listener, state, signal).await
}

/// Binds the API's address; a failure names the address and the setting that moves it.
pub(crate) async fn listen(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is in use (another BFF or demo?)".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied (a port below 1024?)".to_string(),
            _ => e.to_string(),
        };
        anyhow::anyhow!(
            "cannot listen on {addr}: {why}; choose another address with --listen ADDR (env BFF_LISTEN)"
        )
    })
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
