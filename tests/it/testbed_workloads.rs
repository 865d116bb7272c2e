//! The testbed's workloads as a real cluster's: the real `kubectl scale`, `kubectl rollout
//! restart` and kube-rs's scale subresource change replicas and templates, the controllers
//! act on them (pods go and come back, chain state and the relayer's PVC survive), and an
//! enforced RBAC policy answers what it does not allow with the real 403 Status.

use crate::common::{TestEnv, WAIT};
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::{Value, json};
use std::time::Duration;
use testbed::Testbed;
use testbed::control::ApiRequest;

const NS: &str = "cryptomeria";
const RELAYER: &str = "cryptomeria-relayer";
const RELAYER_HOME: &str = "/home/relayer/.relayer";
const SERVICE_ACCOUNT: &str = "cryptomeria-bff";
const USER: &str = "system:serviceaccount:cryptomeria:cryptomeria-bff";

/// Runs kubectl in the chart's namespace and requires it to succeed; returns stdout.
async fn kubectl_ok(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["-n", NS];
    all.extend_from_slice(args);
    let (code, out, err) = env.kubectl(&all, None).await;
    assert_eq!(code, 0, "kubectl {args:?} failed: {err}");
    out
}

/// Re-runs `read` until `pred` holds for its answer, bounded by WAIT; returns that answer.
async fn poll<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    what: &str,
    read: impl Fn() -> F,
    pred: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = read().await;
        if pred(&value) {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}; last: {value:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The relayer pods' names, as `kubectl get pods -l` lists them.
async fn relayer_pods(env: &TestEnv) -> Vec<String> {
    let out = kubectl_ok(
        env,
        &[
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/component=relayer",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    )
    .await;
    out.split_whitespace().map(str::to_string).collect()
}

/// A chain's JSON from its NodePort (`rpc` or `api` port), or None while it refuses.
async fn chain_get(port: u16, path: &str) -> Option<Value> {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}{path}")).await.ok()?;
    resp.json().await.ok()
}

fn height(status: &Value) -> u64 {
    status["result"]["sync_info"]["latest_block_height"].as_str().and_then(|h| h.parse().ok()).unwrap_or(0)
}

/// The `kubectl get statefulsets` row of `name`, whitespace-split.
async fn statefulset_row(env: &TestEnv, name: &str) -> Vec<String> {
    let out = kubectl_ok(env, &["get", "statefulsets"]).await;
    let row = out.lines().find(|l| l.split_whitespace().next() == Some(name));
    row.unwrap_or_else(|| panic!("no row for {name} in:\n{out}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn kubectl_scale_stops_a_chain_and_scaling_back_continues_it_from_its_height_and_state() {
    crate::testbed_only!("reads the chain through the testbed's NodePorts and produces blocks on demand");
    let env = TestEnv::ready_with(Testbed::builder().block_interval(None)).await;
    let control = &env.testbed().control;
    let (rpc, api, _) = control.node_ports("fdsc-0").expect("fdsc-0 NodePorts");
    control.produce_blocks("fdsc-0", 3);
    let before = height(&chain_get(rpc, "/status").await.expect("fdsc-0 serves RPC"));
    let admin = control.chain("fdsc-0").expect("node").genesis_key("local-admin").address;
    let balance_path = format!("/cosmos/bank/v1beta1/balances/{admin}");
    let balance = chain_get(api, &balance_path).await.expect("fdsc-0 serves REST")["balances"].clone();
    assert!(balance.as_array().is_some_and(|b| !b.is_empty()), "{balance}");

    let out = kubectl_ok(&env, &["scale", "--replicas=0", "statefulset/cryptomeria-fdsc-0"]).await;
    assert_eq!(out.trim(), "statefulset.apps/cryptomeria-fdsc-0 scaled");
    kubectl_ok(&env, &["wait", "--for=delete", "pod/cryptomeria-fdsc-0-0", "--timeout=30s"]).await;
    let pods = kubectl_ok(&env, &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"]).await;
    assert!(!pods.split_whitespace().any(|p| p == "cryptomeria-fdsc-0-0"), "{pods}");
    assert!(chain_get(rpc, "/status").await.is_none(), "a scaled-away chain refuses RPC");
    assert!(control.produce_blocks("fdsc-0", 1).is_empty(), "a scaled-away chain commits nothing");
    assert_eq!(statefulset_row(&env, "cryptomeria-fdsc-0").await[1], "0/0");
    let endpoints =
        kubectl_ok(&env, &["get", "endpoints", "cryptomeria-fdsc-0", "-o", "jsonpath={.subsets}"]).await;
    assert!(endpoints.trim().is_empty() || endpoints.trim() == "[]", "endpoints still list: {endpoints}");

    let out = kubectl_ok(&env, &["scale", "--replicas=1", "statefulset/cryptomeria-fdsc-0"]).await;
    assert_eq!(out.trim(), "statefulset.apps/cryptomeria-fdsc-0 scaled");
    kubectl_ok(&env, &["wait", "--for=condition=Ready", "pod/cryptomeria-fdsc-0-0", "--timeout=30s"]).await;
    let status = poll("fdsc-0 serves RPC again", || chain_get(rpc, "/status"), Option::is_some).await;
    assert_eq!(height(status.as_ref().unwrap()), before, "the chain kept its height");
    assert_eq!(chain_get(api, &balance_path).await.expect("REST again")["balances"], balance);
    assert_eq!(control.produce_blocks("fdsc-0", 1), vec![before + 1]);
    let after = height(&chain_get(rpc, "/status").await.expect("RPC"));
    assert_eq!(after, before + 1, "blocks continue from the kept height");
    assert_eq!(statefulset_row(&env, "cryptomeria-fdsc-0").await[1], "1/1");
}

/// The chart's boot, asked for by the test: a chain pod is Ready before its node serves, on
/// install, when the pod is recreated and when its StatefulSet is scaled back from 0.
#[tokio::test]
async fn with_a_boot_delay_a_chain_pod_is_ready_before_its_node_serves_on_install_recreation_and_scale_up() {
    crate::testbed_only!("sets the testbed's boot delay");
    let env = TestEnv::ready_with(Testbed::builder().fdsc(1).boot_delay(Duration::from_secs(3))).await;
    let (rpc, _, _) = env.testbed().control.node_ports("fdsc-0").expect("fdsc-0 NodePorts");
    let pod = "pod/cryptomeria-fdsc-0-0";
    assert!(chain_get(rpc, "/status").await.is_none(), "fdsc-0 serves as soon as it is Ready");
    env.wait_chains_serving().await;

    kubectl_ok(&env, &["delete", pod]).await;
    kubectl_ok(&env, &["wait", "--for=condition=Ready", pod, "--timeout=30s"]).await;
    assert!(chain_get(rpc, "/status").await.is_none(), "a recreated fdsc-0 serves at once");
    env.wait_chains_serving().await;

    kubectl_ok(&env, &["scale", "--replicas=0", "statefulset/cryptomeria-fdsc-0"]).await;
    kubectl_ok(&env, &["wait", "--for=delete", pod, "--timeout=30s"]).await;
    kubectl_ok(&env, &["scale", "--replicas=1", "statefulset/cryptomeria-fdsc-0"]).await;
    kubectl_ok(&env, &["wait", "--for=condition=Ready", pod, "--timeout=30s"]).await;
    assert!(chain_get(rpc, "/status").await.is_none(), "a resumed fdsc-0 serves at once");
    env.wait_chains_serving().await;
    let log = kubectl_ok(&env, &["logs", pod]).await;
    assert!(log.contains("Waiting for Genesis Server"), "the boot shows in the log:\n{log}");
}

#[tokio::test]
async fn kubectl_scale_recreates_the_relayer_under_a_new_name_with_its_keys_but_not_its_config() {
    crate::testbed_only!("checks the embedded testbed's relayer volumes");
    let env = TestEnv::ready().await;
    let old = env.relayer();
    let setup = format!(
        "mkdir -p {RELAYER_HOME}/config {RELAYER_HOME}/keys/gwc && echo 'global: {{}}' > {RELAYER_HOME}/config/config.yaml && echo k > {RELAYER_HOME}/keys/gwc/relayer.info"
    );
    kubectl_ok(&env, &["exec", &old, "-c", "relayer", "--", "sh", "-c", &setup]).await;

    let out = kubectl_ok(&env, &["scale", "deployment/cryptomeria-relayer", "--replicas=0"]).await;
    assert_eq!(out.trim(), "deployment.apps/cryptomeria-relayer scaled");
    kubectl_ok(&env, &["wait", "--for=delete", &format!("pod/{old}"), "--timeout=30s"]).await;
    assert!(relayer_pods(&env).await.is_empty());

    kubectl_ok(&env, &["scale", "deployment/cryptomeria-relayer", "--replicas=1"]).await;
    let pods = poll("a new relayer pod", || relayer_pods(&env), |p| p.len() == 1).await;
    let new = &pods[0];
    assert_ne!(new, &old, "a Deployment's pod comes back under a new name");
    assert!(new.starts_with("cryptomeria-relayer-"));
    kubectl_ok(&env, &["wait", "--for=condition=Ready", &format!("pod/{new}"), "--timeout=30s"]).await;
    let config = format!("{RELAYER_HOME}/config/config.yaml");
    let (code, _, _) = env.kubectl(&["-n", NS, "exec", new, "--", "test", "-f", &config], None).await;
    assert_eq!(code, 1, "the config emptyDir is lost with the pod");
    let keys =
        kubectl_ok(&env, &["exec", new, "--", "cat", &format!("{RELAYER_HOME}/keys/gwc/relayer.info")]).await;
    assert_eq!(keys, "k\n", "the keys on the PVC survive");
    let ready =
        kubectl_ok(&env, &["get", "deployment", RELAYER, "-o", "jsonpath={.status.readyReplicas}"]).await;
    assert_eq!(ready, "1");
}

#[tokio::test]
async fn kubectl_rollout_restart_replaces_the_relayer_pod() {
    crate::testbed_only!("checks the embedded testbed's Deployment controller");
    let env = TestEnv::ready().await;
    let old = env.relayer();
    let out = kubectl_ok(&env, &["rollout", "restart", "deployment/cryptomeria-relayer"]).await;
    assert_eq!(out.trim(), "deployment.apps/cryptomeria-relayer restarted");
    kubectl_ok(&env, &["wait", "--for=delete", &format!("pod/{old}"), "--timeout=30s"]).await;
    let pods = poll("one new relayer pod", || relayer_pods(&env), |p| p.len() == 1).await;
    assert_ne!(pods[0], old);
    kubectl_ok(&env, &["wait", "--for=condition=Ready", &format!("pod/{}", pods[0]), "--timeout=30s"]).await;
    let restarted = kubectl_ok(
        &env,
        &[
            "get",
            "deployment",
            RELAYER,
            "-o",
            r#"jsonpath={.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}"#,
        ],
    )
    .await;
    assert!(!restarted.is_empty(), "the restart annotation is on the template");
    let generation = kubectl_ok(
        &env,
        &["get", "deployment", RELAYER, "-o", "jsonpath={.metadata.generation}/{.status.observedGeneration}"],
    )
    .await;
    assert_eq!(generation, "2/2");
}

#[tokio::test]
async fn kube_rs_reads_and_patches_the_scale_subresource_and_annotations_with_watch_events() {
    crate::testbed_only!("reads the testbed API server's request log");
    let env = TestEnv::ready().await;
    let api: Api<StatefulSet> = Api::namespaced(env.client.clone(), NS);
    let name = "cryptomeria-mdsc";
    let scale = api.get_scale(name).await.expect("get_scale");
    assert_eq!(scale.metadata.name.as_deref(), Some(name));
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(1));
    let status = scale.status.expect("scale status");
    assert_eq!(status.replicas, 1);
    assert_eq!(
        status.selector.as_deref(),
        Some(
            "app.kubernetes.io/component=mdsc,app.kubernetes.io/instance=mdsc,app.kubernetes.io/name=cryptomeria"
        )
    );

    // A PUT of the Scale with a stale resourceVersion is refused, as the real server does.
    let mut stale = api.get_scale(name).await.expect("get_scale");
    stale.metadata.resource_version = Some("1".into());
    let put = api.replace_scale(name, &Default::default(), &stale).await;
    let status = match put {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected 409 Conflict, got {other:?}"),
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status
            .message
            .starts_with(r#"Operation cannot be fulfilled on statefulsets.apps "cryptomeria-mdsc""#)
    );

    let before = api.get(name).await.expect("get");
    let generation = before.metadata.generation.expect("generation");
    let rv = before.metadata.resource_version.clone().expect("rv");
    let events = api.watch(&WatchParams::default().fields(&format!("metadata.name={name}")), &rv).await;
    let mut events = std::pin::pin!(events.expect("watch starts"));

    // An annotation (what the product records stopped replicas in) is metadata: no new generation.
    let annotate = json!({"metadata": {"annotations": {"cryptomeria.io/stopped-replicas": "1"}}});
    let annotated = api.patch(name, &PatchParams::default(), &Patch::Merge(&annotate)).await.expect("patch");
    let annotations = annotated.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(annotations.get("cryptomeria.io/stopped-replicas").map(String::as_str), Some("1"));
    assert_eq!(annotated.metadata.generation, Some(generation));

    let scaled = api
        .patch_scale(name, &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 0}})))
        .await
        .expect("patch_scale");
    assert_eq!(
        scaled.spec.and_then(|s| s.replicas),
        None,
        "0 is omitted, as ScaleSpec.replicas is omitempty"
    );
    let after = api.get(name).await.expect("get");
    assert_eq!(after.spec.as_ref().and_then(|s| s.replicas), Some(0));
    assert_eq!(after.metadata.generation, Some(generation + 1));
    assert_eq!(after.status.as_ref().and_then(|s| s.observed_generation), Some(generation + 1));

    let seen = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.next().await {
            if let WatchEvent::Modified(s) = event.expect("watch event")
                && s.spec.as_ref().and_then(|s| s.replicas) == Some(0)
                && s.status.as_ref().is_some_and(|st| st.replicas == 0)
            {
                return s;
            }
        }
        panic!("watch ended");
    })
    .await
    .expect("a MODIFIED event with replicas 0 and status.replicas 0");
    assert!(seen.metadata.annotations.unwrap_or_default().contains_key("cryptomeria.io/stopped-replicas"));
    let pods: Api<Pod> = env.pods();
    let gone =
        poll("mdsc's pod gone", || pods.get_opt("cryptomeria-mdsc-0"), |p| matches!(p, Ok(None))).await;
    assert!(matches!(gone, Ok(None)));

    api.patch_scale(name, &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 1}})))
        .await
        .expect("patch_scale back");
    env.wait_all_pods_ready().await;
    let requests = env.testbed().control.api_requests();
    let has = |verb: &str, sub: Option<&str>| {
        requests.iter().any(|r| {
            matches!(r, ApiRequest::Resource { verb: v, group, resource, subresource, namespace, .. }
                if v == verb && group == "apps" && resource == "statefulsets"
                    && subresource.as_deref() == sub && namespace.as_deref() == Some(NS))
        })
    };
    assert!(has("get", Some("scale")) && has("patch", Some("scale")) && has("patch", None), "{requests:?}");
    assert!(has("update", Some("scale")), "{requests:?}");
}

/// A Role granting reads of pods only, and `get` (not `create`) on pods/exec.
const PODS_ONLY: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata: {name: cryptomeria-bff, namespace: cryptomeria}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cryptomeria-bff, namespace: cryptomeria}
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get", "list", "watch"]
  - apiGroups: [""]
    resources: ["pods/exec"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cryptomeria-bff, namespace: cryptomeria}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cryptomeria-bff}
subjects: [{kind: ServiceAccount, name: cryptomeria-bff, namespace: cryptomeria}]
"#;

fn forbidden(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn with_rbac_enforced_what_the_role_does_not_grant_is_forbidden_in_the_real_format() {
    crate::testbed_only!("enforces RBAC through the testbed's control handle");
    let env = TestEnv::ready().await;
    let control = &env.testbed().control;
    control.enforce_rbac_yaml(PODS_ONLY, NS, SERVICE_ACCOUNT).expect("the manifest parses");
    let sts: Api<StatefulSet> = Api::namespaced(env.client.clone(), NS);

    assert!(env.pods().list(&ListParams::default()).await.is_ok(), "pods are granted");
    let status = forbidden(sts.list(&ListParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    let list_message = format!(
        r#"statefulsets.apps is forbidden: User "{USER}" cannot list resource "statefulsets" in API group "apps" in the namespace "cryptomeria""#
    );
    assert_eq!(status.message, list_message);
    let details = status.details.expect("details");
    assert_eq!(
        (details.group.as_str(), details.kind.as_str(), details.name.as_str()),
        ("apps", "statefulsets", "")
    );

    let status = forbidden(sts.watch(&WatchParams::default(), "0").await.map(|_| ()));
    assert!(status.message.contains(r#"cannot watch resource "statefulsets""#), "{}", status.message);
    let patch = Patch::Merge(json!({"spec": {"replicas": 0}}));
    let status = forbidden(sts.patch_scale("cryptomeria-gwc", &PatchParams::default(), &patch).await);
    assert_eq!(
        status.message,
        format!(
            r#"statefulsets.apps "cryptomeria-gwc" is forbidden: User "{USER}" cannot patch resource "statefulsets/scale" in API group "apps" in the namespace "cryptomeria""#
        )
    );

    // A WebSocket exec is a GET, allowed as `get`; Kubernetes 1.35 also requires `create`.
    let attach = AttachParams::default().stderr(false);
    let status = forbidden(env.pods().exec("cryptomeria-gwc-0", ["true"], &attach).await.map(|_| ()));
    assert_eq!(
        status.message,
        format!(
            r#"pods "cryptomeria-gwc-0" is forbidden: User "{USER}" cannot create resource "pods/exec" in API group "" in the namespace "cryptomeria""#
        )
    );

    // kubectl: discovery stays allowed; the denial prints as the real server's.
    let (code, _, err) = env.kubectl(&["-n", NS, "get", "statefulsets"], None).await;
    assert_eq!(code, 1);
    assert!(err.contains(&format!("Error from server (Forbidden): {list_message}")), "{err}");
    let (code, _, err) =
        env.kubectl(&["-n", NS, "scale", "--replicas=0", "statefulset/cryptomeria-gwc"], None).await;
    assert_eq!(code, 1);
    // kubectl scale reads the object first; its GET is refused (kubectl words it so).
    let get_message = format!(
        r#"statefulsets.apps "cryptomeria-gwc" is forbidden: User "{USER}" cannot get resource "statefulsets" in API group "apps" in the namespace "cryptomeria""#
    );
    assert!(err.contains(&get_message), "{err}");
    // kubectl's WebSocket exec is refused 403 and it falls back to SPDY (a POST, `create`).
    let (code, _, err) = env.kubectl(&["-n", NS, "exec", "cryptomeria-gwc-0", "--", "true"], None).await;
    assert_eq!(code, 1);
    let exec_message = format!(
        r#"Error from server (Forbidden): pods "cryptomeria-gwc-0" is forbidden: User "{USER}" cannot create resource "pods/exec" in API group "" in the namespace "cryptomeria""#
    );
    assert!(err.contains(&exec_message), "{err}");
    let spdy_fallback = control.api_requests().into_iter().any(|r| {
        matches!(r, ApiRequest::Resource { verb, method, subresource, .. }
            if verb == "create" && method == "POST" && subresource.as_deref() == Some("exec"))
    });
    assert!(spdy_fallback, "kubectl retried the exec as a SPDY POST");

    // With both verbs on pods/exec, the WebSocket exec goes through.
    control
        .enforce_rbac_yaml(
            &PODS_ONLY.replace(r#"verbs: ["get"]"#, r#"verbs: ["get", "create"]"#),
            NS,
            SERVICE_ACCOUNT,
        )
        .expect("the manifest parses");
    let (code, out, err) =
        env.kubectl(&["-n", NS, "exec", "cryptomeria-gwc-0", "--", "echo", "hi"], None).await;
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");

    control.enforce_rbac(None);
    assert!(sts.list(&ListParams::default()).await.is_ok(), "enforcement is off again");
    assert_eq!(
        kubectl_ok(&env, &["get", "statefulset", "cryptomeria-gwc", "-o", "name"]).await.trim(),
        "statefulset.apps/cryptomeria-gwc"
    );
}
