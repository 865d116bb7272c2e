//! The Helm chart's fixed vocabulary: the names, labels and ports it gives the chains and the
//! relayer, and the names the chart's scripts (init-relayer.sh, connect-chain.sh) give the
//! relayer's keys and paths. Every layer that needs one of these takes it from here.

/// The gateway chain's id (and pod instance label): every IBC link starts at it.
pub const GWC: &str = "gwc";
/// The port gwc's end of every gateway channel binds.
pub const GATEWAY_PORT: &str = "gateway";
/// An ibc-go channel or connection that is open (the state's name in ibc-go's REST answers).
pub const OPEN: &str = "STATE_OPEN";
/// A channel end past ChanOpenTry, waiting for ChanOpenConfirm.
pub const TRYOPEN: &str = "STATE_TRYOPEN";

/// The relayer's path for the gwc↔`chain` pair (the name connect-chain.sh gives it).
pub fn path_name(chain: &str) -> String {
    format!("path-gwc-{chain}-gw")
}

/// The port a storage chain's end of the gateway channel binds.
pub fn dst_port(chain: &str) -> &'static str {
    if chain == "mdsc" { "metastore" } else { "datastore" }
}

/// The relayer's key name in every chain config (the `key` field of the chain JSON
/// `rly chains add` reads).
pub const RELAYER_KEY: &str = "relayer";

/// Where the chart mounts the relayer's mnemonic for `chain`.
pub fn mnemonic_file(chain: &str) -> String {
    format!("/etc/mnemonics/{chain}.{RELAYER_KEY}.mnemonic")
}

pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
pub const CATEGORY_LABEL: &str = "app.kubernetes.io/category";
/// Port names the chart gives every chain Service.
pub const CHAIN_PORT_NAMES: [&str; 3] = ["rpc", "api", "grpc"];
/// The chart's headless Service for chain pods (pod DNS `<pod>.<this>`).
pub const HEADLESS_SERVICE: &str = "cryptomeria-chain-headless";

/// A chain's application name: `fdsc` for `fdsc-3`, `gwc` for `gwc` (the chart's
/// `CHAIN_APP_NAME`).
pub fn chain_app(chain: &str) -> &str {
    chain.split_once('-').map_or(chain, |(app, _)| app)
}

/// The daemon binary in a chain's pod (`gwcd`, `mdscd`, `fdscd`).
pub fn chain_binary(chain: &str) -> String {
    format!("{}d", chain_app(chain))
}

/// The daemon's home in a chain's pod, where its test keyring holds `local-admin`.
pub fn chain_home(chain: &str) -> String {
    let app = chain_app(chain);
    format!("/home/{app}/.{app}")
}

/// The genesis account every chain's keyring holds, funded for operations.
pub const LOCAL_ADMIN: &str = "local-admin";
/// The account prefix of every chain of the chart.
pub const ACCOUNT_PREFIX: &str = "cosmos";
/// The chart's fee and staking denom.
pub const DENOM: &str = "uatom";
/// The chart's faucet Service (ping-pub's faucet for gwc) and its port.
pub const FAUCET_SERVICE: &str = "faucet";
pub const FAUCET_PORT: u16 = 4500;
