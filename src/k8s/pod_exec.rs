//! The one exec path of the product: runs a command in a pod of the release's namespace with
//! the configured timeout, and tells a pod that vanished apart from any other trouble (the
//! caller decides what a vanished pod means). Every exec — reconcile steps, preflight, the
//! snapshot — goes through here, so all are timed out, metered and classified alike.

use super::{ExecError, ExecOutput, exec};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use std::time::Duration;

#[derive(Clone)]
pub struct PodExec {
    pods: Api<Pod>,
    timeout: Duration,
}

/// Why an exec did not produce an exit code.
#[derive(Debug)]
pub enum ExecTrouble {
    /// The pod is gone (deleted or recreated under another name).
    PodGone(String),
    /// The API server refused the exec to the BFF's identity (RBAC): the message says what
    /// is missing. kube-rs execs over a WebSocket, an HTTP GET that Kubernetes authorizes as
    /// `get` on `pods/exec` (and, since 1.35, also `create`), so a Role with `create` alone,
    /// enough for kubectl's SPDY fallback, is not enough here.
    Forbidden(String),
    Other(String),
}

impl ExecTrouble {
    pub fn message(&self) -> &str {
        match self {
            Self::PodGone(m) | Self::Forbidden(m) | Self::Other(m) => m,
        }
    }
}

impl std::fmt::Display for ExecTrouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl PodExec {
    pub fn new(kube: kube::Client, namespace: &str, timeout: Duration) -> Self {
        Self { pods: Api::namespaced(kube, namespace), timeout }
    }

    /// Runs `argv` in `pod`, feeding `stdin` if given.
    pub async fn run(
        &self,
        pod: &str,
        argv: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, ExecTrouble> {
        exec(&self.pods, pod, None, argv, stdin, self.timeout).await.map_err(|e| match &e {
            ExecError::Start { source: kube::Error::Api(s), .. } if s.code == 404 => {
                ExecTrouble::PodGone(format!("pod {pod} not found"))
            }
            ExecError::Start { source: kube::Error::Api(s), .. } if s.code == 403 => ExecTrouble::Forbidden(
                format!("{}; grant get and create on pods/exec (deploy/rbac.yaml)", s.message),
            ),
            _ => ExecTrouble::Other(e.to_string()),
        })
    }

    /// Runs a shell script in `pod` (`sh -c`).
    pub async fn script(&self, pod: &str, script: &str) -> Result<ExecOutput, ExecTrouble> {
        self.run(pod, &["sh", "-c", script], None).await
    }
}
