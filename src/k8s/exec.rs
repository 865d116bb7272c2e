//! Runs a command in a pod over `pods/exec` and returns its stdout, stderr and exit code.
//! The exit code comes from the status channel (`NonZeroExitCode` → the `ExitCode` cause).
//! Arguments are logged by the caller only when they carry no secrets.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Why an exec did not produce an exit code (a command that ran and failed is an
/// `ExecOutput` with its code).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The pod is gone (deleted or recreated under another name).
    #[error("pod {pod} not found")]
    PodGone { pod: String },
    /// The API server refused the exec to the BFF's identity (RBAC): the message says what
    /// is missing. kube-rs execs over a WebSocket, an HTTP GET that Kubernetes authorizes as
    /// `get` on `pods/exec` (and, since 1.35, also `create`), so a Role with `create` alone,
    /// enough for kubectl's SPDY fallback, is not enough here.
    #[error("{message}; grant get and create on pods/exec (deploy/rbac.yaml)")]
    Forbidden { pod: String, message: String },
    /// The API server refused or failed the exec request.
    #[error("failed to start exec in pod {pod}: {source}")]
    Start {
        pod: String,
        #[source]
        source: kube::Error,
    },
    /// The stream ended without an exit status (connection cut mid-command).
    #[error("exec stream in pod {pod} ended without an exit status")]
    NoStatus { pod: String },
    #[error("exec in pod {pod} timed out after {}", humantime::format_duration(*after))]
    Timeout { pod: String, after: Duration },
    #[error("failed to stream exec i/o in pod {pod}: {source}")]
    Io {
        pod: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `argv` in `pod` (optionally in `container`), feeding `stdin` if given.
pub async fn exec(
    pods: &Api<Pod>,
    pod: &str,
    container: Option<&str>,
    argv: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<ExecOutput, ExecError> {
    let result = match tokio::time::timeout(timeout, run(pods, pod, container, argv, stdin)).await {
        Ok(result) => result,
        Err(_) => Err(ExecError::Timeout { pod: pod.to_string(), after: timeout }),
    };
    crate::metrics::Metrics::exec_call(match &result {
        Ok(out) if out.code == 0 => "ok",
        Ok(_) => "exit_nonzero",
        Err(ExecError::Start { .. } | ExecError::PodGone { .. } | ExecError::Forbidden { .. }) => {
            "start_failed"
        }
        Err(ExecError::NoStatus { .. }) => "no_status",
        Err(ExecError::Timeout { .. }) => "timeout",
        Err(ExecError::Io { .. }) => "io_error",
    });
    result
}

impl ExecError {
    /// The pod the exec was for.
    pub fn pod(&self) -> &str {
        match self {
            Self::PodGone { pod }
            | Self::Forbidden { pod, .. }
            | Self::Start { pod, .. }
            | Self::NoStatus { pod }
            | Self::Timeout { pod, .. }
            | Self::Io { pod, .. } => pod,
        }
    }
}

/// A refused exec: a vanished pod and a missing right are told apart from other refusals.
fn start_error(pod: &str, source: kube::Error) -> ExecError {
    let pod = pod.to_string();
    match source {
        kube::Error::Api(s) if s.code == 404 => ExecError::PodGone { pod },
        kube::Error::Api(s) if s.code == 403 => ExecError::Forbidden { pod, message: s.message },
        source => ExecError::Start { pod, source },
    }
}

async fn run(
    pods: &Api<Pod>,
    pod: &str,
    container: Option<&str>,
    argv: &[&str],
    stdin: Option<&[u8]>,
) -> Result<ExecOutput, ExecError> {
    let mut params = AttachParams::default().stdin(stdin.is_some()).stdout(true).stderr(true);
    if let Some(c) = container {
        params = params.container(c);
    }
    let io = |source| ExecError::Io { pod: pod.to_string(), source };
    let mut proc =
        pods.exec(pod, argv.iter().copied(), &params).await.map_err(|source| start_error(pod, source))?;
    if let Some(input) = stdin {
        let mut writer = proc.stdin().ok_or_else(|| ExecError::NoStatus { pod: pod.to_string() })?;
        writer.write_all(input).await.map_err(io)?;
        // kube-rs signals EOF only on shutdown; dropping the writer would leave `cat` waiting.
        writer.shutdown().await.map_err(io)?;
    }
    let status = proc.take_status();
    let (out_reader, err_reader) = (proc.stdout(), proc.stderr());
    let reads = async move {
        let (o, e) = tokio::join!(drain(out_reader), drain(err_reader));
        Ok::<_, std::io::Error>((o?, e?))
    };
    let status = async move {
        match status {
            Some(s) => s.await,
            None => None,
        }
    };
    tokio::pin!(reads, status);
    // A stream cut mid-command resolves the status channel empty while the output readers may
    // never see EOF: that ends the exec at once instead of at the timeout.
    let (status, output) = tokio::select! {
        s = &mut status => (s, None),
        r = &mut reads => (status.await, Some(r.map_err(io)?)),
    };
    let Some(status) = status else {
        return Err(ExecError::NoStatus { pod: pod.to_string() });
    };
    let (stdout, stderr) = match output {
        Some(o) => o,
        None => reads.await.map_err(io)?,
    };
    let _ = proc.join().await;
    let code = exit_code(&status);
    Ok(ExecOutput {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// Reads an output stream of the exec to its end.
async fn drain(reader: Option<impl tokio::io::AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut r) = reader {
        r.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

/// The exit code a `pods/exec` Status reports: 0 on Success, the `ExitCode` cause on
/// `NonZeroExitCode`, 1 for any other failure.
fn exit_code(status: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Status) -> i32 {
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref()?.parse().ok())
        .unwrap_or(1)
}
