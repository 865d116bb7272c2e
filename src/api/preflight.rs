//! `/system/preflight`: every precondition of `/system/start`, each pass / warn / fail with
//! an explanation and a hint. Unlike other reads it probes live: one GET of the namespace,
//! one batched exec in the relayer pod (proving exec permission, checking each chain's
//! mnemonic file and relayer key at once), and a balance read per chain.

use super::error::ApiError;
use super::system::namespace_cache;
use crate::app::AppState;
use crate::cache::views;
use axum::extract::State;
use axum::response::Response;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::Api;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preflight))
}

/// Below this balance a relayer key gets a low-funds warning: one `transact link` spends a
/// few thousand uatom at the chart's gas price (0.001uatom) and the chart funds 100000uatom.
const LOW_FUNDS_UATOM: u128 = 20_000;

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    pub name: String,
    pub status: Verdict,
    pub message: String,
    pub hint: Option<String>,
}

fn check(name: &str, status: Verdict, message: impl Into<String>, hint: Option<&str>) -> Check {
    Check { name: name.into(), status, message: message.into(), hint: hint.map(str::to_string) }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preflight {
    pub namespace: String,
    /// True when no check failed (warnings allowed).
    pub ready_to_start: bool,
    pub checks: Vec<Check>,
}

/// Checks every precondition of `/system/start`.
#[utoipa::path(get, path = "/preflight", tag = "system", responses((status = 200, description = "OK", body = super::Success<Preflight>)))]
async fn preflight(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ns = state.settings.namespace.clone();
    let cache = namespace_cache(&state)?;
    let pods = cache.pods.state();
    let services = cache.services.state();
    let mut checks = Vec::new();

    checks.push(match state.cache.health.reachable() {
        Ok(()) => check("apiReachable", Verdict::Pass, "the Kubernetes API server answers", None),
        Err(e) => check(
            "apiReachable",
            Verdict::Fail,
            format!("the Kubernetes API server does not answer: {e}"),
            Some("check the kubeconfig and that the cluster is up"),
        ),
    });
    checks.push(match Api::<Namespace>::all(state.kube.clone()).get(&ns).await {
        Ok(_) => check("namespaceExists", Verdict::Pass, format!("namespace {ns} exists"), None),
        Err(kube::Error::Api(s)) if s.code == 404 => check(
            "namespaceExists",
            Verdict::Fail,
            format!("namespace {ns} does not exist"),
            Some("install the chart (helm install) or set K8S_NAMESPACE"),
        ),
        Err(kube::Error::Api(s)) if s.code == 403 => check(
            "namespaceExists",
            Verdict::Warn,
            format!("not allowed to read namespace {ns}; assuming it exists since its pods are visible"),
            Some("grant get on namespaces to verify"),
        ),
        Err(e) => {
            check("namespaceExists", Verdict::Fail, format!("could not read namespace {ns}: {e}"), None)
        }
    });

    let relayer = views::relayer_pod(&pods, &state.settings.release);
    let relayer_ok = relayer.is_some_and(|p| views::phase(p) == "Running" && views::is_ready(p));
    checks.push(match relayer {
        None => check(
            "relayerReady",
            Verdict::Fail,
            "no relayer pod (label app.kubernetes.io/component=relayer)",
            Some("install the chart; the relayer Deployment creates it"),
        ),
        Some(p) if relayer_ok => check(
            "relayerReady",
            Verdict::Pass,
            format!("{} is Running and Ready", p.metadata.name.as_deref().unwrap_or("")),
            None,
        ),
        Some(p) => check(
            "relayerReady",
            Verdict::Fail,
            format!(
                "{} is {} and {}",
                p.metadata.name.as_deref().unwrap_or(""),
                views::phase(p),
                if views::is_ready(p) { "Ready" } else { "not Ready" }
            ),
            Some("wait for the relayer pod (kubectl describe pod) before starting"),
        ),
    });

    let chains = views::chain_pods(&pods);
    let chain_ids: Vec<String> = chains
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(views::INSTANCE_LABEL).cloned())
        .collect();
    let not_running: Vec<String> = chains
        .iter()
        .filter(|p| views::phase(p) != "Running")
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    checks.push(match (chains.is_empty(), not_running.is_empty()) {
        (true, _) => check(
            "chainPodsRunning",
            Verdict::Fail,
            "no chain pods (label app.kubernetes.io/category=chain)",
            Some("install the chart"),
        ),
        (false, true) => check(
            "chainPodsRunning",
            Verdict::Pass,
            format!("{} chain pods Running: {}", chains.len(), chain_ids.join(", ")),
            None,
        ),
        (false, false) => check(
            "chainPodsRunning",
            Verdict::Fail,
            format!("not Running: {}", not_running.join(", ")),
            Some("wait for the chain pods to start"),
        ),
    });
    checks.push(if chain_ids.iter().any(|c| c == "gwc") {
        check("gwcPresent", Verdict::Pass, "the gateway chain gwc is present", None)
    } else {
        check(
            "gwcPresent",
            Verdict::Fail,
            "no gwc chain pod: every link starts at gwc",
            Some("install the chart with the gateway chain"),
        )
    });

    let (host, source) = state.directory.node_host();
    let missing_ports: Vec<String> = chain_ids
        .iter()
        .filter(|id| {
            let svc = views::chain_service(&services, id);
            let ports = svc.map(|s| views::named_ports(s)).unwrap_or_default();
            !views::CHAIN_PORT_NAMES.iter().all(|n| ports.get(*n).is_some_and(|p| p.node_port.is_some()))
        })
        .cloned()
        .collect();
    checks.push(match (&host, missing_ports.is_empty()) {
        (None, _) => check(
            "nodePortsResolvable",
            Verdict::Fail,
            "no node host to reach NodePorts on",
            Some("set NODE_HOST"),
        ),
        (Some(h), true) => check(
            "nodePortsResolvable",
            Verdict::Pass,
            format!("NodePorts of every chain reachable at {h} (from {source})"),
            None,
        ),
        (Some(_), false) => check(
            "nodePortsResolvable",
            Verdict::Fail,
            format!("chains without rpc/api/grpc NodePorts: {}", missing_ports.join(", ")),
            Some("check the chain Services (type NodePort, port names rpc/api/grpc)"),
        ),
    });

    match relayer.and_then(|p| p.metadata.name.clone()).filter(|_| relayer_ok) {
        None => checks.push(check(
            "execPermitted",
            Verdict::Fail,
            "skipped: no Running and Ready relayer pod to exec into",
            None,
        )),
        Some(pod) => checks.extend(relayer_probe(&state, &pod, &chain_ids, host.as_deref(), &services).await),
    }

    let ready_to_start = checks.iter().all(|c| c.status != Verdict::Fail);
    Ok(super::ok(Preflight { namespace: ns, ready_to_start, checks }))
}

/// Label values are `[A-Za-z0-9._-]`; anything else never reaches a shell.
fn shell_safe(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// One exec in the relayer pod reports, per chain, the mnemonic file and the relayer key.
/// The mnemonic is tested for existence only; its content never leaves the pod.
async fn relayer_probe(
    state: &AppState,
    pod: &str,
    chain_ids: &[String],
    host: Option<&str>,
    services: &[std::sync::Arc<k8s_openapi::api::core::v1::Service>],
) -> Vec<Check> {
    let ids: Vec<&str> = chain_ids.iter().map(String::as_str).filter(|c| shell_safe(c)).collect();
    let script = format!(
        "for c in {}; do if [ -f /etc/mnemonics/$c.relayer.mnemonic ]; then echo \"mnemonic $c present\"; else echo \"mnemonic $c missing\"; fi; \
         if a=$(rly keys show $c relayer 2>/dev/null); then echo \"key $c $a\"; else echo \"key $c -\"; fi; done",
        ids.join(" ")
    );
    let api: Api<Pod> = Api::namespaced(state.kube.clone(), &state.settings.namespace);
    let out = match crate::k8s::exec(
        &api,
        pod,
        None,
        &["sh", "-c", &script],
        None,
        state.settings.timeouts.exec_timeout,
    )
    .await
    {
        Ok(out) if out.code == 0 => out,
        Ok(out) => {
            return vec![check(
                "execPermitted",
                Verdict::Fail,
                format!("exec in {pod} ran but exited {}", out.code),
                Some("check the relayer image has sh"),
            )];
        }
        Err(e) => {
            return vec![check(
                "execPermitted",
                Verdict::Fail,
                format!("exec in {pod} failed: {e}"),
                Some("the BFF needs create on pods/exec (deploy/rbac.yaml)"),
            )];
        }
    };
    let mut checks = vec![check("execPermitted", Verdict::Pass, format!("exec in {pod} works"), None)];
    let mut missing = Vec::new();
    let mut keys = BTreeMap::new();
    for line in out.stdout.lines() {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["mnemonic", c, "missing"] => missing.push(c.to_string()),
            ["key", c, addr] if *addr != "-" => {
                keys.insert(c.to_string(), addr.to_string());
            }
            _ => {}
        }
    }
    checks.push(if missing.is_empty() {
        check(
            "mnemonicsPresent",
            Verdict::Pass,
            format!("relayer mnemonic files present for {}", ids.join(", ")),
            None,
        )
    } else {
        check(
            "mnemonicsPresent",
            Verdict::Fail,
            format!("missing /etc/mnemonics/<chain>.relayer.mnemonic for: {}", missing.join(", ")),
            Some("check the mnemonics Secret and its mount in the relayer pod"),
        )
    });
    checks.push(relayer_funds(state, &ids, &keys, host, services).await);
    checks
}

/// Reads each restored relayer key's uatom balance through the chain's REST NodePort.
async fn relayer_funds(
    state: &AppState,
    ids: &[&str],
    keys: &BTreeMap<String, String>,
    host: Option<&str>,
    services: &[std::sync::Arc<k8s_openapi::api::core::v1::Service>],
) -> Check {
    if keys.is_empty() {
        // Not a blocker: initRelayer restores the keys; their balances are checked from then on.
        return check(
            "relayerFunds",
            Verdict::Pass,
            "relayer keys not restored yet, so balances are not checked; initRelayer restores them",
            Some("run preflight again after /system/start to check the relayer balances"),
        );
    }
    let reads = ids.iter().filter_map(|id| {
        let addr = keys.get(*id)?.clone();
        let api = views::chain_service(services, id).and_then(|s| views::chain_endpoints(s, host).0.api);
        let (http, timeout) = (state.http.clone(), state.settings.timeouts.chain_status_timeout);
        Some(async move {
            let Some(api) = api else { return (id.to_string(), Err("no REST endpoint".to_string())) };
            let url = format!("{api}/cosmos/bank/v1beta1/balances/{addr}/by_denom?denom=uatom");
            let result = async {
                let body: serde_json::Value = http
                    .get(&url)
                    .timeout(timeout)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?
                    .json()
                    .await
                    .map_err(|e| e.to_string())?;
                body["balance"]["amount"]
                    .as_str()
                    .and_then(|a| a.parse::<u128>().ok())
                    .ok_or_else(|| "no balance in the answer".to_string())
            };
            (id.to_string(), result.await)
        })
    });
    let results = futures::future::join_all(reads).await;
    let low: Vec<String> = results
        .iter()
        .filter_map(|(id, r)| match r {
            Ok(amount) if *amount < LOW_FUNDS_UATOM => Some(format!("{id} ({amount}uatom)")),
            Err(e) => Some(format!("{id} (unknown: {e})")),
            _ => None,
        })
        .collect();
    if low.is_empty() {
        check(
            "relayerFunds",
            Verdict::Pass,
            format!("relayer keys hold at least {LOW_FUNDS_UATOM}uatom on every chain"),
            None,
        )
    } else {
        check(
            "relayerFunds",
            Verdict::Warn,
            format!("low or unknown relayer funds: {}", low.join(", ")),
            Some("fund the relayer keys; links fail without fees"),
        )
    }
}
