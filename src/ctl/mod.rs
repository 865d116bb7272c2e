//! `cryptomeria-bff ctl`: a client of a running BFF over HTTP. It starts and connects,
//! lists jobs and follows their logs, and shows a job's steps as they run:
//! one redrawn line on a terminal, plain lines otherwise. API errors print their envelope's
//! code and message and exit non-zero.

mod client;
mod progress;

pub use client::{Client, CtlError};
pub use progress::{Progress, StepView};

use serde_json::{Value, json};
use std::time::Duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_read_as_lines_without_json_or_debug_syntax() {
        let details =
            json!({"chainPair": "gwc<->fdsc-0", "attempts": 5, "notOpen": ["fdsc-0", "mdsc"], "hint": null});
        assert_eq!(
            detail_lines(&details),
            ["attempts: 5", "chainPair: gwc<->fdsc-0", "hint: none", "notOpen: fdsc-0, mdsc"]
        );
        assert!(detail_lines(&Value::Null).is_empty());
    }
}

#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    /// Base URL of the BFF.
    #[arg(long, env = "BFF_API", default_value = "http://127.0.0.1:8080", global = true)]
    pub api: String,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    System,
    Utils,
}

impl ScopeArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Utils => "utils",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum CtlCommand {
    /// Bring the testbed up (`POST /system/start`).
    Start {
        /// Steps to run (discover always runs): initRelayer,connectAll,startRelayer,waitIbcReady.
        #[arg(long, value_delimiter = ',')]
        steps: Vec<String>,
        /// Redo actions even where they look done (e.g. restart the relayer).
        #[arg(long)]
        force: bool,
        /// Whole-job timeout in seconds.
        #[arg(long)]
        timeout_seconds: Option<u64>,
        /// Show the steps until the job ends; exit non-zero unless it succeeded.
        #[arg(long)]
        follow: bool,
    },
    /// Connect gwc to chains (`POST /system/connect`): `all` or `chain:<chainId>`.
    Connect {
        /// `all`, or `chain:<chainId>` for one chain.
        target: String,
        /// Re-run `rly paths new` even where the path exists.
        #[arg(long)]
        force: bool,
        /// Whole-job timeout in seconds.
        #[arg(long)]
        timeout_seconds: Option<u64>,
        /// Show the steps until the job ends; exit non-zero unless it succeeded.
        #[arg(long)]
        follow: bool,
    },
    /// Send N signed transfers (`POST /utils/load/transfers`): throwaway accounts are made,
    /// funded (faucet, or a bank send from local-admin) and signed for in the BFF; follows the
    /// job to its figures.
    Load {
        /// The chain to load.
        #[arg(long, default_value = "gwc")]
        chain: String,
        /// How many transfers.
        #[arg(long)]
        txs: usize,
        /// Throwaway accounts signing them (default 8, at most txs).
        #[arg(long)]
        accounts: Option<usize>,
        /// Broadcasts in flight at once.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Pace sends to this many per second.
        #[arg(long)]
        rate: Option<f64>,
        /// Return once the job is accepted instead of following it to its figures.
        #[arg(long)]
        detach: bool,
    },
    /// Run the upload experiment (`POST /utils/experiments/upload`): generated files through
    /// gwc's gateway, timed per session; follows the job and prints each session's phases.
    Upload {
        /// Files to generate (the first is index.html).
        #[arg(long, default_value_t = 1)]
        files: usize,
        /// Bytes of each file.
        #[arg(long)]
        size_bytes: usize,
        /// The generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Fragment size (default: the gateway client's 254 KiB).
        #[arg(long)]
        fragment_bytes: Option<usize>,
        /// Data chains to spread over (0 = all).
        #[arg(long, default_value_t = 0)]
        fdsc: u32,
        /// Sessions one after another.
        #[arg(long, default_value_t = 1)]
        repetitions: usize,
        /// Return once the job is accepted instead of following it to each session's figures.
        #[arg(long)]
        detach: bool,
    },
    /// List jobs, newest first.
    Jobs {
        /// Which jobs: the reconcile jobs (`system`) or the utilities (`utils`).
        #[arg(long, value_enum, default_value = "system")]
        scope: ScopeArg,
        /// Only jobs in this status.
        #[arg(long)]
        status: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print a job's log; `--follow` streams it until the job ends.
    Logs {
        /// The job's id (`job_…`).
        job: String,
        /// The job's scope; default: whichever knows the job.
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
        /// Keep streaming new lines until the job ends.
        #[arg(long)]
        follow: bool,
        /// Start with at most this many of the latest lines.
        #[arg(long, default_value_t = 200)]
        tail: usize,
    },
    /// Show a job's steps; `--follow` until it ends.
    Job {
        /// The job's id (`job_…`).
        job: String,
        /// The job's scope; default: whichever knows the job.
        #[arg(long, value_enum)]
        scope: Option<ScopeArg>,
        /// Redraw the steps until the job ends; exit non-zero unless it succeeded.
        #[arg(long)]
        follow: bool,
    },
}

/// How often a followed job is re-read.
const POLL: Duration = Duration::from_millis(250);

impl CtlArgs {
    /// Runs the subcommand; the process exit code (0 = success).
    pub async fn run(self) -> i32 {
        let client = match Client::new(&self.api) {
            Ok(c) => c,
            Err(e) => return report(&e),
        };
        match run(&client, self.command).await {
            Ok(code) => code,
            Err(e) => report(&e),
        }
    }
}

fn report(e: &CtlError) -> i32 {
    eprintln!("error: {e}");
    if let CtlError::Api { details, .. } = e {
        for line in detail_lines(details) {
            eprintln!("  {line}");
        }
    }
    1
}

/// An error's `details` as `key: value` lines for people: strings bare, lists joined.
fn detail_lines(details: &Value) -> Vec<String> {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            Value::Null => "none".into(),
            other => other.to_string(),
        }
    }
    match details {
        Value::Null => Vec::new(),
        Value::Object(map) => map.iter().map(|(k, v)| format!("{k}: {}", text(v))).collect(),
        other => vec![text(other)],
    }
}

async fn run(client: &Client, command: CtlCommand) -> Result<i32, CtlError> {
    match command {
        CtlCommand::Start { steps, force, timeout_seconds, follow } => {
            let mut body = json!({"force": force});
            if !steps.is_empty() {
                body["steps"] = json!(steps);
            }
            if let Some(t) = timeout_seconds {
                body["timeoutSeconds"] = json!(t);
            }
            submit(client, "/api/v1/system/start", &body, follow).await
        }
        CtlCommand::Connect { target, force, timeout_seconds, follow } => {
            let mut body = json!({"target": target, "force": force});
            if let Some(t) = timeout_seconds {
                body["timeoutSeconds"] = json!(t);
            }
            submit(client, "/api/v1/system/connect", &body, follow).await
        }
        CtlCommand::Load { chain, txs, accounts, concurrency, rate, detach } => {
            let follow = !detach;
            let mut body = json!({"chainId": chain, "txs": txs});
            for (key, value) in [
                ("accounts", accounts.map(Value::from)),
                ("concurrency", concurrency.map(Value::from)),
                ("ratePerSecond", rate.map(Value::from)),
            ] {
                if let Some(v) = value {
                    body[key] = v;
                }
            }
            let code = submit(client, "/api/v1/utils/load/transfers", &body, follow).await?;
            if follow {
                print_load_figures(client).await?;
            }
            Ok(code)
        }
        CtlCommand::Upload { files, size_bytes, seed, fragment_bytes, fdsc, repetitions, detach } => {
            let follow = !detach;
            let mut body = json!({"files": {"count": files, "sizeBytes": size_bytes, "seed": seed},
                "fdscCount": fdsc, "repetitions": repetitions});
            if let Some(f) = fragment_bytes {
                body["fragmentBytes"] = json!(f);
            }
            let code = submit(client, "/api/v1/utils/experiments/upload", &body, follow).await?;
            if follow {
                print_sessions(client).await?;
            }
            Ok(code)
        }
        CtlCommand::Jobs { scope, status, limit } => {
            let mut path = format!("/api/v1/{}/jobs?limit={limit}", scope.as_str());
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            let data = client.get_json(&path).await?;
            let items = data["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("no {} jobs", scope.as_str());
                return Ok(0);
            }
            let row = |id: &str, status: &str, type_: &str, created: &str| {
                println!("{id:<28} {status:<10} {type_:<30} {created}");
            };
            row("JOB", "STATUS", "TYPE", "CREATED");
            for job in items {
                let field = |k: &str| job[k].as_str().unwrap_or("?").to_string();
                row(&field("jobId"), &field("status"), &field("type"), &field("createdAt"));
            }
            Ok(0)
        }
        CtlCommand::Logs { job, scope, follow, tail } => {
            let scope = resolve_scope(client, &job, scope).await?;
            let path = format!("/api/v1/{scope}/jobs/{job}/logs?tail={tail}");
            if follow {
                client.follow_sse(&format!("{path}&follow=true"), |line| println!("{line}")).await?;
            } else {
                print!("{}", client.get_text(&path).await?);
            }
            Ok(0)
        }
        CtlCommand::Job { job, scope, follow } => {
            let scope = resolve_scope(client, &job, scope).await?;
            let path = format!("/api/v1/{scope}/jobs/{job}");
            show_job(client, &path, follow).await
        }
    }
}

/// Submits a job; prints its id, then its steps when following.
async fn submit(client: &Client, path: &str, body: &Value, follow: bool) -> Result<i32, CtlError> {
    let accepted = client.post_json(path, body).await?;
    let id = accepted["jobId"].as_str().ok_or_else(|| CtlError::unexpected("202 without a jobId"))?;
    println!(
        "job {id} ({}) {}",
        accepted["type"].as_str().unwrap_or("?"),
        accepted["status"].as_str().unwrap_or("?")
    );
    if !follow {
        let scope = if path.contains("/utils/") { " --scope utils" } else { "" };
        let me = self_command();
        println!("follow it: {me} ctl --api {} job {id}{scope} --follow", client.base());
        println!("its log:   {me} ctl --api {} logs {id}{scope} --follow", client.base());
        return Ok(0);
    }
    let self_path =
        accepted["links"]["self"].as_str().map(str::to_string).unwrap_or(format!("/api/v1/system/jobs/{id}"));
    show_job(client, &self_path, true).await
}

/// The latest load job's figures, one per line (what a researcher reads first).
async fn print_load_figures(client: &Client) -> Result<(), CtlError> {
    let jobs = client.get_json("/api/v1/utils/jobs?limit=1&type=utils.load.transfers").await?;
    let Some(id) = jobs["items"][0]["jobId"].as_str() else { return Ok(()) };
    let job = client.get_json(&format!("/api/v1/utils/jobs/{id}")).await?;
    let r = &job["result"];
    if r.is_null() {
        return Ok(());
    }
    println!(
        "{} of {} txs committed (accepted {}, rejected {})",
        r["confirmation"]["confirmed"], r["total"], r["accepted"], r["rejected"]
    );
    let tps = |v: &Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.2}"));
    println!(
        "send {} tx/s · committed {} tx/s (header time)",
        tps(&r["send"]["sendTps"]),
        tps(&r["confirmation"]["committed"]["committedTps"])
    );
    println!(
        "funding: {} (funder {})",
        r["funding"]["source"].as_str().unwrap_or("?"),
        r["funding"]["funder"].as_str().unwrap_or("?")
    );
    println!("full result: {} ctl --api {} job {id} --scope utils", self_command(), client.base());
    Ok(())
}

/// The latest upload experiment's sessions, one line each, and where its CSV is.
async fn print_sessions(client: &Client) -> Result<(), CtlError> {
    let jobs = client.get_json("/api/v1/utils/jobs?limit=1&type=utils.experiments.upload").await?;
    let Some(id) = jobs["items"][0]["jobId"].as_str() else { return Ok(()) };
    let job = client.get_json(&format!("/api/v1/utils/jobs/{id}")).await?;
    let ms = |v: &Value| v.as_f64().map_or("–".to_string(), |x| format!("{x:.0}"));
    for s in job["result"]["sessions"].as_array().into_iter().flatten() {
        let p = &s["phases"];
        println!(
            "{} {} · prep {} ms · upload {} ms · deploy {} ms · fetch {} ms · render equal {}",
            s["version"].as_str().unwrap_or("?"),
            s["state"].as_str().unwrap_or("?"),
            ms(&p["prepMs"]),
            ms(&p["clientUploadMs"]),
            ms(&p["deployMs"]),
            ms(&p["fetchMs"]),
            s["renderEqual"]
        );
    }
    println!("csv: {}/api/v1/utils/jobs/{id}/result.csv", client.base());
    Ok(())
}

/// Renders a job's steps, once or until it ends; the exit code says how it ended.
async fn show_job(client: &Client, path: &str, follow: bool) -> Result<i32, CtlError> {
    let mut progress = Progress::for_stdout();
    loop {
        let job = client.get_json(path).await?;
        progress.update(&job);
        let status = job["status"].as_str().unwrap_or_default();
        let finished = matches!(status, "succeeded" | "failed" | "canceled");
        if finished || !follow {
            progress.finish(&job);
            return Ok(match status {
                "failed" | "canceled" => 1,
                _ => 0,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The scope that knows `job`: the given one, else system, else utils.
async fn resolve_scope(
    client: &Client,
    job: &str,
    scope: Option<ScopeArg>,
) -> Result<&'static str, CtlError> {
    if let Some(s) = scope {
        return Ok(s.as_str());
    }
    match client.get_json(&format!("/api/v1/system/jobs/{job}")).await {
        Ok(_) => Ok("system"),
        Err(CtlError::Api { status: 404, .. }) => Ok("utils"),
        Err(e) => Err(e),
    }
}

/// This executable as a user can type it: its path when it is known, so a printed
/// `… ctl …` line runs as printed from `cargo run` too (the binary is not on PATH then).
pub fn self_command() -> String {
    std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .filter(|p| !p.contains(char::is_whitespace))
        .unwrap_or_else(|| "cryptomeria-bff".to_string())
}
