//! README's first hour runs as written. The test reads README.md, starts `demo` with the
//! command "Two commands" prints, then runs every `sh` block of "The first hour" in order, in
//! one bash session (so `KUBECONFIG`, `SENT` and `JOB` carry from block to block, as in a
//! terminal), from a fresh directory standing in for the repository's root.
//!
//! Three things differ from a newcomer's terminal, each because the suite runs beside itself:
//! - `cargo run --release -- …` runs the binary this suite built (a bash function named
//!   `cargo` that accepts exactly that form, so a block using any other cargo command fails);
//! - the BFF listens on a free port rather than 8080: the blocks' `localhost:8080` and
//!   `127.0.0.1:8080` are rewritten to it, and `BFF_API` / `BFF` (the defaults of `ctl` and
//!   `first-tx.mjs`) name it;
//! - the fresh directory holds a copy of `tests/cosmjs` (its installed packages included), so
//!   the block's `npm install` touches the copy, never the checkout.

use crate::cli::{own_dir, terminate};
use crate::common::init_crypto;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");
/// The whole first hour on the testbed at the chart's 1 s blocks: start, a first tx, 500
/// transfers, two 1 MiB upload sessions.
const FIRST_HOUR: Duration = Duration::from_secs(420);

fn readme() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The text under `heading` up to the next heading of the same level.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("{heading:?} in README"));
    let body = &readme[start + heading.len() + 2..];
    body.find("\n## ").map_or(body, |end| &body[..end])
}

/// The fenced `sh` blocks of `text`, in order.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + "```sh\n".len()..];
        let end = body.find("\n```").expect("a block ends");
        blocks.push(body[..end].to_string());
        rest = &body[end + 4..];
    }
    blocks
}

/// `cargo run --release -- ARGS` as the binary this suite built; `exec` when the caller is
/// the demo's own shell, so terminating the child stops the demo.
fn cargo_function(exec: bool) -> String {
    let exec = if exec { "exec " } else { "" };
    format!(
        "cargo() {{\n\
         \x20 if [ \"$1 $2 $3\" != 'run --release --' ]; then echo \"only 'cargo run --release --' is run here: $*\" >&2; return 2; fi\n\
         \x20 shift 3\n\
         \x20 {exec}'{BIN}' \"$@\"\n\
         }}\n"
    )
}

async fn start_demo(command: &str, dir: &PathBuf) -> (Child, String) {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("{}{command}", cargo_function(true)))
        .current_dir(dir)
        .env("BFF_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let api = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(api) = line.strip_prefix("demo ready api=") {
                return api.to_string();
            }
        }
        panic!("demo's stdout closed before its ready line");
    })
    .await
    .expect("demo ready in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, api)
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = std::fs::metadata(entry.path()).unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn the_readme_first_hour_runs_as_written() {
    crate::testbed_only!("it runs `demo`, the embedded testbed");
    init_crypto();
    let readme = readme();
    let two = sh_blocks(section(&readme, "## Two commands"));
    let demo = two[0].lines().find(|l| l.contains("-- demo")).expect("the demo command");
    let demo = demo.split('#').next().unwrap().trim();
    assert_eq!(demo, "cargo run --release -- demo");
    let blocks = sh_blocks(section(&readme, "## The first hour"));
    assert!(blocks.len() >= 6, "the first hour's blocks: {blocks:#?}");

    let dir = own_dir();
    copy_tree(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cosmjs"), &dir.join("tests/cosmjs"));
    let (child, api) = start_demo(demo, &dir).await;
    let host = api.trim_start_matches("http://");
    let mut script =
        format!("set -euo pipefail\n{}export BFF_API='{api}' BFF='{api}'\n", cargo_function(false));
    for (i, block) in blocks.iter().enumerate() {
        let block = block.replace("localhost:8080", host).replace("127.0.0.1:8080", host);
        script.push_str(&format!("printf '\\n::block {i}\\n'\n{block}\n"));
    }
    let run = Command::new("bash").arg("-c").arg(&script).current_dir(&dir).kill_on_drop(true).output();
    let out = tokio::time::timeout(FIRST_HOUR, run).await.expect("the first hour ran in time").expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let status = terminate(child).await;
    assert!(out.status.success(), "a block failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(status.success(), "demo stopped cleanly: {status:?}");

    let outputs: Vec<&str> = stdout.split("\n::block ").skip(1).collect();
    assert_eq!(outputs.len(), blocks.len(), "every block ran: {stdout}");
    let printed = |needle: &str| outputs.iter().any(|o| o.contains(needle));
    let says = |needle: &str| assert!(printed(needle), "{needle:?} not printed:\n{stdout}");
    says("] waitIbcReady succeeded");
    says("cryptomeria-gwc-0");
    says("PORT(S)");
    says("\"code\":0");
    says("500 of 500 txs committed");
    says("CLOSED_SUCCESS");
    says("render equal true");
    says("\"jobId\"");
    // The latency block ends with the job's latency object, in the chain's clock.
    let i = blocks.iter().position(|b| b.contains("tx-confirmation")).expect("the latency block");
    let tail = outputs[i].rfind("\n{\n").map(|at| &outputs[i][at + 1..]).expect("jq's object");
    let latency: serde_json::Value = serde_json::from_str(tail).expect("the latency as JSON");
    assert!(latency["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{latency}");
}
