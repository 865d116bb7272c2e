//! What the reconcile steps may touch, and nothing more: the kube client and cache readers,
//! the exec path, the chain client and directory, and their own settings. The application
//! builds it from its state (`AppState::reconcile_context`), as kube-rs' controller-rs builds
//! its `Context` from its `State`; a step never sees the HTTP layer or the whole app.

use crate::chain::ChainClient;
use crate::reconcile::ReconcileSettings;
use crate::system::Reads;
use std::sync::Arc;

/// The application's one read context (kube client, cache, directory, chain client, exec
/// path, namespace and release, IBC bounds), plus what only the steps use.
pub struct Context {
    pub reads: Arc<Reads>,
    /// The chain client with the short timeout of the `/status` liveness probe.
    pub status_client: ChainClient,
    pub settings: ReconcileSettings,
}

/// A step reads the shared handles as its own (`ctx.cache`, `ctx.exec`, …).
impl std::ops::Deref for Context {
    type Target = Reads;
    fn deref(&self) -> &Reads {
        &self.reads
    }
}
