//! Shared test environment: an embedded testbed on free ports, a kube-rs client and the real
//! `kubectl` pointed at its kubeconfig, and waits on conditions (never sleeps).

use bff::testbed::Testbed;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use std::path::PathBuf;
use std::time::Duration;

/// Upper bound for any wait in a test; a wait that hits it fails the test.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct TestEnv {
    pub testbed: Testbed,
    pub client: kube::Client,
    /// HOME and KUBECACHEDIR of the kubectl runs, so no cache leaks between tests.
    pub kubectl_home: tempfile::TempDir,
}

pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl TestEnv {
    /// A testbed with every pod Running and Ready.
    pub async fn ready() -> Self {
        Self::ready_with(Testbed::builder()).await
    }

    pub async fn ready_with(builder: bff::testbed::TestbedBuilder) -> Self {
        init_crypto();
        let testbed = builder.ready_delay(Duration::from_millis(20)).start().await.expect("testbed starts");
        let client = client_for(&testbed.kubeconfig).await;
        let env = Self { testbed, client, kubectl_home: tempfile::tempdir().expect("tempdir") };
        env.wait_all_pods_ready().await;
        env
    }

    pub fn ns(&self) -> String {
        self.testbed.control.namespace().to_string()
    }

    pub fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.ns())
    }

    pub fn relayer(&self) -> String {
        self.testbed.control.relayer_pod().expect("a relayer pod exists")
    }

    /// Watches pods until every one is Ready.
    pub async fn wait_all_pods_ready(&self) {
        let mut pods: std::collections::BTreeMap<String, bool> = Default::default();
        let stream = watcher(self.pods(), watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        let done = tokio::time::timeout(WAIT, async {
            while let Some(event) = stream.next().await {
                match event.expect("watch works") {
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

    /// Runs the real kubectl against the testbed; returns (exit code, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
        kubectl(&self.testbed.kubeconfig, self.kubectl_home.path(), args, stdin).await
    }
}

pub async fn client_for(kubeconfig: &std::path::Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.expect("kubeconfig loads");
    kube::Client::try_from(config).expect("client builds")
}

pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub async fn kubectl(kubeconfig: &std::path::Path, home: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
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
    let out = tokio::time::timeout(WAIT * 2, child.wait_with_output()).await.expect("kubectl finished in time").expect("kubectl ran");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}
