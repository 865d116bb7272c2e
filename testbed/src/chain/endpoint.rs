//! One served port of a chain (RPC or REST) on a NodePort listener the cluster reserved.
//! Stopping closes the listening socket at once (before returning) and cuts open
//! connections, so clients get "connection refused"; starting binds the same port again.

use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

/// Pause after a failed accept (Go's `net/http` starts its backoff at 5 ms).
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(5);

pub struct Endpoint {
    pub addr: SocketAddr,
    router: Router,
    /// Cancels the running accept loop and its connections; `None` while stopped.
    running: Mutex<Option<Running>>,
}

struct Running {
    listener: Arc<TcpListener>,
    cancel: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops listening now: `shutdown(SHUT_RD)` on a listening socket closes it on Linux
    /// (new connects are refused) even while the accept task still holds the descriptor.
    fn close(&self) {
        let _ = socket2::SockRef::from(self.listener.as_ref()).shutdown(std::net::Shutdown::Read);
        self.cancel.cancel();
    }
}

impl Endpoint {
    /// Serves `router` on an already bound std listener.
    pub fn serve(listener: std::net::TcpListener, router: Router) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let endpoint = Self { addr, router, running: Mutex::new(None) };
        endpoint.run(TcpListener::from_std(listener)?);
        Ok(endpoint)
    }

    fn run(&self, listener: TcpListener) {
        let listener = Arc::new(listener);
        let cancel = CancellationToken::new();
        let done = tokio::spawn(accept_loop(listener.clone(), self.router.clone(), cancel.clone()));
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(Running { listener, cancel, done });
    }

    pub fn is_running(&self) -> bool {
        self.running.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Closes the port; returns once the socket is closed, so the next connect is refused.
    pub async fn stop(&self) {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(running) = running {
            running.close();
            let _ = running.done.await;
        }
    }

    /// Binds the port again (no-op when already serving).
    pub fn start(&self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let socket = if self.addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        self.run(socket.listen(1024)?);
        Ok(())
    }

    /// Stops without waiting (testbed shutdown, chain removal).
    pub fn shut(&self) {
        if let Some(running) = self.running.lock().unwrap_or_else(|e| e.into_inner()).take() {
            running.close();
        }
    }
}

async fn accept_loop(listener: Arc<TcpListener>, router: Router, cancel: CancellationToken) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(crate::serve::serve_connection(stream, router.clone(), cancel.clone()));
                }
                Err(_) if cancel.is_cancelled() => return,
                // Out of descriptors and the like: back off briefly, as a Go server does.
                Err(_) => tokio::time::sleep(ACCEPT_RETRY).await,
            },
            _ = cancel.cancelled() => return,
        }
    }
}
