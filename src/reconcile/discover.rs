//! discover: the relayer pod and the Running chain pods, read from the cache (no API
//! request, no exec). Everything later steps touch is named here. Like `just start-system`'s
//! `kubectl wait --for=condition=ready pod --all`, it first waits — on the cache's watch
//! events, up to `PODS_READY_TIMEOUT` — until the pods the run touches are Running and Ready,
//! so a start posted right after `helm install` succeeds instead of failing at once.

use super::journal::Journal;
use super::run::{Run, Target, Topology};
use crate::cache::{Readiness, views};
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::k8s::script::is_plain;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use std::sync::Arc;

use crate::chart::GWC;

fn instance(p: &Pod) -> Option<String> {
    p.metadata.labels.as_ref()?.get(crate::chart::INSTANCE_LABEL).cloned()
}

fn name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

fn usable(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_none() && views::phase(p) == "Running" && views::is_ready(p)
}

/// The topology in `pods`, or why the system can't be reconciled.
/// Why discover could not find the system a run works on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The relayer pod exists but is not Running and Ready.
    #[error("relayer pod {pod} is {phase}{}", if *ready { "" } else { " and not Ready" })]
    RelayerNotReady { pod: String, phase: String, ready: bool },
    /// No pod is the relayer.
    #[error(
        "no relayer pod (label {}=relayer or name prefix {})",
        crate::chart::COMPONENT_LABEL,
        crate::chart::relayer_workload(release)
    )]
    NoRelayer { release: String },
    /// A chain pod's instance label is not safe to pass to a shell.
    #[error("chain id {0:?} is not a plain name")]
    UnsafeChainId(String),
    /// gwc is not running: every link starts at it.
    #[error("no Running gwc pod: every link starts at gwc")]
    NoGateway,
    /// The chain a connect job targets is not running.
    #[error("chain {0} has no Running chain pod (or is gwc itself)")]
    NoTarget(String),
    /// The pods the run touches did not become Running and Ready in time.
    #[error("pods not Ready after {}: {}", humantime::format_duration(*after), waiting.join(", "))]
    PodsNotReady { after: std::time::Duration, waiting: Vec<String> },
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RelayerNotReady { .. } => ErrorCode::RelayerNotReady,
            Self::NoRelayer { .. } => ErrorCode::RelayerNotFound,
            Self::UnsafeChainId(_) => ErrorCode::ValidationError,
            Self::NoGateway | Self::NoTarget(_) => ErrorCode::ChainNotFound,
            Self::PodsNotReady { .. } => ErrorCode::Timeout,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let details = match &e {
            Error::RelayerNotReady { pod, .. } => {
                json!({"pod": pod, "hint": "wait for the relayer Deployment's pod to be Ready"})
            }
            Error::NoRelayer { .. } => {
                json!({"hint": "install the chart; its relayer Deployment creates the pod"})
            }
            Error::NoTarget(id) => json!({"chainId": id}),
            Error::PodsNotReady { waiting, .. } => json!({"notReady": waiting}),
            Error::UnsafeChainId(_) | Error::NoGateway => json!({}),
        };
        Failure::new(e.code(), e.to_string()).with_details(details)
    }
}

pub fn topology(pods: &[Arc<Pod>], release: &str, target: &Target) -> Result<Topology, Error> {
    let relayers: Vec<&Arc<Pod>> = pods
        .iter()
        .filter(|p| {
            p.metadata.labels.as_ref().and_then(|l| l.get(crate::chart::COMPONENT_LABEL)).map(String::as_str)
                == Some("relayer")
        })
        .collect();
    let relayer = match relayers.iter().find(|p| usable(p)) {
        Some(p) => p,
        None => match relayers.first().copied().or_else(|| views::relayer_pod(pods, release)) {
            Some(p) if usable(p) => p,
            Some(p) => {
                return Err(Error::RelayerNotReady {
                    pod: name(p),
                    phase: views::phase(p),
                    ready: views::is_ready(p),
                });
            }
            None => {
                return Err(Error::NoRelayer { release: release.to_string() });
            }
        },
    };
    let running: Vec<&Arc<Pod>> =
        views::chain_pods(pods).into_iter().filter(|p| views::phase(p) == "Running").collect();
    let mut chains: Vec<String> = running.iter().filter_map(|p| instance(p)).collect();
    chains.dedup();
    if let Some(bad) = chains.iter().find(|c| !is_plain(c)) {
        return Err(Error::UnsafeChainId(bad.clone()));
    }
    let gwc_pod = running
        .iter()
        .find(|p| instance(p).as_deref() == Some(GWC))
        .map(|p| name(p))
        .ok_or(Error::NoGateway)?;
    let storage = chains.iter().filter(|c| *c != GWC).cloned();
    let targets: Vec<String> = match target {
        Target::All => storage.collect(),
        Target::Chain(id) if id != GWC && chains.contains(id) => vec![id.clone()],
        Target::Chain(id) => {
            return Err(Error::NoTarget(id.clone()));
        }
    };
    Ok(Topology { relayer_pod: name(relayer), gwc_pod, chains, targets })
}

pub async fn run(run: &Run, journal: &dyn Journal) -> Result<StepOutcome, Failure> {
    let ctx = &run.ctx;
    // The cache is the only source: wait until it has synced (a fresh BFF) before judging.
    let mut changed = ctx.cache.changed();
    while let Readiness::NotReady(reasons) = ctx.cache.health.readiness() {
        journal.progress(&format!("waiting for the cache: {}", reasons.join("; ")));
        let _ = tokio::time::timeout(run.settings().reconcile_poll_interval, changed.changed()).await;
    }
    let pods = wait_for_pods(run, journal).await?;
    let topo = topology(&pods, run.release(), &run.params().target)?;
    let not_running: Vec<String> = views::chain_pods(&pods)
        .into_iter()
        .filter(|p| views::phase(p) != "Running")
        .map(|p| format!("{} ({})", name(p), views::phase(p)))
        .collect();
    if !not_running.is_empty() {
        journal.warn(&format!("chain pods not Running are left out of this run: {}", not_running.join(", ")));
    }
    let message = format!(
        "relayer {}; chains {}; targets {}",
        topo.relayer_pod,
        topo.chains.join(", "),
        if topo.targets.is_empty() { "none".to_string() } else { topo.targets.join(", ") }
    );
    journal.info(&message);
    run.set_topology(topo);
    Ok(StepOutcome::Done(message))
}

/// Why a pod is not usable yet: `name (Pending: ContainerCreating)`, `name (Terminating)`.
fn waiting_on(p: &Pod) -> String {
    let state = if p.metadata.deletion_timestamp.is_some() {
        "Terminating".to_string()
    } else {
        let reason = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
        match (views::phase(p), reason, views::is_ready(p)) {
            (phase, Some(reason), _) => format!("{phase}: {reason}"),
            (phase, None, false) if phase == "Running" => "Running, not Ready".into(),
            (phase, None, _) => phase,
        }
    };
    format!("{} ({state})", name(p))
}

/// The pods this run must wait for: none when every one it touches is usable.
pub fn not_ready(pods: &[Arc<Pod>], target: &Target) -> Vec<String> {
    let is_relayer = |p: &&Arc<Pod>| {
        p.metadata.labels.as_ref().and_then(|l| l.get(crate::chart::COMPONENT_LABEL)).map(String::as_str)
            == Some("relayer")
    };
    let mut waiting = Vec::new();
    let relayers: Vec<&Arc<Pod>> = pods.iter().filter(is_relayer).collect();
    if relayers.is_empty() {
        waiting.push("no relayer pod yet".to_string());
    } else if !relayers.iter().any(|p| usable(p)) {
        waiting.extend(relayers.iter().map(|p| waiting_on(p)));
    }
    let chains = views::chain_pods(pods);
    if chains.is_empty() {
        waiting.push("no chain pods yet".to_string());
    }
    let in_scope = |p: &&&Arc<Pod>| match target {
        Target::All => true,
        Target::Chain(id) => matches!(instance(p).as_deref(), Some(i) if i == GWC || i == id),
    };
    waiting.extend(chains.iter().filter(in_scope).filter(|p| !usable(p)).map(|p| waiting_on(p)));
    waiting
}

/// Waits on the cache's watch events until `not_ready` is empty; TIMEOUT names what is not.
async fn wait_for_pods(run: &Run, journal: &dyn Journal) -> Result<Vec<Arc<Pod>>, Failure> {
    let target = run.params().target.clone();
    let waited = wait_on_pods(run, journal, "pods to be Ready", |pods| not_ready(pods, &target)).await;
    match waited {
        Ok((pods, waited)) => {
            if waited {
                journal.info("every pod the run touches is Running and Ready");
            }
            Ok(pods)
        }
        Err(waiting) => Err(Error::PodsNotReady { after: run.settings().pods_ready_timeout, waiting }.into()),
    }
}

/// Waits on the cache's watch events, up to `PODS_READY_TIMEOUT`, until `pending` finds
/// nothing in the namespace's pods, logging `waiting for {what}: …` whenever the pending set
/// changes (never per poll). Ok: the pods, and whether it had to wait; Err: what was still
/// pending at the deadline.
pub(super) async fn wait_on_pods(
    run: &Run,
    journal: &dyn Journal,
    what: &str,
    pending: impl Fn(&[Arc<Pod>]) -> Vec<String>,
) -> Result<(Vec<Arc<Pod>>, bool), Vec<String>> {
    let ctx = &run.ctx;
    let settings = run.settings();
    let deadline = tokio::time::Instant::now() + settings.pods_ready_timeout;
    let mut changed = ctx.cache.changed();
    let mut said = String::new();
    loop {
        let pods = ctx.cache.objects().pods.state();
        let waiting = pending(&pods);
        if waiting.is_empty() {
            return Ok((pods, !said.is_empty()));
        }
        let line = format!("waiting for {what}: {}", waiting.join(", "));
        if line != said {
            journal.info(&line);
            journal.progress(&line);
            said = line;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(waiting);
        }
        // A watch event or the poll interval, whichever comes first (readiness can also change
        // by time alone, e.g. a pod's deletion finishing).
        let wait = settings.reconcile_poll_interval.min(deadline - now);
        let _ = tokio::time::timeout(wait, changed.changed()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, labels: serde_json::Value, phase: &str, ready: bool) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": labels},
                "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
            }))
            .unwrap(),
        )
    }

    fn chain(id: &str, phase: &str) -> Arc<Pod> {
        pod(
            &format!("cryptomeria-{id}-0"),
            json!({"app.kubernetes.io/category": "chain", "app.kubernetes.io/instance": id}),
            phase,
            phase == "Running",
        )
    }

    fn relayer(ready: bool) -> Arc<Pod> {
        pod("cryptomeria-relayer-abc", json!({"app.kubernetes.io/component": "relayer"}), "Running", ready)
    }

    #[test]
    fn a_run_waits_for_the_relayer_and_the_chain_pods_it_touches() {
        assert_eq!(not_ready(&[], &Target::All), ["no relayer pod yet", "no chain pods yet"]);
        let pods = vec![chain("gwc", "Running"), chain("fdsc-0", "Pending"), relayer(false)];
        assert_eq!(
            not_ready(&pods, &Target::All),
            ["cryptomeria-relayer-abc (Running, not Ready)", "cryptomeria-fdsc-0-0 (Pending)"]
        );
        let pods = vec![
            chain("gwc", "Running"),
            chain("fdsc-0", "Pending"),
            chain("mdsc", "Running"),
            relayer(true),
        ];
        assert!(not_ready(&pods, &Target::Chain("mdsc".into())).is_empty(), "fdsc-0 is not this run's");
        assert_eq!(not_ready(&pods, &Target::All), ["cryptomeria-fdsc-0-0 (Pending)"]);
    }

    #[test]
    fn finds_relayer_gwc_and_orders_targets() {
        let pods = vec![
            chain("fdsc-1", "Running"),
            chain("gwc", "Running"),
            chain("mdsc", "Running"),
            relayer(true),
        ];
        let t = topology(&pods, "cryptomeria", &Target::All).unwrap();
        assert_eq!(t.relayer_pod, "cryptomeria-relayer-abc");
        assert_eq!(t.gwc_pod, "cryptomeria-gwc-0");
        assert_eq!(t.chains, ["gwc", "mdsc", "fdsc-1"]);
        assert_eq!(t.targets, ["mdsc", "fdsc-1"]);
        let one = topology(&pods, "cryptomeria", &Target::Chain("fdsc-1".into())).unwrap();
        assert_eq!(one.targets, ["fdsc-1"]);
    }

    #[test]
    fn pending_chains_are_left_out() {
        let pods = vec![chain("gwc", "Running"), chain("fdsc-0", "Pending"), relayer(true)];
        assert!(topology(&pods, "cryptomeria", &Target::All).unwrap().targets.is_empty());
    }

    #[test]
    fn missing_or_unready_relayer_and_unknown_targets_fail_with_their_codes() {
        let code = |pods: Vec<Arc<Pod>>, t: Target| topology(&pods, "cryptomeria", &t).unwrap_err().code();
        assert_eq!(code(vec![chain("gwc", "Running")], Target::All), ErrorCode::RelayerNotFound);
        assert_eq!(
            code(vec![chain("gwc", "Running"), relayer(false)], Target::All),
            ErrorCode::RelayerNotReady
        );
        assert_eq!(
            code(vec![chain("mdsc", "Running"), relayer(true)], Target::All),
            ErrorCode::ChainNotFound
        );
        let pods = vec![chain("gwc", "Running"), relayer(true)];
        assert_eq!(code(pods.clone(), Target::Chain("fdsc-9".into())), ErrorCode::ChainNotFound);
        assert_eq!(code(pods, Target::Chain("gwc".into())), ErrorCode::ChainNotFound);
    }
}
