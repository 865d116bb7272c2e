//! `pods/exec` over WebSocket, channel protocols `v5.channel.k8s.io` and `v4.channel.k8s.io`:
//! binary frames whose first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 status,
//! 4 resize, 255 v5 close-channel); the exit status goes on channel 3 after all output,
//! then a Close 1000 (client-go counts only that as a clean end).

use crate::faults::Faults;
use crate::pod::PodRuntime;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const CLOSE_CHANNEL: u8 = 255;
/// How long to wait for the client to answer our Close before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

pub struct ExecRequest {
    pub runtime: PodRuntime,
    pub argv: Vec<String>,
    pub stdin: bool,
    pub faults: Arc<Faults>,
}

pub fn upgrade(ws: WebSocketUpgrade, req: ExecRequest) -> Response {
    ws.protocols([V5, V4]).on_upgrade(move |socket| session(socket, req))
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut buf = Vec::with_capacity(data.len() + 1);
    buf.push(channel);
    buf.extend_from_slice(data);
    Message::Binary(Bytes::from(buf))
}

/// The Status the apiserver's stream translator sends for an exit code.
pub fn exit_status(code: i32) -> serde_json::Value {
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({"metadata": {}, "status": "Failure",
           "message": format!("command terminated with non-zero exit code: exit status {code}"),
           "reason": "NonZeroExitCode",
           "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}})
}

async fn session(socket: WebSocket, req: ExecRequest) {
    let opened = tokio::time::Instant::now();
    let ExecRequest { runtime, argv, stdin, faults } = req;
    let latency = faults.exec_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (mut sink, mut stream) = socket.split();

    if faults.take_exec_abort() {
        // The connection breaks mid-command: the command still runs to the end in the pod,
        // the client never learns its outcome.
        tokio::spawn(async move {
            let _ = runtime.exec_collect(&argv.iter().map(String::as_str).collect::<Vec<_>>(), b"").await;
        });
        return;
    }

    let (out_tx, mut out_rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let closing = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || closing {
                break;
            }
        }
        sink
    });

    // Reads the client's frames for the whole session, so pings are answered even
    // without stdin; stdin data is piped to the command, EOF on [255, 0] (v5).
    let client_gone = CancellationToken::new();
    // Duplex, not simplex: dropping a duplex half is EOF for the other side.
    let (stdin_reader, stdin_writer) = tokio::io::duplex(64 * 1024);
    let reader = {
        let client_gone = client_gone.clone();
        tokio::spawn(async move {
            let mut stdin_writer = Some(stdin_writer);
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Binary(data) => match (data.first(), data.get(1)) {
                        (Some(&STDIN), _) => {
                            if let Some(w) = stdin_writer.as_mut()
                                && w.write_all(&data[1..]).await.is_err()
                            {
                                stdin_writer = None;
                            }
                        }
                        (Some(&CLOSE_CHANNEL), Some(&STDIN)) => {
                            if let Some(mut w) = stdin_writer.take() {
                                let _ = w.shutdown().await;
                            }
                        }
                        _ => {}
                    },
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            client_gone.cancel();
        })
    };

    let (out_reader, out_writer) = tokio::io::duplex(64 * 1024);
    let (err_reader, err_writer) = tokio::io::duplex(64 * 1024);
    let not_before = opened + FIRST_OUTPUT_AFTER;
    let pump_out = tokio::spawn(pump(out_reader, STDOUT, out_tx.clone(), not_before));
    let pump_err = tokio::spawn(pump(err_reader, STDERR, out_tx.clone(), not_before));
    let stdin: Box<dyn AsyncRead + Send + Unpin> =
        if stdin { Box::new(stdin_reader) } else { Box::new(tokio::io::empty()) };
    let code =
        runtime.exec(argv, stdin, Box::new(out_writer), Box::new(err_writer), client_gone.clone()).await;
    let _ = pump_out.await;
    let _ = pump_err.await;
    // kubectl can drop stdout that arrives right before the status frame when the machine is
    // loaded (kubernetes/kubernetes#124571, "kubectl exec truncates stdout without reporting
    // error"); a short pause after the last output frame keeps the suite's kubectl judge honest.
    tokio::time::sleep(STATUS_AFTER_OUTPUT).await;

    let status = serde_json::to_vec(&exit_status(code)).unwrap_or_default();
    let _ = out_tx.send(frame(STATUS, &status)).await;
    let _ = out_tx.send(Message::Close(Some(CloseFrame { code: 1000, reason: "".into() }))).await;
    drop(out_tx);
    let _ = writer.await;
    // Give the client a moment to echo the Close, then drop the connection.
    let _ = tokio::time::timeout(CLOSE_GRACE, reader).await;
}

/// Pause between a command's last output frame and its status frame (see where it is sent).
const STATUS_AFTER_OUTPUT: std::time::Duration = std::time::Duration::from_millis(10);

/// Forwards a command's output stream as frames on `channel` until EOF.
/// kubectl (client-go's websocket executor) registers its streams only after the upgrade; a
/// frame that arrives before is logged "Unknown stream id 1, discarding message" and lost, so
/// kubectl exits 0 with no output. A real kubelet's first output never comes that fast: the
/// first frame of a session waits this long after the upgrade.
const FIRST_OUTPUT_AFTER: std::time::Duration = std::time::Duration::from_millis(25);

async fn pump(
    mut from: impl AsyncRead + Unpin,
    channel: u8,
    to: mpsc::Sender<Message>,
    not_before: tokio::time::Instant,
) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                tokio::time::sleep_until(not_before).await;
                if to.send(frame(channel, &buf[..n])).await.is_err() {
                    return;
                }
            }
        }
    }
}
