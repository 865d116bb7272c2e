//! What the reconcile steps may touch, and nothing more: the kube client and cache readers,
//! the exec path, the chain client and directory, and their own settings. The application
//! builds it from its state (`AppState::reconcile_context`), as kube-rs' controller-rs builds
//! its `Context` from its `State`; a step never sees the HTTP layer or the whole app.

use crate::cache::Cache;
use crate::cache::directory::ChainDirectory;
use crate::chain::ChainClient;
use crate::k8s::PodExec;
use crate::reconcile::ReconcileSettings;

pub struct Context {
    pub kube: kube::Client,
    pub cache: Cache,
    /// The release's namespace and Helm release name.
    pub namespace: String,
    pub release: String,
    pub directory: ChainDirectory,
    /// Layer 2 calls (metered): gwc's REST for channels and registrations.
    pub chains: ChainClient,
    /// The same client with the short timeout of the `/status` liveness probe.
    pub status_client: ChainClient,
    pub settings: ReconcileSettings,
    /// The exec path into the release's pods.
    pub exec: PodExec,
    /// Bounds of the IBC assessment waitIbcReady shares with `/system/ibc`.
    pub ibc: crate::system::IbcSettings,
}
