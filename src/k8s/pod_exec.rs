//! The one exec path of the product: runs a command in a pod of the release's namespace with
//! the configured timeout (the raw call tells a pod that vanished apart from any other
//! trouble; the caller decides what a vanished pod means). Every exec — reconcile steps, preflight, the
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

impl PodExec {
    pub fn new(kube: kube::Client, namespace: &str, timeout: Duration) -> Self {
        Self { pods: Api::namespaced(kube, namespace), timeout }
    }

    /// Runs `argv` in `pod`, feeding `stdin` if given.
    pub async fn run(&self, pod: &str, argv: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput, ExecError> {
        exec(&self.pods, pod, None, argv, stdin, self.timeout).await
    }

    /// As `run`, with a timeout of its own (a command known to outlast `EXEC_TIMEOUT`).
    pub async fn run_for(
        &self,
        pod: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<ExecOutput, ExecError> {
        exec(&self.pods, pod, None, argv, None, timeout).await
    }

    /// Runs a shell script in `pod` (`sh -c`).
    pub async fn script(&self, pod: &str, script: &str) -> Result<ExecOutput, ExecError> {
        self.run(pod, &["sh", "-c", script], None).await
    }
}
