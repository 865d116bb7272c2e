//! connect's actions: the batched `rly paths new/update`, `rly transact link` retried until
//! gwc shows an OPEN gateway channel, and the storage registration on gwc, each verified by
//! observing again.

use super::{ConnectAction, Error, SDK_WRONG_SEQUENCE, VERSION};
use crate::chart::{GWC, dst_port, path_name};
use crate::error_code::Failure;
use crate::k8s::ExecError;
use crate::k8s::script::{Batch, last_line, quote};
use crate::reconcile::gateway::{self, open_channel};
use crate::reconcile::journal::Journal;
use crate::reconcile::plan::Act as _;
use crate::reconcile::run::{Run, Topology};
use serde_json::{Value, json};

/// `rly paths new` / `rly paths update` for every path edit, in plan order, in one exec.
pub(super) async fn path_batch(
    run: &Run,
    journal: &dyn Journal,
    topo: &Topology,
    edits: &[&ConnectAction],
) -> Result<(), Failure> {
    let mut batch = Batch::new(&format!("H={}", quote(&run.settings().rly_home)));
    for edit in edits {
        batch.push(&format!("{} --home \"$H\"", edit.shell_line()));
    }
    run.invalidate();
    let out = run
        .script(
            journal,
            &topo.relayer_pod,
            batch.script(),
            &format!("{} rly paths new/update (batched)", edits.len()),
        )
        .await
        .map_err(|e| run.exec_failure(e))?;
    for ran in Batch::results(&out.stdout) {
        let Some(edit) = edits.get(ran.index) else { continue };
        let cmd = edit.command();
        journal.command(&cmd, if ran.code == 0 { "ok" } else { "failed" }, "");
        if ran.code != 0 {
            let said = last_line(&ran.output).to_string();
            return Err(Error::PathCommandFailed { command: cmd, code: ran.code, said }.into());
        }
    }
    Ok(())
}

/// What to try when links keep failing, from the last error.
pub(super) fn hint(last_error: &str) -> &'static str {
    let e = last_error.to_lowercase();
    if e.contains("sequence mismatch") {
        "another transaction signed with the relayer key raced the link; keep other users of that key idle during start"
    } else if e.contains("insufficient") {
        "fund the relayer key on both chains"
    } else if e.contains("key") && e.contains("not found") {
        "restore the relayer keys (system.start with initRelayer)"
    } else if e.contains("no open") {
        "the handshake did not finish: check that both chains produce blocks; a re-run reuses the client and connection"
    } else {
        "check both chains' RPC from the relayer pod and rly's output in this job's log"
    }
}

/// `rly transact link` in the rly home `home` until gwc shows an OPEN gateway channel to
/// `id`; the channel and the attempts it took.
pub(super) async fn link(
    run: &Run,
    journal: &dyn Journal,
    topo: &Topology,
    id: &str,
    home: &str,
) -> Result<(String, u32), Failure> {
    let settings = run.settings();
    let attempts = settings.link_attempts.max(1);
    let (path, port) = (path_name(id), dst_port(id));
    let argv = [
        "rly",
        "transact",
        "link",
        &path,
        "--src-port",
        "gateway",
        "--dst-port",
        port,
        "--version",
        VERSION,
        "--home",
        home,
    ];
    let display = ConnectAction::Link(id.to_string()).command();
    let guarded = guarded_link(&argv, &path);
    let guarded = ["sh", "-c", guarded.as_str()];
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        journal.progress(&format!("linking gwc<->{id}: attempt {attempt}/{attempts}"));
        for chain in [GWC, id] {
            // Advisory: the BFF may not reach what the relayer reaches.
            if let Some(Err(e)) = run.node_status(chain).await {
                journal.warn(&format!("{chain} RPC does not answer the BFF ({e}); linking anyway"));
            }
        }
        run.invalidate();
        let exit =
            match run.exec_for(journal, &topo.relayer_pod, &guarded, &display, settings.link_timeout).await {
                Ok(out) if out.code == LINK_RUNNING && out.stdout.contains(LINK_RUNNING_MARK) => {
                    // A link for this path from an earlier exec (cut off by a timeout or a lost
                    // stream) still signs with the relayer key: wait for it, never start a second.
                    wait_link_gone(run, journal, topo, &path).await?;
                    Ok((0, "an earlier rly transact link for this path finished".to_string()))
                }
                Ok(out) => Ok((out.code, last_line(&out.stderr).to_string())),
                Err(e @ (ExecError::PodGone { .. } | ExecError::Forbidden { .. })) => {
                    return Err(run.exec_failure(e));
                }
                Err(e) => Err(e.to_string()),
            };
        let channels = channels_after_link(run, journal).await?;
        if let Some(ch) = open_channel(&channels, id, port) {
            journal.command(
                &format!("link gwc<->{id}"),
                "ok",
                &format!("{} OPEN, attempts={attempt}", ch.channel_id),
            );
            return Ok((ch.channel_id.clone(), attempt));
        }
        last_error = match exit {
            Ok((0, _)) => {
                "rly exited 0 but gwc shows no OPEN gateway channel (handshake not finished)".into()
            }
            Ok((code, said)) => format!("rly exited {code}: {said}"),
            Err(m) => m,
        };
        journal.warn(&format!("link gwc<->{id} attempt {attempt}/{attempts} failed: {last_error}"));
        if attempt < attempts {
            journal.info(&format!("retrying in {}", humantime::format_duration(settings.link_retry_wait)));
            tokio::time::sleep(settings.link_retry_wait).await;
        }
    }
    Err(Error::LinkFailed { chain: id.to_string(), attempts, last_error }.into())
}

/// Exit code and stdout marker of a link that found another link of its path running.
const LINK_RUNNING: i32 = 75;
const LINK_RUNNING_MARK: &str = "LINK_ALREADY_RUNNING";

/// `pgrep -f` pattern of a running `rly transact link PATH`. The bracket keeps it from matching
/// the checking shell's own command line, which names the program through a variable.
fn link_pattern(path: &str) -> String {
    format!("[r]ly transact link {path}( |$)")
}

/// The link as one shell command that first refuses to start beside a running link of the
/// same path (the exec's own timeout or a cut stream can leave one running in the pod).
fn guarded_link(argv: &[&str], path: &str) -> String {
    let rest: Vec<String> = argv[1..].iter().map(|a| quote(a)).collect();
    format!(
        "if pgrep -f {} >/dev/null; then echo {LINK_RUNNING_MARK}; exit {LINK_RUNNING}; fi; p=rly; \"$p\" {}",
        quote(&link_pattern(path)),
        rest.join(" ")
    )
}

/// Waits, up to LINK_TIMEOUT, until no `rly transact link` of `path` runs in the relayer pod.
async fn wait_link_gone(
    run: &Run,
    journal: &dyn Journal,
    topo: &Topology,
    path: &str,
) -> Result<(), Failure> {
    let settings = run.settings();
    let deadline = tokio::time::Instant::now() + settings.link_timeout;
    journal
        .warn(&format!("an earlier rly transact link {path} still runs in the relayer pod; waiting for it"));
    let check = ["pgrep", "-f", &link_pattern(path)];
    loop {
        let out = run
            .exec(journal, &topo.relayer_pod, &check, &format!("pgrep -f 'rly transact link {path}'"), None)
            .await
            .map_err(|e| run.exec_failure(e))?;
        if out.code != 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::LinkStillRunning {
                path: path.to_string(),
                after: humantime::format_duration(settings.link_timeout).to_string(),
                pids: out.stdout.split_whitespace().map(str::to_string).collect(),
            }
            .into());
        }
        tokio::time::sleep(settings.reconcile_poll_interval.max(std::time::Duration::from_secs(1))).await;
    }
}

/// gwc's channels after a link attempt. A gwc outage here (its node restarting) is waited
/// out rather than failing the job: the link may have opened the channel meanwhile.
async fn channels_after_link(
    run: &Run,
    journal: &dyn Journal,
) -> Result<Vec<gateway::GatewayChannel>, Failure> {
    match gateway::channels(run, journal).await {
        Ok(channels) => Ok(channels),
        Err(e) => {
            journal.warn(&format!(
                "gwc's channels could not be read after the link ({}); waiting for gwc",
                e.message
            ));
            crate::reconcile::chains_live::wait(run, journal, &[GWC.to_string()]).await?;
            gateway::channels(run, journal).await
        }
    }
}

/// Registers `id`'s storage on gwc with the local-admin key in the gwc pod, then waits until
/// gwc lists it (the next registration needs this one's sequence committed).
pub(super) async fn register(
    run: &Run,
    journal: &dyn Journal,
    topo: &Topology,
    id: &str,
    channel: &str,
) -> Result<(), Failure> {
    let api = format!("http://{}:1317", crate::chart::chain_host(run.release(), id));
    let home = run.settings().gwc_home.clone();
    let args = ["gateway", "register-storage", channel, id, &api, dst_port(id)];
    let argv = crate::chart::local_admin_tx(GWC, &args, "auto", "0.1", &home);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let display = format!("gwcd tx gateway register-storage {channel} {id} {api} {}", dst_port(id));
    let failed = |message: String, tx: Value| -> Failure {
        Error::RegisterFailed { chain: id.to_string(), channel: channel.to_string(), message, tx }.into()
    };
    let out =
        run.exec(journal, &topo.gwc_pod, &argv, &display, None).await.map_err(|e| run.exec_failure(e))?;
    let resp: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    let code = resp["code"].as_i64();
    // Code 32 (wrong sequence): another local-admin tx is pending — most likely this chain's
    // registration from a run cut off before it saw the answer. Wait for the listing instead.
    let pending_elsewhere = code == Some(SDK_WRONG_SEQUENCE);
    if pending_elsewhere {
        journal
            .warn(&format!("a local-admin tx is pending on gwc; waiting to see whether it registers {id}"));
    }
    if !pending_elsewhere && (out.code != 0 || code != Some(0)) {
        let said = resp["raw_log"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| last_line(&out.stderr).to_string());
        return Err(failed(
            format!(
                "registering {id} on gwc failed (exit {}, code {}): {said}",
                out.code,
                code.map_or("none".into(), |c| c.to_string())
            ),
            json!({"code": code, "txhash": resp["txhash"], "rawLog": said}),
        ));
    }
    let txhash = resp["txhash"].as_str().unwrap_or_default().to_string();
    journal.progress(&format!("waiting for gwc to list {id} (tx {txhash})"));
    let settings = run.settings();
    let deadline = tokio::time::Instant::now() + settings.registration_timeout;
    loop {
        if gateway::storage(run, journal).await?.contains(id) {
            journal.command(&format!("verify storage {id}"), "ok", &format!("listed on gwc (tx {txhash})"));
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let txhash = if pending_elsewhere { "pending".to_string() } else { txhash };
            return Err(failed(
                format!(
                    "tx {txhash} was accepted but gwc does not list {id} after {}",
                    humantime::format_duration(settings.registration_timeout)
                ),
                json!({"txhash": txhash}),
            ));
        }
        tokio::time::sleep(settings.reconcile_poll_interval).await;
    }
}
