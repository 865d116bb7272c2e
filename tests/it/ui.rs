//! The dashboard in a real browser: `cryptomeria-bff demo` started as a user would (on free
//! ports), then `tests/ui/dashboard.mjs` drives Debian's Chromium through playwright-core
//! against it (four chains with rising heights, Start followed live to succeeded, the
//! block-time histogram for window=50, throughput, an upload experiment, the IBC view's hop
//! histograms and, with `rly` killed through kubectl on the demo's kubeconfig, its pending
//! packets; same-origin requests only). Screenshots of each view land in
//! `target/ui-artifacts/`. Also checks what the BFF serves for the page.

use crate::common::init_crypto;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// The whole browser session: launch, a start job from cold, two measurements, two upload
/// experiments, two packets jobs.
const BROWSER_BUDGET: Duration = Duration::from_secs(600);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Debian's Chromium binary itself, not its launcher script (which adds flags of its own
/// from /etc/chromium.d); `CHROMIUM` overrides.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return path.into();
    }
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is installed (tests/run.sh: apt-get install chromium)")
}

/// `demo` on a free API port (its NodePorts fall back to free ports when the chart's are
/// taken) with fast blocks, its API URL from the ready line and the kubeconfig it wrote.
async fn demo() -> (Child, String, String) {
    // Serving chains at once: the chart's boot gap is not what the dashboard test is about.
    let args = [
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--ready-delay",
        "10ms",
        "--boot-delay",
        "0s",
        "--block-interval",
        "200ms",
    ];
    let (child, lines) = crate::cli::spawn_until_lines(&args, &["demo ready api=", "  kubeconfig="]).await;
    let api = lines[0].trim_start_matches("demo ready api=").to_string();
    let kubeconfig = lines[1].trim_start_matches("  kubeconfig=").to_string();
    (child, api, kubeconfig)
}

#[tokio::test]
async fn the_dashboard_shows_the_testbed_live_and_runs_start_in_a_real_browser() {
    init_crypto();
    let dir = root().join("tests/ui");
    assert!(dir.join("node_modules/playwright-core").exists(), "run `npm ci --prefix tests/ui`");
    let artifacts = root().join("target/ui-artifacts");
    let (child, api, kubeconfig) = demo().await;
    // kubectl's cache goes here, not to the user's home.
    let kube_home = tempfile::tempdir().unwrap();
    crate::common::Bff::at(&api).wait_readyz(200).await;

    let started = Instant::now();
    let run = Command::new("node")
        .arg(dir.join("dashboard.mjs"))
        .current_dir(&dir)
        .env("BFF", &api)
        .env("ARTIFACTS", &artifacts)
        .env("CHROMIUM", chromium())
        .env("KUBECONFIG", &kubeconfig)
        .env("KUBECACHEDIR", kube_home.path().join("cache"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(BROWSER_BUDGET, run)
        .await
        .expect("the browser test finished")
        .expect("node runs");
    let took = started.elapsed();
    crate::cli::terminate(child).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dashboard.mjs failed (screenshots in {}):\n{stderr}\n{stdout}",
        artifacts.display()
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["ok"], true, "{report}");
    for view in ["overview", "operations", "measurements", "experiments", "ibc", "ibc-pending"] {
        let shot = artifacts.join(format!("{view}.png"));
        assert!(png(&shot), "{} is a PNG screenshot", shot.display());
    }
    println!("browser session {took:?}: {report}");
}

fn png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 1000 && b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_same_origin_only_and_unknown_assets_are_404() {
    let env = crate::common::TestEnv::ready().await;
    let bff = crate::common::Bff::ready(&env.kubeconfig).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/ui/"] {
        let resp = http.get(format!("{}{path}", bff.url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
        let page = resp.text().await.unwrap();
        // Every asset the page names is served with its media type.
        for (asset, media) in [
            ("/ui/app.css", "text/css"),
            ("/ui/js/main.js", "text/javascript"),
            ("/ui/favicon.svg", "image/svg+xml"),
        ] {
            assert!(page.contains(asset), "{asset} not in the page");
            let resp = http.get(format!("{}{asset}", bff.url)).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{asset}");
            assert!(resp.headers()["content-type"].to_str().unwrap().starts_with(media), "{asset}");
        }
    }
    let moved = http.get(format!("{}/ui", bff.url)).send().await.unwrap();
    assert_eq!((moved.status().as_u16(), &moved.headers()["location"]), (308, &"/ui/".parse().unwrap()));
    let (code, body) = bff.get("/ui/..%2Fapp.css").await;
    assert_eq!((code, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
    let (code, body) = bff.get("/ui/nope.js").await;
    assert_eq!((code, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
    // The page is not part of the API: the OpenAPI document does not list it.
    let (_, doc) = bff.get("/api/v1/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.keys().all(|p| !p.starts_with("/ui") && p != "/"), "{:?}", paths.keys());
}
