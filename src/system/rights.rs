//! Which Kubernetes rights the BFF's identity holds, asked of the API server itself with one
//! SelfSubjectAccessReview per right (every authenticated identity may ask, through the
//! `system:basic-user` ClusterRole). Preflight reports the missing ones with what each
//! disables, so a narrower Role than deploy/rbac.yaml (the chart's own BFF Role, say) shows
//! up as a named gap, not as a bare failure later.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

/// One right the BFF uses and what it is for.
#[derive(Debug, Clone, Copy)]
pub struct Right {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// Cluster-scoped (Nodes): asked without a namespace.
    pub cluster: bool,
    /// What breaks without it.
    pub needed_by: &'static str,
    /// Whether `/system/start` cannot run without it.
    pub required: bool,
}

const fn right(verb: &'static str, resource: &'static str, needed_by: &'static str, required: bool) -> Right {
    Right { verb, group: "", resource, subresource: None, cluster: false, needed_by, required }
}

const CACHE: &str = "the watch cache behind every read";
const EXEC: &str = "every exec (start, connect, restart, preflight): kube-rs execs over a WebSocket, an HTTP GET \
                    that Kubernetes authorizes as get (and, since 1.35, also create)";
const SCALE: &str = "POST /system/stop and /system/resume";
const NODE_HOST: &str = "nodeHost auto-detection (set NODE_HOST instead)";

/// Every right the BFF uses (deploy/rbac.yaml grants exactly these).
pub const RIGHTS: &[Right] = &[
    right("list", "pods", CACHE, true),
    right("watch", "pods", CACHE, true),
    right("list", "services", CACHE, true),
    right("watch", "services", CACHE, true),
    right("list", "endpoints", CACHE, true),
    right("watch", "endpoints", CACHE, true),
    right("list", "configmaps", CACHE, true),
    right("watch", "configmaps", CACHE, true),
    Right { subresource: Some("exec"), ..right("get", "pods", EXEC, true) },
    Right { subresource: Some("exec"), ..right("create", "pods", EXEC, true) },
    Right { subresource: Some("log"), ..right("get", "pods", "GET /system/k8s/logs", false) },
    right("get", "namespaces", "preflight's namespaceExists check", false),
    Right { group: "apps", ..right("list", "statefulsets", SCALE, false) },
    Right { group: "apps", ..right("patch", "statefulsets", SCALE, false) },
    Right { group: "apps", subresource: Some("scale"), ..right("patch", "statefulsets", SCALE, false) },
    Right { group: "apps", ..right("list", "deployments", SCALE, false) },
    Right { group: "apps", ..right("patch", "deployments", SCALE, false) },
    Right { group: "apps", subresource: Some("scale"), ..right("patch", "deployments", SCALE, false) },
];

/// Node-host auto-detection (only when `NODE_HOST` is not set).
pub const NODES: &[Right] = &[
    Right { cluster: true, ..right("list", "nodes", NODE_HOST, false) },
    Right { cluster: true, ..right("watch", "nodes", NODE_HOST, false) },
];

impl Right {
    /// `get pods/exec`, `patch statefulsets/scale` (group `apps`).
    pub fn name(&self) -> String {
        let resource = match self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.to_string(),
        };
        match self.group {
            "" => format!("{} {resource}", self.verb),
            group => format!("{} {resource} ({group})", self.verb),
        }
    }
}

/// The rights of `rights` the identity lacks; `Err` when the API server could not be asked.
pub async fn missing(kube: &kube::Client, namespace: &str, rights: &[Right]) -> Result<Vec<Right>, String> {
    let api: Api<SelfSubjectAccessReview> = Api::all(kube.clone());
    let asks = rights.iter().map(|r| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: (!r.cluster).then(|| namespace.to_string()),
                    verb: Some(r.verb.into()),
                    group: Some(r.group.into()),
                    resource: Some(r.resource.into()),
                    subresource: r.subresource.map(str::to_string),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api = api.clone();
        async move { api.create(&PostParams::default(), &review).await.map(|a| (*r, a)) }
    });
    let mut lacking = Vec::new();
    for answer in futures::future::join_all(asks).await {
        let (r, review) = answer.map_err(|e| e.to_string())?;
        if !review.status.is_some_and(|s| s.allowed) {
            lacking.push(r);
        }
    }
    Ok(lacking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_name_their_group_and_subresource() {
        let names: Vec<String> = RIGHTS.iter().map(Right::name).collect();
        assert!(names.contains(&"get pods/exec".to_string()));
        assert!(names.contains(&"patch statefulsets/scale (apps)".to_string()));
        assert!(RIGHTS.iter().filter(|r| r.required).all(|r| r.group.is_empty()));
    }
}
