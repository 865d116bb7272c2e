//! `/system/preflight`: every precondition of `/system/start`, each pass / warn / fail / skip
//! with an explanation and a hint. Unlike other reads it probes live: one GET of the
//! namespace, the relayer probe (one exec: exec permission, each chain's mnemonic file and
//! relayer key), and a balance read per chain with a restored key.

use super::Reads;
use super::relayer::ProbeError;
use crate::cache::directory::Snapshot;
use crate::cache::views;
use crate::k8s::script;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// Nothing was checked (the message says why); never counts as a pass or a failure.
    Skip,
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
pub async fn preflight(reads: &Reads) -> Preflight {
    let ns = reads.namespace.clone();
    let directory = reads.directory.snapshot();
    let (pods, services) = (&directory.pods, &directory.services);
    let mut checks = Vec::new();

    checks.push(match reads.cache.health.reachable() {
        Ok(()) => check("apiReachable", Verdict::Pass, "the Kubernetes API server answers", None),
        Err(e) => check(
            "apiReachable",
            Verdict::Fail,
            format!("the Kubernetes API server does not answer: {e}"),
            Some("check the kubeconfig and that the cluster is up"),
        ),
    });
    checks.push(match Api::<Namespace>::all(reads.kube.clone()).get(&ns).await {
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

    checks.push(rights_check(reads).await);

    let relayer = views::relayer_pod(pods, &reads.release);
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

    let chains = views::chain_pods(pods);
    let chain_ids: Vec<String> = chains
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned())
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

    let (host, source) = directory.node_host();
    let missing_ports: Vec<String> = chain_ids
        .iter()
        .filter(|id| {
            let svc = views::chain_service(services, id);
            let ports = svc.map(|s| views::named_ports(s)).unwrap_or_default();
            !crate::chart::CHAIN_PORT_NAMES
                .iter()
                .all(|n| ports.get(*n).is_some_and(|p| p.node_port.is_some()))
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
        Some(pod) => checks.extend(relayer_checks(reads, &directory, &pod, &chain_ids).await),
    }

    let ready_to_start = checks.iter().all(|c| c.status != Verdict::Fail);
    Preflight { namespace: ns, ready_to_start, checks }
}

/// The rights of deploy/rbac.yaml the BFF's identity lacks, each with what it disables: a
/// missing right start needs fails, others warn.
async fn rights_check(reads: &Reads) -> Check {
    let mut asked: Vec<super::rights::Right> = super::rights::RIGHTS.to_vec();
    if reads.watch_nodes {
        asked.extend_from_slice(super::rights::NODES);
    }
    let lacking = match super::rights::missing(&reads.kube, &reads.namespace, &asked).await {
        Ok(lacking) => lacking,
        Err(e) => {
            return check(
                "rbacRights",
                Verdict::Skip,
                format!("the API server could not be asked (SelfSubjectAccessReview): {e}"),
                None,
            );
        }
    };
    let describe = |required: bool| {
        let mut by_use: Vec<(&str, Vec<String>)> = Vec::new();
        for r in lacking.iter().filter(|r| r.required == required) {
            match by_use.iter_mut().find(|(u, _)| *u == r.needed_by) {
                Some((_, names)) => names.push(r.name()),
                None => by_use.push((r.needed_by, vec![r.name()])),
            }
        }
        by_use
            .iter()
            .map(|(u, names)| format!("{} (for {u})", names.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let hint = Some(
        "grant what deploy/rbac.yaml grants (kubectl auth can-i --list --as=system:serviceaccount:<ns>:<sa>)",
    );
    if lacking.iter().any(|r| r.required) {
        let also = describe(false);
        let also = if also.is_empty() { String::new() } else { format!("; also {also}") };
        check("rbacRights", Verdict::Fail, format!("missing rights: {}{also}", describe(true)), hint)
    } else if !lacking.is_empty() {
        check("rbacRights", Verdict::Warn, format!("missing rights: {}", describe(false)), hint)
    } else {
        check(
            "rbacRights",
            Verdict::Pass,
            format!("all {} rights the BFF uses are granted", asked.len()),
            None,
        )
    }
}

/// The relayer probe (one exec, under `RLY_HOME`) proves exec permission and reports each
/// chain's mnemonic file and relayer key. Mnemonics are tested for existence only; their
/// content never leaves the pod.
async fn relayer_checks(
    reads: &Reads,
    directory: &Snapshot<'_>,
    pod: &str,
    chain_ids: &[String],
) -> Vec<Check> {
    let ids: Vec<String> = chain_ids.iter().filter(|c| script::is_plain(c)).cloned().collect();
    let st = match super::relayer::probe(&reads.exec, pod, &reads.rly_home, &ids).await {
        Ok(st) => st,
        Err(ProbeError::Exited { code, .. }) => {
            return vec![check(
                "execPermitted",
                Verdict::Fail,
                format!("exec in {pod} ran but exited {code}"),
                Some("check the relayer image has sh"),
            )];
        }
        Err(ProbeError::Exec(e)) => {
            return vec![check(
                "execPermitted",
                Verdict::Fail,
                format!("exec in {pod} failed: {e}"),
                Some("the BFF needs get and create on pods/exec (deploy/rbac.yaml)"),
            )];
        }
    };
    let mut checks = vec![check("execPermitted", Verdict::Pass, format!("exec in {pod} works"), None)];
    let missing: Vec<&str> = ids.iter().filter(|c| !st.mnemonics.contains(*c)).map(String::as_str).collect();
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
    checks.push(relayer_funds(reads, directory, &ids, &st.keys).await);
    checks
}

/// Reads each restored relayer key's uatom balance through the chain's REST NodePort.
async fn relayer_funds(
    reads: &Reads,
    directory: &Snapshot<'_>,
    ids: &[String],
    keys: &BTreeMap<String, String>,
) -> Check {
    if keys.is_empty() {
        // Not a blocker: initRelayer restores the keys; their balances are checked from then on.
        return check(
            "relayerFunds",
            Verdict::Skip,
            "relayer keys not restored yet, so balances are not checked; initRelayer restores them",
            Some("run preflight again after /system/start to check the relayer balances"),
        );
    }
    let client = reads.chain_status.client();
    let balances = ids.iter().filter_map(|id| {
        let addr = keys.get(id)?.clone();
        let api = directory.upstream_endpoints(id).api;
        Some(async move {
            let Some(api) = api else { return (id.to_string(), Err("no REST endpoint".to_string())) };
            let path = format!("/cosmos/bank/v1beta1/balances/{addr}/by_denom");
            let result = async {
                let body =
                    client.rest_get(&api, &path, &[("denom", "uatom")]).await.map_err(|e| e.to_string())?;
                body["balance"]["amount"]
                    .as_str()
                    .and_then(|a| a.parse::<u128>().ok())
                    .ok_or_else(|| "no balance in the answer".to_string())
            };
            (id.to_string(), result.await)
        })
    });
    let results = futures::future::join_all(balances).await;
    let threshold = u128::from(reads.ibc.relayer_low_balance_uatom);
    let low: Vec<String> = results
        .iter()
        .filter_map(|(id, r)| match r {
            Ok(amount) if *amount < threshold => Some(format!("{id} ({amount}uatom)")),
            Err(e) => Some(format!("{id} (unknown: {e})")),
            _ => None,
        })
        .collect();
    if low.is_empty() {
        check(
            "relayerFunds",
            Verdict::Pass,
            format!("relayer keys hold at least {threshold}uatom on every chain"),
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
