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

/// `<chain>d tx <args…>` signed by local-admin from the test keyring under `home`, as the
/// chart's scripts run it in the chain's pod: sync broadcast, JSON out, no prompt. `gas` is a
/// limit, or `auto` (simulated, with the scripts' 1.5 adjustment); `gas_price` in uatom.
pub fn local_admin_tx(chain: &str, args: &[&str], gas: &str, gas_price: &str, home: &str) -> Vec<String> {
    let mut argv = vec![chain_binary(chain), "tx".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv.extend(["--from", LOCAL_ADMIN, "--chain-id", chain, "--gas", gas].map(String::from));
    if gas == "auto" {
        argv.extend(["--gas-adjustment", "1.5"].map(String::from));
    }
    let price = format!("{gas_price}{DENOM}");
    argv.extend(["--gas-prices", &price, "--broadcast-mode", "sync", "-o", "json", "-y"].map(String::from));
    argv.extend(["--keyring-backend", "test", "--home", home].map(String::from));
    argv
}
/// The account prefix of every chain of the chart.
pub const ACCOUNT_PREFIX: &str = "cosmos";
/// The chart's fee and staking denom.
pub const DENOM: &str = "uatom";
/// The chart's faucet Service (ping-pub's faucet for gwc) and its port.
pub const FAUCET_SERVICE: &str = "faucet";
pub const FAUCET_PORT: u16 = 4500;

/// The chart's name (`Chart.yaml`); also the value of every object's `app.kubernetes.io/name`.
pub const CHART_NAME: &str = "cryptomeria";
/// Kubernetes names are DNS labels: at most this many characters.
const DNS_LABEL_MAX: usize = 63;

/// The chart's `cryptomeria.fullname` (`_helpers.tpl`, no name overrides in its values): the
/// release name when it already contains the chart's name, else `<release>-cryptomeria`; cut
/// to 63 characters without a trailing `-`. Every workload, Service and Secret name the chart
/// renders starts with it.
pub fn fullname(release: &str) -> String {
    let full =
        if release.contains(CHART_NAME) { release.to_string() } else { format!("{release}-{CHART_NAME}") };
    // Helm's `trunc` counts characters; names are ASCII, but never cut inside a character.
    let cut: String = full.chars().take(DNS_LABEL_MAX).collect();
    cut.trim_end_matches('-').to_string()
}

/// The chain StatefulSet (and NodePort Service) of chain `id`: `<fullname>-<id>`.
pub fn chain_workload(release: &str, id: &str) -> String {
    format!("{}-{id}", fullname(release))
}

/// The chain's only pod: ordinal 0 of its StatefulSet.
pub fn chain_pod(release: &str, id: &str) -> String {
    format!("{}-0", chain_workload(release, id))
}

/// The headless Service every chain StatefulSet names as its `serviceName`.
pub fn headless_service(release: &str) -> String {
    format!("{}-chain-headless", fullname(release))
}

/// The chain pod's stable in-cluster DNS name, `<pod>.<headless Service>`.
pub fn chain_host(release: &str, id: &str) -> String {
    format!("{}.{}", chain_pod(release, id), headless_service(release))
}

/// The relayer Deployment; its pods' names start with it.
pub fn relayer_workload(release: &str) -> String {
    format!("{}-relayer", fullname(release))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullname_follows_the_chart_helper_for_any_release() {
        assert_eq!(fullname("cryptomeria"), "cryptomeria");
        assert_eq!(fullname("lab"), "lab-cryptomeria");
        assert_eq!(fullname("my-cryptomeria-x"), "my-cryptomeria-x");
        // Contains the chart's name only with another case: not a match (sprig `contains`).
        assert_eq!(fullname("Cryptomeria"), "Cryptomeria-cryptomeria");
        let long = "a".repeat(70);
        assert_eq!(fullname(&long), "a".repeat(63));
        // 52 chars + "-cryptomeria" is 64: the cut drops the last letter …
        let r = "b".repeat(52);
        assert_eq!(fullname(&r), format!("{r}-cryptomeri"));
        // … and a cut that lands on the separator drops it.
        let r = "c".repeat(62);
        assert_eq!(fullname(&r), r);
        let r = format!("{}-cryptomeria", "d".repeat(62));
        assert_eq!(fullname(&r), "d".repeat(62));
    }

    #[test]
    fn names_derive_from_the_fullname() {
        assert_eq!(chain_host("cryptomeria", "gwc"), "cryptomeria-gwc-0.cryptomeria-chain-headless");
        assert_eq!(chain_host("lab", "fdsc-1"), "lab-cryptomeria-fdsc-1-0.lab-cryptomeria-chain-headless");
        assert_eq!(relayer_workload("lab"), "lab-cryptomeria-relayer");
        assert_eq!(chain_workload("my-cryptomeria-x", "mdsc"), "my-cryptomeria-x-mdsc");
    }
}
