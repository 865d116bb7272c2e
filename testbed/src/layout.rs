//! Where the chart puts things inside its pods: shared vocabulary of the cluster (which
//! mounts them) and the in-pod programs (which read them), so neither imports the other.

/// The relayer's `rly` home; a PersistentVolumeClaim in the chart (its `config` subdirectory
/// is an emptyDir over it).
pub const RELAYER_HOME: &str = "/home/relayer/.relayer";

/// Where the mnemonics Secret is mounted, read-only, in chain and relayer pods.
pub const MNEMONICS_DIR: &str = "/etc/mnemonics";
