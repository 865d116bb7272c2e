//! `system.stop` and `system.resume` (what the chart's `just stop` / `just resume` do): scale the
//! release's StatefulSets and Deployments to 0 and back through the scale subresource. Data
//! stays in the PVCs; the relayer's config emptyDir does not, which is why resume ends with
//! the start pipeline.
//!
//! Stop records each workload's replicas in an annotation before scaling it down, so resume
//! restores what ran (not `just resume`'s fixed 1). Both are observe → plan → act passes like
//! the other steps: a stopped system stops again with nothing to do, each check saying why.
//!
//! Workloads are read straight from the API server when the job runs (a job observes real
//! state; no HTTP read depends on them, so they have no reflector), and pods from the cache.
//! The BFF's own Deployment (`app.kubernetes.io/name=cryptomeria-bff`) is never scaled.

use super::journal::Journal;
use super::plan::{Act, Plan};
use super::run::Run;
use crate::cache::views;
use crate::error_code::ErrorCode;
use crate::error_code::Failure;
use crate::jobs::StepOutcome;
use crate::sync::Locked;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use std::sync::Arc;

/// Where stop records a workload's replicas for resume.
pub const RECORD_ANNOTATION: &str = "cryptomeria.io/replicas-before-stop";
/// The BFF's own workloads, left alone (deploy/deployment.yaml).
const NOT_OURS: &str = "app.kubernetes.io/name!=cryptomeria-bff";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Stop,
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    StatefulSet,
    Deployment,
}

impl Kind {
    fn resource(self) -> &'static str {
        match self {
            Self::StatefulSet => "statefulset",
            Self::Deployment => "deployment",
        }
    }

    /// The `kubectl scale` a plan names for scaling `name` to `replicas`.
    fn scale_command(self, name: &str, replicas: i32) -> String {
        format!("kubectl scale {}/{name} --replicas={replicas}", self.resource())
    }
}

/// A workload as observed: its replicas now and what a stop recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: Kind,
    pub name: String,
    pub replicas: i32,
    pub recorded: Option<i32>,
}

/// What happens to the record annotation when a workload is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Remember these replicas (stop).
    Set(i32),
    /// Forget the record (resume restored it).
    Clear,
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleTo {
    pub kind: Kind,
    pub name: String,
    pub replicas: i32,
    pub record: Record,
}

impl Act for ScaleTo {
    fn command(&self) -> String {
        self.kind.scale_command(&self.name, self.replicas)
    }
}

/// Stop: every workload with replicas goes to 0, its count recorded first.
pub fn plan_stop(workloads: &[Workload]) -> Plan<ScaleTo> {
    let mut plan = Plan::default();
    for w in workloads {
        let cmd = w.kind.scale_command(&w.name, 0);
        match (w.replicas, w.recorded) {
            (0, Some(n)) => plan.skip(cmd, format!("{} is stopped (resume restores {n})", w.name)),
            (0, None) => plan.skip(cmd, format!("{} already has 0 replicas", w.name)),
            (n, _) => plan.act(
                ScaleTo { kind: w.kind, name: w.name.clone(), replicas: 0, record: Record::Set(n) },
                format!("{} runs {n} replica(s); recorded for resume", w.name),
            ),
        }
    }
    plan
}

/// Resume: every workload a stop recorded gets its replicas back. When nothing was recorded
/// and everything is at 0 (stopped by `just stop`), each goes to 1, as `just resume` does.
pub fn plan_resume(workloads: &[Workload]) -> Plan<ScaleTo> {
    let mut plan = Plan::default();
    let stopped_elsewhere = workloads.iter().all(|w| w.recorded.is_none() && w.replicas == 0);
    for w in workloads {
        let to = |replicas, record| ScaleTo { kind: w.kind, name: w.name.clone(), replicas, record };
        let cmd = |n: i32| w.kind.scale_command(&w.name, n);
        match (w.replicas, w.recorded) {
            (now, Some(n)) if now == n => {
                plan.skip(cmd(n), format!("{} already runs its recorded {n} replica(s)", w.name))
            }
            (_, Some(n)) => {
                plan.act(to(n, Record::Clear), format!("{} was stopped with {n} replica(s)", w.name))
            }
            (0, None) if stopped_elsewhere => plan.act(
                to(1, Record::Keep),
                format!("{} is at 0 with no record (stopped outside the BFF): 1, as `just resume`", w.name),
            ),
            (0, None) => {
                plan.skip(cmd(1), format!("{} is at 0 but was not stopped by the BFF: left as is", w.name))
            }
            (n, None) => plan.skip(cmd(n), format!("{} runs {n} replica(s)", w.name)),
        }
    }
    plan
}

fn recorded(annotations: Option<&std::collections::BTreeMap<String, String>>) -> Option<i32> {
    annotations?.get(RECORD_ANNOTATION)?.parse().ok()
}

/// Why scaleDown / scaleUp or the wait after it failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing to scale: the chart is not installed in the namespace.
    #[error("no StatefulSet or Deployment in namespace {0}: is the chart installed?")]
    NoWorkloads(String),
    /// The scaled workloads' pods did not go (or become Ready) in time.
    #[error("after {}: {}", humantime::format_duration(*after), pending.join(", "))]
    PodsPending { after: std::time::Duration, pending: Vec<String> },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let (code, details) = match &e {
            Error::NoWorkloads(_) => (ErrorCode::NotFound, json!({})),
            Error::PodsPending { pending, .. } => (ErrorCode::Timeout, json!({"pending": pending})),
        };
        Failure::new(code, e.to_string()).with_details(details)
    }
}

/// A Kubernetes API failure of a step: a missing right is K8S_FORBIDDEN with what to grant.
pub fn api_failure(what: &str, e: kube::Error) -> Failure {
    match e {
        kube::Error::Api(s) if s.code == 403 => Failure::new(
            ErrorCode::K8sForbidden,
            format!(
                "{what}: the BFF's ServiceAccount lacks the right ({}); deploy/rbac.yaml grants it",
                s.message
            ),
        )
        .with_details(json!({"hint": crate::error_code::K8S_FORBIDDEN_HINT})),
        other => Failure::new(ErrorCode::K8sUnavailable, format!("{what}: {other}")),
    }
}

/// The namespace's StatefulSets and Deployments except the BFF's own, in name order.
pub async fn observe(kube: &kube::Client, namespace: &str) -> Result<Vec<Workload>, Failure> {
    let lp = ListParams::default().labels(NOT_OURS);
    let sts = Api::<StatefulSet>::namespaced(kube.clone(), namespace)
        .list(&lp)
        .await
        .map_err(|e| api_failure("listing StatefulSets", e))?;
    let deploys = Api::<Deployment>::namespaced(kube.clone(), namespace)
        .list(&lp)
        .await
        .map_err(|e| api_failure("listing Deployments", e))?;
    // An unset `spec.replicas` is 1 for both kinds (the API server's default).
    let workload = |kind, meta: &ObjectMeta, replicas: Option<i32>| Workload {
        kind,
        name: meta.name.clone().unwrap_or_default(),
        replicas: replicas.unwrap_or(1),
        recorded: recorded(meta.annotations.as_ref()),
    };
    let statefulsets = sts
        .items
        .iter()
        .map(|s| workload(Kind::StatefulSet, &s.metadata, s.spec.as_ref().and_then(|s| s.replicas)));
    let deployments = deploys
        .items
        .iter()
        .map(|d| workload(Kind::Deployment, &d.metadata, d.spec.as_ref().and_then(|s| s.replicas)));
    let mut out: Vec<Workload> = statefulsets.chain(deployments).collect();
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(out)
}

/// Records (or forgets) the replicas, then scales through the scale subresource.
async fn apply(kube: &kube::Client, namespace: &str, a: &ScaleTo) -> Result<(), kube::Error> {
    let record = match a.record {
        Record::Set(n) => Some(json!(n.to_string())),
        Record::Clear => Some(Value::Null),
        Record::Keep => None,
    };
    let scale = Patch::Merge(json!({"spec": {"replicas": a.replicas}}));
    let pp = PatchParams::default();
    macro_rules! scale_it {
        ($ty:ty) => {{
            let api = Api::<$ty>::namespaced(kube.clone(), namespace);
            if let Some(value) = record {
                let meta = Patch::Merge(json!({"metadata": {"annotations": {(RECORD_ANNOTATION): value}}}));
                api.patch(&a.name, &pp, &meta).await?;
            }
            api.patch_scale(&a.name, &pp, &scale).await?;
        }};
    }
    match a.kind {
        Kind::StatefulSet => scale_it!(StatefulSet),
        Kind::Deployment => scale_it!(Deployment),
    }
    Ok(())
}

/// Whether `pod` belongs to the workload `kind`/`name`: a StatefulSet owns its pods, a
/// Deployment through its ReplicaSet `<name>-<pod-template-hash>`.
fn owned_by(pod: &Pod, kind: Kind, name: &str) -> bool {
    pod.metadata.owner_references.iter().flatten().any(|o| match kind {
        Kind::StatefulSet => o.kind == "StatefulSet" && o.name == name,
        Kind::Deployment => {
            o.kind == "ReplicaSet"
                && o.name
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix('-'))
                    .is_some_and(|h| !h.contains('-'))
        }
    })
}

/// What still differs from the scaled state: pods left after a stop, pods not Ready after a
/// resume (`name (phase)`, or `workload: 0/1 Ready`).
pub fn pods_pending(pods: &[Arc<Pod>], scaled: &[ScaleTo], direction: Direction) -> Vec<String> {
    let mut out = Vec::new();
    for s in scaled {
        let mine: Vec<&Arc<Pod>> = pods.iter().filter(|p| owned_by(p, s.kind, &s.name)).collect();
        match direction {
            Direction::Stop => out.extend(mine.iter().map(|p| {
                format!("{} ({})", p.metadata.name.as_deref().unwrap_or_default(), views::phase(p))
            })),
            Direction::Resume => {
                let ready = mine
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none() && views::is_ready(p))
                    .count();
                if (ready as i32) < s.replicas {
                    out.push(format!("{}: {ready}/{} Ready", s.name, s.replicas));
                }
            }
        }
    }
    out
}

/// What the scale step scaled, handed to the wait after it (`waitPodsGone` /
/// `waitPodsReady`) within one job.
pub type Scaled = std::sync::Mutex<Vec<ScaleTo>>;

/// `scaleDown` / `scaleUp`: observe the workloads, plan what to scale, scale it.
pub async fn scale(
    run: &Run,
    journal: &dyn Journal,
    direction: Direction,
    scaled: &Scaled,
) -> Result<StepOutcome, Failure> {
    let c = &run.ctx;
    let workloads = observe(&c.kube, &c.namespace).await?;
    let plan = match direction {
        Direction::Stop => plan_stop(&workloads),
        Direction::Resume => plan_resume(&workloads),
    };
    let listing: Vec<Value> = workloads
        .iter()
        .map(|w| json!({"kind": w.kind.resource(), "name": w.name, "replicas": w.replicas, "recorded": w.recorded}))
        .collect();
    run.set_workloads(listing);
    if workloads.is_empty() {
        return Err(Error::NoWorkloads(c.namespace.clone()).into());
    }
    if let Some(outcome) = run.decide(&plan, journal) {
        return Ok(outcome);
    }
    for p in &plan.actions {
        apply(&c.kube, &c.namespace, &p.action).await.map_err(|e| {
            api_failure(&format!("scaling {}/{}", p.action.kind.resource(), p.action.name), e)
        })?;
        journal.command(&p.action.command(), "ok", &p.reason);
        scaled.locked().push(p.action.clone());
    }
    Ok(StepOutcome::Done(plan.summary()))
}

/// `waitPodsGone` / `waitPodsReady`: until the scaled workloads' pods are gone or Ready.
pub async fn wait(
    run: &Run,
    journal: &dyn Journal,
    direction: Direction,
    scaled: &Scaled,
) -> Result<StepOutcome, Failure> {
    let scaled = scaled.locked().clone();
    if scaled.is_empty() {
        return Ok(StepOutcome::Skipped("nothing was scaled: no pod to wait for".into()));
    }
    let what = match direction {
        Direction::Stop => "the pods to go",
        Direction::Resume => "the pods to be Ready",
    };
    let waited =
        super::discover::wait_on_pods(run, journal, what, |pods| pods_pending(pods, &scaled, direction))
            .await;
    match waited {
        Ok(_) => Ok(StepOutcome::Done(
            match direction {
                Direction::Stop => "the scaled workloads have no pods left",
                Direction::Resume => "every scaled workload's pods are Ready",
            }
            .into(),
        )),
        Err(pending) => Err(Error::PodsPending { after: run.settings().pods_ready_timeout, pending }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: Kind, name: &str, replicas: i32, recorded: Option<i32>) -> Workload {
        Workload { kind, name: name.into(), replicas, recorded }
    }

    #[test]
    fn stop_records_and_scales_what_runs_and_skips_what_is_stopped() {
        let plan = plan_stop(&[
            w(Kind::StatefulSet, "cryptomeria-gwc", 1, None),
            w(Kind::Deployment, "cryptomeria-relayer", 0, Some(1)),
            w(Kind::Deployment, "faucet", 0, None),
        ]);
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(plan.actions[0].action.record, Record::Set(1));
        assert_eq!(
            plan.actions[0].action.command(),
            "kubectl scale statefulset/cryptomeria-gwc --replicas=0"
        );
        assert_eq!(plan.skips[0].reason, "cryptomeria-relayer is stopped (resume restores 1)");
        assert_eq!(plan.skips[1].reason, "faucet already has 0 replicas");
    }

    #[test]
    fn resume_restores_recorded_replicas_and_leaves_others_alone() {
        let plan = plan_resume(&[
            w(Kind::StatefulSet, "cryptomeria-gwc", 0, Some(1)),
            w(Kind::StatefulSet, "cryptomeria-fdsc-0", 0, Some(3)),
            w(Kind::Deployment, "faucet", 0, None),
            w(Kind::Deployment, "cryptomeria-relayer", 1, Some(1)),
        ]);
        let to: Vec<(&str, i32)> =
            plan.actions.iter().map(|p| (p.action.name.as_str(), p.action.replicas)).collect();
        assert_eq!(to, [("cryptomeria-gwc", 1), ("cryptomeria-fdsc-0", 3)]);
        assert!(plan.actions.iter().all(|p| p.action.record == Record::Clear));
        assert_eq!(plan.skips.len(), 2, "faucet was not stopped by the BFF; the relayer runs");
    }

    #[test]
    fn resume_after_a_stop_outside_the_bff_scales_everything_to_one() {
        let plan = plan_resume(&[w(Kind::StatefulSet, "a", 0, None), w(Kind::Deployment, "b", 0, None)]);
        assert_eq!(plan.actions.len(), 2);
        assert!(plan.actions.iter().all(|p| p.action.replicas == 1 && p.action.record == Record::Keep));
        assert!(plan_resume(&[w(Kind::Deployment, "b", 1, None)]).is_empty());
    }

    fn pod(name: &str, owner_kind: &str, owner: &str, ready: bool) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind,
                    "name": owner, "uid": "u", "controller": true}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
            }))
            .unwrap(),
        )
    }

    #[test]
    fn pods_are_matched_to_their_workload_through_owners() {
        let pods = vec![
            pod("cryptomeria-gwc-0", "StatefulSet", "cryptomeria-gwc", true),
            pod("cryptomeria-relayer-7d9f8-abcde", "ReplicaSet", "cryptomeria-relayer-7d9f8", false),
            pod("cryptomeria-relayer-x-7d9f8-abcde", "ReplicaSet", "cryptomeria-relayer-x-7d9f8", true),
        ];
        let relayer = ScaleTo {
            kind: Kind::Deployment,
            name: "cryptomeria-relayer".into(),
            replicas: 1,
            record: Record::Clear,
        };
        let gwc = ScaleTo {
            kind: Kind::StatefulSet,
            name: "cryptomeria-gwc".into(),
            replicas: 0,
            record: Record::Set(1),
        };
        assert_eq!(
            pods_pending(&pods, std::slice::from_ref(&relayer), Direction::Resume),
            ["cryptomeria-relayer: 0/1 Ready"]
        );
        assert_eq!(pods_pending(&pods, &[gwc], Direction::Stop), ["cryptomeria-gwc-0 (Running)"]);
        assert!(pods_pending(&pods[..1], &[relayer], Direction::Stop).is_empty());
    }
}
