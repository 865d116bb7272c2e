//! Byte plumbing between simulated processes, like file descriptors: a clonable writer
//! ([`Sink`]) and a shared reader ([`Source`]). A pipe is a channel of chunks; its reader
//! sees EOF once every writer clone is gone, as with a Unix pipe.

use super::fs::Fs;
use super::log::PodLog;
use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, PollSender};

/// Chunks buffered in a pipe before the writer waits.
const PIPE_CHUNKS: usize = 16;

/// Where a process's output goes. Every write lands immediately (no buffering).
#[derive(Clone)]
pub(crate) enum Sink {
    /// `/dev/null`.
    Null,
    /// `/proc/1/fd/1`: the pod's log.
    Log(PodLog),
    /// A file, appended to (a `>` redirection truncated it when it was opened).
    File { fs: Fs, path: String },
    /// A pipe or an exec stream.
    Chan(PollSender<Bytes>),
}

impl AsyncWrite for Sink {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Sink::Null => {}
            Sink::Log(log) => log.append(buf),
            // Like writing to an unlinked file: a vanished file swallows the bytes.
            Sink::File { fs, path } => drop(fs.append_file(path, buf)),
            Sink::Chan(tx) => {
                if buf.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                let sent =
                    ready!(tx.poll_reserve(cx)).is_ok() && tx.send_item(Bytes::copy_from_slice(buf)).is_ok();
                if !sent {
                    return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
                }
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Sink::Chan(tx) = self.get_mut() {
            tx.close();
        }
        Poll::Ready(Ok(()))
    }
}

impl Sink {
    /// Writes everything; errors (a closed pipe) are returned, not raised.
    pub(crate) async fn write_all_to(&self, bytes: &[u8]) -> io::Result<()> {
        self.clone().write_all(bytes).await
    }
}

struct Reader {
    pending: Bytes,
    rx: Option<mpsc::Receiver<Bytes>>,
}

/// Where a process's input comes from. Clones share one read position, like a duplicated
/// file descriptor, so `read` in a loop consumes successive lines.
#[derive(Clone, Default)]
pub(crate) struct Source(Option<Arc<Mutex<Reader>>>);

impl Source {
    /// `/dev/null`.
    pub(crate) fn empty() -> Self {
        Source(None)
    }

    /// A file's content (or a here-document).
    pub(crate) fn bytes(data: impl Into<Bytes>) -> Self {
        Source(Some(Arc::new(Mutex::new(Reader { pending: data.into(), rx: None }))))
    }

    fn chan(rx: mpsc::Receiver<Bytes>) -> Self {
        Source(Some(Arc::new(Mutex::new(Reader { pending: Bytes::new(), rx: Some(rx) }))))
    }

    /// Reads to EOF (lossy past `limit` bytes: the rest is drained and dropped).
    pub(crate) async fn read_all(&self, limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        let mut this = self.clone();
        while let Ok(n) = this.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let room = limit.saturating_sub(out.len()).min(n);
            out.extend_from_slice(buf.get(..room).unwrap_or_default());
        }
        out
    }
}

impl AsyncRead for Source {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let Some(reader) = &self.0 else { return Poll::Ready(Ok(())) };
        let mut guard = reader.lock().unwrap_or_else(|e| e.into_inner());
        let reader = &mut *guard;
        loop {
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if !reader.pending.is_empty() {
                let n = reader.pending.len().min(buf.remaining());
                buf.put_slice(&reader.pending.split_to(n));
                return Poll::Ready(Ok(()));
            }
            let Some(rx) = reader.rx.as_mut() else { return Poll::Ready(Ok(())) };
            match ready!(rx.poll_recv(cx)) {
                Some(chunk) => reader.pending = chunk,
                None => reader.rx = None,
            }
        }
    }
}

/// A pipe: what is written to the sink can be read from the source.
pub(crate) fn pipe() -> (Sink, Source) {
    let (sink, rx) = out_channel();
    (sink, Source::chan(rx))
}

/// A process's standard streams.
#[derive(Clone)]
pub(crate) struct Fds {
    pub stdin: Source,
    pub stdout: Sink,
    pub stderr: Sink,
}

/// Copies what processes write into `out` (flushing every chunk) until every writer is
/// gone, or `finish` fires — then what is already queued is still delivered and later
/// writers get a broken pipe.
pub(crate) async fn pump_out(
    mut rx: mpsc::Receiver<Bytes>,
    mut out: Box<dyn AsyncWrite + Send + Unpin>,
    finish: CancellationToken,
) {
    let mut finishing = false;
    loop {
        let chunk = if finishing {
            rx.recv().await
        } else {
            tokio::select! {
                chunk = rx.recv() => chunk,
                _ = finish.cancelled() => {
                    rx.close();
                    finishing = true;
                    continue;
                }
            }
        };
        let Some(chunk) = chunk else { break };
        if out.write_all(&chunk).await.is_err() || out.flush().await.is_err() {
            break; // the client is gone; dropping `rx` makes writers see a broken pipe
        }
    }
}

/// Feeds `input` into a pipe until EOF, the reader goes away, or `finish` fires.
pub(crate) async fn pump_in(
    mut input: Box<dyn AsyncRead + Send + Unpin>,
    tx: mpsc::Sender<Bytes>,
    finish: CancellationToken,
) {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = tokio::select! {
            r = input.read(&mut buf) => match r { Ok(n) if n > 0 => n, _ => return },
            _ = finish.cancelled() => return,
        };
        let chunk = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
        tokio::select! {
            r = tx.send(chunk) => if r.is_err() { return },
            _ = finish.cancelled() => return,
        }
    }
}

/// A channel-backed stream pair for an exec session: `(sink, receiver)` / `(sender, source)`.
pub(crate) fn out_channel() -> (Sink, mpsc::Receiver<Bytes>) {
    let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
    (Sink::Chan(PollSender::new(tx)), rx)
}

pub(crate) fn in_channel() -> (mpsc::Sender<Bytes>, Source) {
    let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
    (tx, Source::chan(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pipe_eof_after_last_writer() {
        let (sink, source) = pipe();
        let other = sink.clone();
        let reader = tokio::spawn(async move { source.read_all(usize::MAX).await });
        sink.write_all_to(b"a").await.unwrap();
        drop(sink);
        other.write_all_to(b"b").await.unwrap();
        drop(other);
        assert_eq!(reader.await.unwrap(), b"ab");
    }

    #[tokio::test]
    async fn clones_share_position_and_closed_reader_breaks_pipe() {
        let src = Source::bytes(&b"line1\nline2\n"[..]);
        let mut a = src.clone();
        let mut byte = [0u8; 6];
        a.read_exact(&mut byte).await.unwrap();
        assert_eq!(src.read_all(100).await, b"line2\n");

        let (sink, source) = pipe();
        drop(source);
        assert!(sink.write_all_to(b"x").await.is_err());
    }

    #[tokio::test]
    async fn pump_delivers_queued_output_after_finish() {
        let (sink, rx) = out_channel();
        let finish = CancellationToken::new();
        let collected = Arc::new(Mutex::new(Vec::new()));
        sink.write_all_to(b"queued").await.unwrap();
        finish.cancel();
        let out = super::super::runtime::Collect(collected.clone());
        pump_out(rx, Box::new(out), finish).await;
        assert_eq!(*collected.lock().unwrap(), b"queued");
        assert!(sink.write_all_to(b"late").await.is_err());
    }
}
