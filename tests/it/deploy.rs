//! `deploy/rbac.yaml` against what the BFF really asks the API server: a representative full
//! run (cache sync, every Layer 1 read, preflight's exec, a pod log, chain reads) against the
//! testbed, whose request log records each request as an RBAC authorizer sees it. Every
//! request must be allowed by the ServiceAccount's rules, and every granted permission must
//! be exercised or named below with its reason. Extend `FULL_RUN` as the BFF learns more.

use crate::common::{Bff, TestEnv};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use serde_json::Value;
use std::collections::BTreeSet;
use testbed::control::ApiRequest;

const SERVICE_ACCOUNT: &str = "cryptomeria-bff-reconciler";
const RBAC: &str = include_str!("../../deploy/rbac.yaml");

/// The BFF's reads of a full run; each must answer 200. POSTs of jobs join with their routes.
const FULL_RUN: &[&str] = &[
    "/readyz",
    "/api/v1/system/status",
    "/api/v1/system/ports",
    "/api/v1/system/topology",
    "/api/v1/system/preflight",
    "/api/v1/system/k8s/pods",
    "/api/v1/system/k8s/services",
    "/api/v1/system/k8s/endpoints",
    "/api/v1/system/k8s/configmaps",
    "/api/v1/system/k8s/logs?component=gwc&tail=5",
    "/api/v1/chains",
    "/api/v1/chains/gwc/status",
    "/metrics",
];

/// The reconcile jobs of a full run, in order.
const JOBS: &[&str] = &[
    "/api/v1/system/start",
    "/api/v1/system/connect",
    "/api/v1/system/relayer/restart",
    "/api/v1/system/stop",
    "/api/v1/system/resume",
];

/// Granted on purpose although a full run does not exercise them, with the reason.
const GRANTED_UNUSED: &[(&str, &str)] = &[
    ("get pods", "single-object reads by kubectl-style tooling; the issue's minimal set names it"),
    ("get services", "as for pods"),
    ("get endpoints", "as for pods"),
    ("get configmaps", "as for pods"),
];

/// Non-resource paths every cluster grants to all (ClusterRole system:public-info-viewer).
const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version", "/version/"];

/// A rule with where it applies: `None` = cluster-wide (ClusterRole via ClusterRoleBinding).
struct Grant {
    namespace: Option<String>,
    rule: PolicyRule,
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == want || x == "*")
}

fn bound_to_us(subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>, sa_ns: &str) -> bool {
    subjects.iter().flatten().any(|s| {
        s.kind == "ServiceAccount" && s.name == SERVICE_ACCOUNT && s.namespace.as_deref() == Some(sa_ns)
    })
}

/// The rules bound to the ServiceAccount in `deploy/rbac.yaml`.
fn grants() -> Vec<Grant> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(RBAC).expect("deploy/rbac.yaml parses");
    let of = |kind: &'static str| docs.iter().filter(move |d| d["kind"] == kind).cloned();
    let roles: Vec<Role> = of("Role").map(|d| serde_json::from_value(d).expect("a Role")).collect();
    let cluster_roles: Vec<ClusterRole> =
        of("ClusterRole").map(|d| serde_json::from_value(d).expect("a ClusterRole")).collect();
    let sa = of("ServiceAccount").next().expect("a ServiceAccount");
    assert_eq!(sa["metadata"]["name"], SERVICE_ACCOUNT);
    let sa_ns = sa["metadata"]["namespace"].as_str().expect("the ServiceAccount's namespace").to_string();

    let mut grants = Vec::new();
    for d in of("RoleBinding") {
        let b: RoleBinding = serde_json::from_value(d).expect("a RoleBinding");
        if !bound_to_us(&b.subjects, &sa_ns) {
            continue;
        }
        let ns = b.metadata.namespace.clone().expect("a RoleBinding is namespaced");
        let rules = match b.role_ref.kind.as_str() {
            "Role" => roles
                .iter()
                .find(|r| {
                    r.metadata.name.as_deref() == Some(&b.role_ref.name)
                        && r.metadata.namespace.as_ref() == Some(&ns)
                })
                .unwrap_or_else(|| panic!("RoleBinding refers to a missing Role {}", b.role_ref.name))
                .rules
                .clone(),
            _ => cluster_roles
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(&b.role_ref.name))
                .expect("RoleBinding's ClusterRole exists")
                .rules
                .clone(),
        };
        grants.extend(rules.into_iter().flatten().map(|rule| Grant { namespace: Some(ns.clone()), rule }));
    }
    for d in of("ClusterRoleBinding") {
        let b: ClusterRoleBinding = serde_json::from_value(d).expect("a ClusterRoleBinding");
        if !bound_to_us(&b.subjects, &sa_ns) {
            continue;
        }
        let role = cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(&b.role_ref.name))
            .unwrap_or_else(|| {
                panic!("ClusterRoleBinding refers to a missing ClusterRole {}", b.role_ref.name)
            });
        grants.extend(role.rules.clone().into_iter().flatten().map(|rule| Grant { namespace: None, rule }));
    }
    grants
}

/// Every identity may ask what it may do (ClusterRole system:basic-user): preflight does.
const BASIC_USER: &[&str] = &["selfsubjectaccessreviews"];

/// `(verb, resource[/sub], namespace)` checks an authorizer makes for one request.
fn checks(request: &ApiRequest) -> Vec<(String, String, String, Option<String>)> {
    let ApiRequest::Resource { verb, method, group, resource, subresource, namespace } = request else {
        return Vec::new();
    };
    if BASIC_USER.contains(&resource.as_str()) {
        return Vec::new();
    }
    let full = match subresource {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.clone(),
    };
    let mut out = vec![(verb.clone(), group.clone(), full.clone(), namespace.clone())];
    if full == "pods/exec" && method == "GET" {
        // KEP-4006 (Kubernetes 1.30+): a WebSocket exec must also be allowed to `create`.
        out.push(("create".into(), group.clone(), full, namespace.clone()));
    }
    out
}

fn allowed(
    grants: &[Grant],
    (verb, group, resource, namespace): &(String, String, String, Option<String>),
) -> bool {
    grants.iter().any(|g| {
        let in_scope = g.namespace.is_none() || g.namespace == *namespace;
        in_scope
            && has(&g.rule.verbs, verb)
            && has(g.rule.api_groups.as_deref().unwrap_or_default(), group)
            && has(g.rule.resources.as_deref().unwrap_or_default(), resource)
    })
}

#[tokio::test]
async fn every_request_of_a_full_run_is_allowed_by_deploy_rbac_and_every_grant_is_used() {
    crate::testbed_only!("reads the testbed API server's request log (control.api_requests)");
    // Fast blocks: three links take their handshakes' blocks, ~15 each.
    let env = TestEnv::ready_with(crate::testbed_ibc::fast_blocks()).await;
    // The testbed's API server also enforces the Role as RBAC would: a denied request is a 403
    // the run would trip over, besides being listed below.
    env.testbed()
        .control
        .enforce_rbac_yaml(RBAC, "cryptomeria", SERVICE_ACCOUNT)
        .expect("deploy/rbac.yaml parses");
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.reconcile.relayer_verify_delay = std::time::Duration::from_millis(50);
            s.reconcile.reconcile_poll_interval = std::time::Duration::from_millis(20);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    for path in FULL_RUN {
        let (code, body) = bff.get_text(path).await;
        assert_eq!(code, 200, "{path}: {body}");
    }
    // The reconcile jobs: execs in the relayer and gwc pods, reads from the cache.
    for job in JOBS {
        let resp = bff.http.post(format!("{}{job}", bff.url)).send().await.expect("BFF answers");
        assert_eq!(resp.status(), 202, "{job}");
        let id = resp.json::<Value>().await.expect("JSON")["jobId"].as_str().expect("jobId").to_string();
        let done = bff
            .until(&format!("/api/v1/system/jobs/{id}"), "the job finished", |_, b| {
                b["data"]["finishedAt"].is_string()
            })
            .await;
        assert_eq!(done["data"]["status"], "succeeded", "{job}: {done}");
    }
    // The cache watches Nodes too (nodeHost auto-detection), and preflight execs in the relayer.
    let requests = env.testbed().control.api_requests();
    let grants = grants();

    let mut exercised = BTreeSet::new();
    let mut denied = Vec::new();
    for request in &requests {
        if let ApiRequest::NonResource { path, .. } = request {
            assert!(
                PUBLIC_PATHS.contains(&path.as_str()),
                "non-resource request outside the public paths: {request:?}"
            );
        }
        for check in checks(request) {
            if allowed(&grants, &check) {
                exercised.insert(format!("{} {}", check.0, check.2));
            } else {
                denied.push(check);
            }
        }
    }
    assert!(denied.is_empty(), "deploy/rbac.yaml denies requests of a full run: {denied:?}");
    for want in [
        "watch pods",
        "list nodes",
        "get pods/exec",
        "get pods/log",
        "get namespaces",
        "patch statefulsets/scale",
        "patch deployments/scale",
    ] {
        assert!(exercised.contains(want), "the run never made `{want}`: {exercised:?}");
    }

    let mut unused = Vec::new();
    for g in &grants {
        for verb in &g.rule.verbs {
            for resource in g.rule.resources.iter().flatten() {
                let key = format!("{verb} {resource}");
                let excused = GRANTED_UNUSED.iter().any(|(k, _)| *k == key);
                if !exercised.contains(&key) && !excused {
                    unused.push(key);
                }
            }
        }
    }
    assert!(unused.is_empty(), "granted but never used by a full run (drop them or say why): {unused:?}");
    eprintln!(
        "rbac: {} distinct requests, {} permissions exercised: {exercised:?}",
        requests.len(),
        exercised.len()
    );
}

#[test]
fn a_request_outside_the_rules_is_denied() {
    let grants = grants();
    let check = |verb: &str, resource: &str, ns: Option<&str>| {
        allowed(&grants, &(verb.into(), String::new(), resource.into(), ns.map(str::to_string)))
    };
    assert!(check("watch", "pods", Some("cryptomeria")));
    assert!(!check("watch", "pods", Some("kube-system")), "the Role is namespaced");
    assert!(!check("list", "secrets", Some("cryptomeria")), "secrets are never granted");
    assert!(!check("delete", "pods", Some("cryptomeria")));
    assert!(check("list", "nodes", None));
    assert!(!check("get", "namespaces", Some("default")), "only its own namespace object");
}

/// The shell scripts of deploy/ and kind/ run where Docker exists, not here: check them.
#[test]
fn deploy_and_kind_scripts_pass_bash_n_and_shellcheck() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scripts: Vec<std::path::PathBuf> = ["deploy", "kind"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("directory exists"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert!(scripts.len() >= 2, "expected the kubeconfig recipe and the kind e2e script: {scripts:?}");
    for script in &scripts {
        let out = std::process::Command::new("bash").arg("-n").arg(script).output().expect("bash runs");
        assert!(out.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    }
    // tests/run.sh installs shellcheck (Debian package); without it only bash -n ran.
    match std::process::Command::new("shellcheck").args(&scripts).output() {
        Ok(out) => assert!(out.status.success(), "shellcheck: {}", String::from_utf8_lossy(&out.stdout)),
        Err(_) => eprintln!("shellcheck not installed: only `bash -n` checked the scripts"),
    }
}

/// The Kubernetes version the manifests are validated for (kind's node image in kind/).
const SCHEMA_VERSION: &str = "1.32.0";

/// Runs kubernetes-validate (strict: unknown fields are errors) on `files`; (ok, output).
fn kubernetes_validate(files: &[std::path::PathBuf]) -> Option<(bool, String)> {
    let out = std::process::Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", SCHEMA_VERSION])
        .args(files)
        .output()
        .ok()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if text.contains("No module named kubernetes_validate") {
        return None;
    }
    Some((out.status.success(), text))
}

/// deploy/*.yaml against the Kubernetes JSON schemas, by an independent validator (PyPI's
/// kubernetes-validate, installed by tests/run.sh); a broken copy must fail, so the check bites.
#[test]
fn deploy_manifests_validate_against_the_kubernetes_json_schemas() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifests: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("deploy"))
        .expect("deploy/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(manifests.len() >= 2, "deployment.yaml and rbac.yaml: {manifests:?}");
    let Some((ok, text)) = kubernetes_validate(&manifests) else {
        panic!("kubernetes-validate is not installed: run tests/run.sh, which installs it");
    };
    assert!(ok, "{text}");
    for m in &manifests {
        assert!(
            text.contains(&format!("{} passed", m.display())),
            "{} was not validated: {text}",
            m.display()
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("rbac.yaml");
    let original = std::fs::read_to_string(root.join("deploy/rbac.yaml")).unwrap();
    std::fs::write(&broken, original.replacen("verbs:", "verb:", 1)).unwrap();
    let (ok, text) = kubernetes_validate(&[broken]).unwrap();
    assert!(!ok, "a rule with `verb:` must not validate: {text}");
}

/// The rules of Cryptomeria-core's own BFF Role (`ops/infra/k8s/helm/cryptomeria/templates/
/// bff/rbac.yaml`, release namespace `cryptomeria`), restated: pods get/list/watch,
/// `pods/exec` create only, `pods/log` get, services/endpoints/configmaps get/list/watch, bound
/// to the ServiceAccount `cryptomeria-bff`. No Nodes, no namespaces, no workloads.
const CHART_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cryptomeria-bff-system, namespace: cryptomeria}
rules:
  - {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
  - {apiGroups: [""], resources: [pods/exec], verbs: [create]}
  - {apiGroups: [""], resources: [pods/log], verbs: [get]}
  - {apiGroups: [""], resources: [services, endpoints], verbs: [get, list, watch]}
  - {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cryptomeria-bff-system, namespace: cryptomeria}
subjects: [{kind: ServiceAccount, name: cryptomeria-bff, namespace: cryptomeria}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cryptomeria-bff-system}
"#;

/// A check of `/system/preflight` by name: (status, message).
fn preflight_check(body: &Value, name: &str) -> (String, String) {
    let c =
        body["data"]["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| {
            panic!("no {name} check: {body:#}");
        });
    (c["status"].as_str().unwrap().to_string(), c["message"].as_str().unwrap().to_string())
}

/// Replays a run under the chart's own BFF Role, enforced by the testbed's API server as RBAC
/// does: the BFF becomes ready and serves every cache read; preflight names each missing right
/// with what it disables; an exec-backed job fails K8S_FORBIDDEN naming `get pods/exec` (kube-rs
/// execs over a WebSocket, an HTTP GET, which Kubernetes authorizes as `get`, plus `create`
/// since 1.35 — the chart grants only `create`, enough for kubectl's SPDY fallback), and stop
/// fails K8S_FORBIDDEN naming the workloads. With `get` added to pods/exec, start succeeds.
#[tokio::test]
async fn a_run_under_the_charts_own_bff_role_reads_and_names_each_missing_right() {
    crate::testbed_only!("enforces an RBAC policy in the testbed's API server");
    // Fast blocks: three links take their handshakes' blocks, ~15 each.
    let env = TestEnv::ready_with(crate::testbed_ibc::fast_blocks()).await;
    env.testbed()
        .control
        .enforce_rbac_yaml(CHART_ROLE, "cryptomeria", "cryptomeria-bff")
        .expect("the Role parses");
    let (bff, _) = Bff::start_with(
        &env.kubeconfig,
        |s| {
            s.node_host = None; // nodeHost auto-detection: Nodes are forbidden under this Role
            s.reconcile.relayer_verify_delay = std::time::Duration::from_millis(50);
            s.reconcile.reconcile_poll_interval = std::time::Duration::from_millis(20);
        },
        |_| axum::Router::new(),
    )
    .await;
    bff.wait_readyz(200).await;
    for path in [
        "/api/v1/system/status",
        "/api/v1/system/ports",
        "/api/v1/system/topology",
        "/api/v1/system/k8s/pods",
        "/api/v1/system/k8s/configmaps",
        "/api/v1/system/k8s/logs?component=gwc&tail=5",
        "/api/v1/chains",
        "/api/v1/chains/gwc/status",
    ] {
        let (code, body) = bff.get_text(path).await;
        assert_eq!(code, 200, "{path} under the chart's Role: {body}");
    }
    let (_, ports) = bff.get("/api/v1/system/ports").await;
    assert!(ports["data"]["nodeHost"].is_string(), "the kubeconfig's host stands in for Nodes: {ports:#}");

    let (code, preflight) = bff.get("/api/v1/system/preflight").await;
    assert_eq!(code, 200);
    let (status, message) = preflight_check(&preflight, "rbacRights");
    assert_eq!(status, "fail", "{message}");
    for missing in [
        "get pods/exec",
        "list statefulsets (apps)",
        "patch deployments/scale (apps)",
        "get namespaces",
        "list nodes",
    ] {
        assert!(message.contains(missing), "{missing} not named: {message}");
    }
    assert!(!message.contains("create pods/exec"), "the chart grants create: {message}");
    let (status, message) = preflight_check(&preflight, "namespaceExists");
    assert_eq!(status, "warn", "{message}");
    let (status, message) = preflight_check(&preflight, "execPermitted");
    assert_eq!(status, "fail", "{message}");
    assert!(message.contains("cannot get resource \"pods/exec\""), "{message}");
    assert_eq!(preflight["data"]["readyToStart"], false);

    let run = |path: &'static str| {
        let bff = &bff;
        async move {
            let (code, accepted) = bff.post(path, &serde_json::json!({})).await;
            assert_eq!(code, 202, "{accepted}");
            let id = accepted["jobId"].as_str().unwrap().to_string();
            bff.until(&format!("/api/v1/system/jobs/{id}"), "the job ends", |_, b| {
                b["data"]["finishedAt"].is_string()
            })
            .await["data"]
                .clone()
        }
    };
    let start = run("/api/v1/system/start").await;
    assert_eq!(
        (start["status"].as_str(), start["error"]["code"].as_str()),
        (Some("failed"), Some("K8S_FORBIDDEN")),
        "{start:#}"
    );
    let said = start["error"]["message"].as_str().unwrap();
    assert!(
        said.contains("cannot get resource \"pods/exec\"") && said.contains("grant get and create"),
        "{said}"
    );
    let stop = run("/api/v1/system/stop").await;
    assert_eq!(stop["error"]["code"], "K8S_FORBIDDEN", "{stop:#}");
    assert!(
        stop["error"]["message"].as_str().unwrap().contains("cannot list resource \"statefulsets\""),
        "{stop:#}"
    );
    let (code, body) = bff.get("/api/v1/system/k8s/services").await;
    assert_eq!(code, 200, "{body}");

    // The chart's Role with `get` on pods/exec (what kube-rs needs) starts the system.
    let fixed = CHART_ROLE
        .replace("resources: [pods/exec], verbs: [create]", "resources: [pods/exec], verbs: [get, create]");
    env.testbed()
        .control
        .enforce_rbac_yaml(&fixed, "cryptomeria", "cryptomeria-bff")
        .expect("the Role parses");
    let start = run("/api/v1/system/start").await;
    assert_eq!(start["status"], "succeeded", "{start:#}");
}

/// What Cryptomeria-core's chart creates for release `cryptomeria` (kind, name), read from its
/// templates: `{fullname}-…` objects with fullname = the release name, and the names it
/// hard-codes (the faucet's, and its own BFF ServiceAccount and Role).
const CHART_OBJECTS: &[(&str, &str)] = &[
    ("ServiceAccount", "cryptomeria-bff"),
    ("Role", "cryptomeria-bff-system"),
    ("RoleBinding", "cryptomeria-bff-system"),
    ("ServiceAccount", "cryptomeria-sa"),
    ("ClusterRole", "cryptomeria-secret-manager-crole"),
    ("ClusterRoleBinding", "cryptomeria-secret-manager-crbinding"),
    ("Job", "cryptomeria-mnemonic-generator"),
    ("Secret", "cryptomeria-mnemonics"),
    ("ConfigMap", "cryptomeria-scripts"),
    ("ConfigMap", "cryptomeria-genesis-script"),
    ("ConfigMap", "faucet-config"),
    ("Service", "cryptomeria-chain-headless"),
    ("Service", "cryptomeria-gwc"),
    ("Service", "cryptomeria-mdsc"),
    ("Service", "cryptomeria-genesis-server"),
    ("Service", "faucet"),
    ("StatefulSet", "cryptomeria-gwc"),
    ("StatefulSet", "cryptomeria-mdsc"),
    ("Deployment", "cryptomeria-relayer"),
    ("Deployment", "cryptomeria-genesis-server"),
    ("Deployment", "faucet"),
    ("PersistentVolumeClaim", "cryptomeria-relayer-data"),
];

/// The chart's per-data-chain objects (`cryptomeria-fdsc-<i>` StatefulSets and Services).
fn is_chart_fdsc_object(kind: &str, name: &str) -> bool {
    matches!(kind, "StatefulSet" | "Service")
        && name.strip_prefix("cryptomeria-fdsc-").is_some_and(|i| i.parse::<u32>().is_ok())
}

#[test]
fn no_object_in_deploy_has_the_kind_and_name_of_an_object_the_chart_creates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let docs: Vec<Value> = serde_saphyr::from_multiple(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{} parses: {e}", path.display()));
        for doc in docs {
            let (kind, name) = (doc["kind"].as_str().unwrap(), doc["metadata"]["name"].as_str().unwrap());
            seen.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                kind.to_string(),
                name.to_string(),
            ));
        }
    }
    assert!(seen.len() >= 6, "deploy/ holds the RBAC objects and the optional Deployment: {seen:?}");
    let clashes: Vec<_> = seen
        .iter()
        .filter(|(_, kind, name)| {
            CHART_OBJECTS.contains(&(kind.as_str(), name.as_str())) || is_chart_fdsc_object(kind, name)
        })
        .collect();
    assert!(
        clashes.is_empty(),
        "objects in deploy/ that the chart also creates (Helm owns them): {clashes:?}"
    );
}
