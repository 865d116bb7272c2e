//! Shared test environment: an embedded testbed on free ports, a kube-rs client and the real
//! `kubectl` pointed at its kubeconfig, and waits on conditions (never sleeps).
//!
//! Real-cluster mode: with `CRYPTOMERIA_KUBECONFIG` set (kind/e2e.sh sets it), `TestEnv` uses
//! that cluster instead of starting a testbed, and tests that need the testbed's control
//! handle or builder knobs return early through `testbed_only!`, printing why.

pub mod secrets;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use std::path::PathBuf;
use std::time::Duration;
use testbed::Testbed;

/// Upper bound for any wait in a test; a wait that hits it fails the test.
pub const WAIT: Duration = Duration::from_secs(30);

/// A kubeconfig of a real cluster with the chart installed: real-cluster mode.
pub const KUBECONFIG_VAR: &str = "CRYPTOMERIA_KUBECONFIG";
/// The chart's namespace in real-cluster mode (default `cryptomeria`).
pub const NAMESPACE_VAR: &str = "CRYPTOMERIA_NAMESPACE";
/// In real-cluster mode, a running `cryptomeria-bff serve` that `Bff::ready` uses instead of
/// starting one in the test process (kind/e2e.sh starts it).
pub const BFF_URL_VAR: &str = "CRYPTOMERIA_BFF_URL";

/// The real cluster's kubeconfig, when the suite runs in real-cluster mode.
pub fn real_cluster() -> Option<PathBuf> {
    std::env::var_os(KUBECONFIG_VAR).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Returns early from a test in real-cluster mode, printing why it needs the testbed.
/// Use it only where the test drives the testbed's control handle or builder knobs.
#[macro_export]
macro_rules! testbed_only {
    ($reason:expr) => {
        if $crate::common::real_cluster().is_some() {
            eprintln!("skipped in real-cluster mode ({}): {}", module_path!(), $reason);
            return;
        }
    };
}

pub struct TestEnv {
    /// None in real-cluster mode.
    testbed: Option<Testbed>,
    /// The kubeconfig the BFF and kubectl use: the testbed's, or the real cluster's.
    pub kubeconfig: PathBuf,
    pub client: kube::Client,
    /// HOME and KUBECACHEDIR of the kubectl runs, so no cache leaks between tests.
    pub kubectl_home: tempfile::TempDir,
    namespace: String,
}

pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl TestEnv {
    /// A testbed with every pod Running and Ready.
    pub async fn ready() -> Self {
        Self::ready_with(Testbed::builder()).await
    }

    /// A testbed built by `builder`; in real-cluster mode the cluster as it is (a test that
    /// depends on the builder's knobs must be `testbed_only!`). Chain nodes serve as soon as
    /// their pods are Ready unless the builder asks for the chart's boot gap
    /// (`Testbed::builder().boot_delay(d)`; then `wait_chains_serving` waits it out).
    pub async fn ready_with(builder: testbed::TestbedBuilder) -> Self {
        init_crypto();
        let kubectl_home = tempfile::tempdir().expect("tempdir");
        let env = match real_cluster() {
            Some(kubeconfig) => {
                let namespace = std::env::var(NAMESPACE_VAR).unwrap_or_else(|_| "cryptomeria".into());
                let client = client_for(&kubeconfig).await;
                Self { testbed: None, kubeconfig, client, kubectl_home, namespace }
            }
            None => {
                let testbed = builder
                    .ready_delay(Duration::from_millis(20))
                    .boot_delay_unless_set(Duration::ZERO)
                    .start()
                    .await
                    .expect("testbed starts");
                let client = client_for(&testbed.kubeconfig).await;
                let (kubeconfig, namespace) =
                    (testbed.kubeconfig.clone(), testbed.control.namespace().to_string());
                Self { testbed: Some(testbed), kubeconfig, client, kubectl_home, namespace }
            }
        };
        env.wait_all_pods_ready().await;
        env
    }

    /// The embedded testbed (its control handle, chain nodes). Tests that call this start
    /// with `testbed_only!`.
    pub fn testbed(&self) -> &Testbed {
        self.testbed.as_ref().expect("this test needs the embedded testbed: guard it with testbed_only!")
    }

    pub fn ns(&self) -> String {
        self.namespace.clone()
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.ns())
    }

    /// The relayer pod's current name, from the testbed's control handle.
    pub fn relayer(&self) -> String {
        self.testbed().control.relayer_pod().expect("a relayer pod exists")
    }

    /// Watches pods until every one is Ready.
    pub async fn wait_all_pods_ready(&self) {
        let mut pods: std::collections::BTreeMap<String, bool> = Default::default();
        let stream = watcher(self.pods(), watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let done = tokio::time::timeout(WAIT, async {
            while let Some(event) = stream.next().await {
                match event.expect("watch works") {
                    // A finished pod (a chart's Job, phase Succeeded) never turns Ready.
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) if has_finished(&p) => {
                        pods.remove(p.metadata.name.as_deref().unwrap_or_default());
                    }
                    watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                        pods.insert(p.metadata.name.clone().unwrap_or_default(), is_ready(&p));
                    }
                    watcher::Event::Delete(p) => {
                        pods.remove(p.metadata.name.as_deref().unwrap_or_default());
                    }
                    watcher::Event::Init => pods.clear(),
                    watcher::Event::InitDone => {}
                }
                if !pods.is_empty() && pods.values().all(|r| *r) {
                    return;
                }
            }
        })
        .await;
        assert!(done.is_ok(), "pods not all Ready within {WAIT:?}: {pods:?}");
    }

    /// Waits until every chain's node answers on its RPC NodePort (`/status`), e.g. after
    /// the boot delay of a testbed built with one.
    pub async fn wait_chains_serving(&self) {
        let control = &self.testbed().control;
        let http = reqwest::Client::new();
        for id in control.chain_ids() {
            let (rpc, _, _) = control.node_ports(&id).expect("chain has NodePorts");
            let url = format!("http://127.0.0.1:{rpc}/status");
            let served = tokio::time::timeout(WAIT, async {
                while !http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
            assert!(served.is_ok(), "{id} never served RPC within {WAIT:?}");
        }
    }

    /// The pod of chain `id`, found by its instance label (names follow the release).
    pub async fn chain_pod(&self, id: &str) -> String {
        let lp = kube::api::ListParams::default().labels(&format!("app.kubernetes.io/instance={id}"));
        let pods = self.pods().list(&lp).await.expect("list pods");
        pods.items
            .first()
            .and_then(|p| p.metadata.name.clone())
            .unwrap_or_else(|| panic!("no pod of chain {id}"))
    }

    /// The mnemonic the chart mounts in chain `id`'s pod for `role`, read with the real kubectl
    /// (the same words on the testbed and a real cluster); registered with the secret scan.
    pub async fn mounted_mnemonic(&self, id: &str, role: &str) -> String {
        let pod = self.chain_pod(id).await;
        let file = format!("/etc/mnemonics/{id}.{role}.mnemonic");
        let (code, out, err) =
            self.kubectl(&["exec", "-n", &self.ns(), &pod, "--", "cat", &file], None).await;
        assert_eq!(code, 0, "{err}");
        let words = out.trim().to_string();
        secrets::register(&words);
        words
    }

    /// Runs the real kubectl against the cluster; returns (exit code, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
        kubectl(&self.kubeconfig, self.kubectl_home.path(), args, stdin).await
    }
}

pub async fn client_for(kubeconfig: &std::path::Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig parses");
    let config =
        kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("kubeconfig loads");
    kube::Client::try_from(config).expect("client builds")
}

fn has_finished(p: &Pod) -> bool {
    matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"))
}

pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub async fn kubectl(
    kubeconfig: &std::path::Path,
    home: &std::path::Path,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt as _;
    let mut cmd = tokio::process::Command::new("kubectl");
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("HOME", home)
        .env("KUBECACHEDIR", PathBuf::from(home).join("cache"))
        .stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("kubectl is installed");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        pipe.write_all(input).await.expect("write kubectl stdin");
        drop(pipe);
    }
    let out = tokio::time::timeout(WAIT * 2, child.wait_with_output())
        .await
        .expect("kubectl finished in time")
        .expect("kubectl ran");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The BFF served on a free port against the testbed's kubeconfig, as `demo` runs it.
pub struct Bff {
    pub url: String,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Bff {
    fn drop(&mut self) {
        secrets::assert_clean();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Bff {
    /// A client of a BFF already served at `url` (another process); dropping it stops nothing.
    pub fn at(url: &str) -> Self {
        Self { url: url.trim_end_matches('/').to_string(), http: client(), shutdown: None }
    }

    /// Starts the BFF (not waiting for readiness).
    pub async fn start(kubeconfig: &std::path::Path) -> Self {
        Self::start_with(kubeconfig, |_| {}, |_| axum::Router::new()).await.0
    }

    /// Starts the BFF with adjusted settings and extra routes merged into its router (tests
    /// mount job types of their own this way); returns it with its state.
    pub async fn start_with(
        kubeconfig: &std::path::Path,
        adjust: impl FnOnce(&mut bff::config::Settings),
        extra: impl FnOnce(bff::app::AppState) -> axum::Router,
    ) -> (Self, bff::app::AppState) {
        init_crypto();
        secrets::capture_service_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // The BFF's kubeconfig carries a bearer token the scan looks for everywhere.
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = secrets::with_token(kubeconfig, dir.path());
        let mut settings = bff::config::Settings::for_kubeconfig(kubeconfig.clone(), addr);
        settings.timeouts.k8s_probe_interval = Duration::from_millis(50);
        settings.timeouts.k8s_unreachable_grace = Duration::from_millis(300);
        settings.timeouts.chain_status_timeout = Duration::from_millis(500);
        adjust(&mut settings);
        let state = bff::app::AppState::connect(settings).await.expect("BFF state");
        drop(dir); // the client has read the kubeconfig
        let router = bff::api::router(state.clone())
            .merge(extra(state.clone()))
            .layer(axum::middleware::from_fn(secrets::tap));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let limits = state.settings.server.clone();
        tokio::spawn(async move {
            bff::api::serve::serve_router_with(listener, router, &limits, async move {
                let _ = rx.await;
            })
            .await
        });
        (Self { url: format!("http://{addr}"), http: client(), shutdown: Some(tx) }, state)
    }

    /// Starts the BFF and waits until `/readyz` says ready; in real-cluster mode with
    /// `CRYPTOMERIA_BFF_URL` set, the running BFF there instead.
    pub async fn ready(kubeconfig: &std::path::Path) -> Self {
        let external = std::env::var(BFF_URL_VAR).ok().filter(|u| !u.is_empty() && real_cluster().is_some());
        let bff = match external {
            Some(url) => {
                init_crypto();
                Self { url: url.trim_end_matches('/').to_string(), http: client(), shutdown: None }
            }
            None => Self::start(kubeconfig).await,
        };
        bff.wait_readyz(200).await;
        bff
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.http.get(format!("{}{path}", self.url)).send().await.expect("BFF answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    /// POSTs JSON; every `txBytes` in the body is registered with the secret scan first.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        match &body["txBytes"] {
            serde_json::Value::String(tx) => secrets::register(tx),
            serde_json::Value::Array(txs) => {
                txs.iter().filter_map(|t| t.as_str()).for_each(secrets::register)
            }
            _ => {}
        }
        let resp =
            self.http.post(format!("{}{path}", self.url)).json(body).send().await.expect("BFF answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.url)).send().await.expect("BFF answers");
        (resp.status().as_u16(), resp.text().await.expect("body"))
    }

    /// Re-reads `path` until `pred` holds for its JSON (a condition wait, bounded by WAIT).
    pub async fn until(
        &self,
        path: &str,
        what: &str,
        pred: impl Fn(u16, &serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (status, body) = self.get(path).await;
            if pred(status, &body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never showed {what}; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_readyz(&self, want: u16) -> serde_json::Value {
        self.until("/readyz", &format!("status {want}"), |s, _| s == want).await
    }
}

/// The suite's HTTP client for the BFF. Idle connections are dropped before the BFF's
/// `HEADER_READ_TIMEOUT` (10 s) closes them: a request sent on a connection the server is
/// closing that moment is reset, a race every keep-alive client has with such a server.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}
