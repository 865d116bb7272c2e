//! kube-rs against the testbed: typed lists with selectors, reflectors that converge through
//! churn, dropped watches and expired resourceVersions, exec with stdin and exit status,
//! and the API-server faults.

use crate::common::{TestEnv, WAIT};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Endpoints, Pod};
use kube::api::{Api, AttachParams, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;

/// A reflector over pods plus a signal bumped on every event it applies.
struct Reflected {
    store: Store<Pod>,
    changed: watch::Receiver<u64>,
}

impl Reflected {
    async fn start(api: Api<Pod>) -> Self {
        let (store, writer) = reflector::store();
        let (tx, changed) = watch::channel(0u64);
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()).default_backoff());
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while stream.next().await.is_some() {
                tx.send_modify(|n| *n += 1);
            }
        });
        tokio::time::timeout(WAIT, store.wait_until_ready())
            .await
            .expect("synced in time")
            .expect("reflector alive");
        Self { store, changed }
    }

    fn names(&self) -> BTreeSet<String> {
        self.store.state().iter().filter_map(|p| p.metadata.name.clone()).collect()
    }

    /// Waits until `pred` holds for the store's contents (re-checked on every event).
    async fn until(&mut self, what: &str, pred: impl Fn(&Store<Pod>) -> bool) {
        let ok = tokio::time::timeout(WAIT, async {
            while !pred(&self.store) {
                if self.changed.changed().await.is_err() {
                    return false;
                }
            }
            true
        })
        .await;
        assert_eq!(ok, Ok(true), "store never reached: {what}; has {:?}", self.names());
    }
}

fn ready(store: &Store<Pod>, name: &str) -> bool {
    store.state().iter().any(|p| p.metadata.name.as_deref() == Some(name) && crate::common::is_ready(p))
}

#[tokio::test]
async fn typed_list_honours_label_and_field_selectors() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let chains = env
        .pods()
        .list(
            &ListParams::default().labels("app.kubernetes.io/category=chain").fields("status.phase=Running"),
        )
        .await
        .unwrap();
    let names: BTreeSet<_> = chains.items.iter().filter_map(|p| p.metadata.name.clone()).collect();
    let want: BTreeSet<String> =
        ["cryptomeria-gwc-0", "cryptomeria-mdsc-0", "cryptomeria-fdsc-0-0", "cryptomeria-fdsc-1-0"]
            .map(String::from)
            .into();
    assert_eq!(names, want);
    let fdsc = env
        .pods()
        .list(
            &ListParams::default()
                .labels("app.kubernetes.io/component in (fdsc),app.kubernetes.io/instance!=fdsc-0"),
        )
        .await
        .unwrap();
    assert_eq!(fdsc.items.len(), 1);
    assert_eq!(fdsc.items[0].metadata.name.as_deref(), Some("cryptomeria-fdsc-1-0"));
    let err = env.pods().list(&ListParams::default().fields("spec.bogus=x")).await.unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 400), "{err:?}");
}

#[tokio::test]
async fn reflector_converges_after_a_pod_is_deleted_and_recreated() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let mut pods = Reflected::start(env.pods()).await;
    let old = env.relayer();
    assert!(pods.names().contains(&old));
    let new = env.testbed().control.delete_pod(&old).expect("relayer recreated");
    pods.until("old relayer gone, new relayer Ready", |s| {
        ready(s, &new) && !s.state().iter().any(|p| p.metadata.name.as_deref() == Some(old.as_str()))
    })
    .await;

    let uid_before = pods
        .store
        .state()
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("cryptomeria-gwc-0"))
        .and_then(|p| p.metadata.uid.clone());
    env.testbed().control.delete_pod("cryptomeria-gwc-0");
    pods.until("gwc recreated under the same name with a new uid", |s| {
        s.state().iter().any(|p| {
            p.metadata.name.as_deref() == Some("cryptomeria-gwc-0")
                && p.metadata.uid != uid_before
                && crate::common::is_ready(p)
        })
    })
    .await;
}

#[tokio::test]
async fn reflector_converges_after_all_watches_are_dropped() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let mut pods = Reflected::start(env.pods()).await;
    env.testbed().control.drop_watches();
    env.testbed().control.scale_fdsc(3).unwrap();
    pods.until("fdsc-2 added and Ready", |s| ready(s, "cryptomeria-fdsc-2-0")).await;
    env.testbed().control.drop_watches();
    env.testbed().control.scale_fdsc(1).unwrap();
    pods.until("fdsc-1 and fdsc-2 removed", |s| s.state().len() == 6).await;
}

#[tokio::test]
async fn reflector_relists_after_resource_versions_expire() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let mut pods = Reflected::start(env.pods()).await;
    let lists_before = env.testbed().control.request_counts().get("list pods").copied().unwrap_or(0);
    env.testbed().control.expire_resource_versions();
    env.testbed().control.hold_not_ready("cryptomeria-fdsc-1-0");
    pods.until("fdsc-1 seen not ready", |s| {
        s.state().iter().any(|p| {
            p.metadata.name.as_deref() == Some("cryptomeria-fdsc-1-0") && !crate::common::is_ready(p)
        })
    })
    .await;
    let lists_after = env.testbed().control.request_counts().get("list pods").copied().unwrap_or(0);
    assert!(lists_after > lists_before, "the 410 made the watcher relist ({lists_before} -> {lists_after})");
}

#[tokio::test]
async fn endpoints_follow_pod_readiness() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let eps: Api<Endpoints> = Api::namespaced(env.client.clone(), &env.ns());
    let addresses = |e: &Endpoints, not_ready: bool| -> usize {
        e.subsets
            .iter()
            .flatten()
            .map(|s| {
                if not_ready { s.not_ready_addresses.as_ref() } else { s.addresses.as_ref() }
                    .map_or(0, Vec::len)
            })
            .sum()
    };
    let mdsc = eps.get("cryptomeria-mdsc").await.unwrap();
    assert_eq!((addresses(&mdsc, false), addresses(&mdsc, true)), (1, 0));
    env.testbed().control.hold_not_ready("cryptomeria-mdsc-0");
    let mdsc = eps.get("cryptomeria-mdsc").await.unwrap();
    assert_eq!((addresses(&mdsc, false), addresses(&mdsc, true)), (0, 1));
    let headless = eps.get("cryptomeria-chain-headless").await.unwrap();
    // The chart's headless Service does not publish not-ready addresses.
    assert_eq!((addresses(&headless, false), addresses(&headless, true)), (3, 1), "{headless:?}");
}

#[tokio::test]
async fn exec_with_stdin_returns_output_and_exit_status() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let relayer = env.relayer();
    let params = AttachParams::default().stdin(true).stdout(true).stderr(true);
    let mut proc = env
        .pods()
        .exec(&relayer, ["sh", "-c", "cat > /tmp/in.txt; cat /tmp/in.txt; echo oops >&2; exit 3"], &params)
        .await
        .unwrap();
    let mut stdin = proc.stdin().expect("stdin");
    stdin.write_all(b"hello from kube-rs\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    let mut out = String::new();
    proc.stdout().expect("stdout").read_to_string(&mut out).await.unwrap();
    let mut err = String::new();
    proc.stderr().expect("stderr").read_to_string(&mut err).await.unwrap();
    let status = proc.take_status().expect("status channel").await.expect("a status");
    assert_eq!(out, "hello from kube-rs\n");
    assert_eq!(err, "oops\n");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));
    let code = status
        .details
        .and_then(|d| d.causes)
        .and_then(|c| c.into_iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message);
    assert_eq!(code.as_deref(), Some("3"));
    assert!(env.testbed().control.request_counts().get("create pods/exec").copied().unwrap_or(0) >= 1);
}

#[tokio::test]
async fn an_aborted_exec_stream_gives_no_status_but_the_command_still_ran() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    let relayer = env.relayer();
    env.testbed().control.abort_next_execs(1);
    let params = AttachParams::default().stdout(true).stderr(true);
    let mut proc =
        env.pods().exec(&relayer, ["sh", "-c", "echo done > /tmp/aborted"], &params).await.unwrap();
    let status = proc.take_status().expect("status channel").await;
    assert!(status.is_none(), "a cut stream carries no status: {status:?}");
    // The command ran in the pod regardless: the next exec sees its effect.
    let mut proc = env.pods().exec(&relayer, ["cat", "/tmp/aborted"], &params).await.unwrap();
    let mut out = String::new();
    proc.stdout().expect("stdout").read_to_string(&mut out).await.unwrap();
    assert_eq!(out, "done\n");
}

#[tokio::test]
async fn api_server_500s_and_refused_connections_surface_as_errors_then_recover() {
    crate::testbed_only!("checks the embedded testbed itself");
    let env = TestEnv::ready().await;
    env.testbed().control.fail_api_for(Duration::from_secs(600));
    let err = env.pods().list(&ListParams::default()).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 500 && s.reason == "InternalError"),
        "{err:?}"
    );
    env.testbed().control.fail_api_for(Duration::ZERO);
    assert_eq!(env.pods().list(&ListParams::default()).await.unwrap().items.len(), 7);

    env.testbed().control.refuse_connections_for(Duration::from_millis(300)).await;
    let client = crate::common::client_for(&env.kubeconfig).await;
    let err = Api::<Pod>::namespaced(client, &env.ns()).list(&ListParams::default()).await.unwrap_err();
    assert!(!matches!(err, kube::Error::Api(_)), "no HTTP answer while refusing: {err:?}");
    // Recovery: a fresh reflector syncs once the listener is back.
    let mut pods = Reflected::start(env.pods()).await;
    pods.until("all seven pods back", |s| s.state().len() == 7).await;
}
