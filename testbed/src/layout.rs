//! Where the chart puts things inside its pods: shared vocabulary of the cluster (which
//! mounts them) and the in-pod programs (which read them), so neither imports the other.

/// The relayer's `rly` home; a PersistentVolumeClaim in the chart (its `config` subdirectory
/// is an emptyDir over it).
pub const RELAYER_HOME: &str = "/home/relayer/.relayer";

/// The nameserver in every pod's resolv.conf (kind's kube-dns ClusterIP), as Go's resolver
/// names it in a failed lookup.
pub const NAMESERVER: &str = "10.96.0.10:53";

/// Where the mnemonics Secret is mounted, read-only, in chain and relayer pods.
pub const MNEMONICS_DIR: &str = "/etc/mnemonics";
