//! The names one Helm release of the chart renders. The chart builds them from its
//! `cryptomeria.fullname` helper (`_helpers.tpl`); a few it hard-codes (the faucet's objects,
//! the Secret the faucet reads, the genesis-server URL in the chain entrypoint), and those
//! stay literal in the builders.

/// The chart's name: `Chart.yaml`, and the `app.kubernetes.io/name` label of every object.
pub const CHART_NAME: &str = "cryptomeria";
/// The release `just deploy` installs, and the testbed's default.
pub const DEFAULT_RELEASE: &str = "cryptomeria";

/// A release's name and the fullname every rendered object name starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub fullname: String,
}

impl Release {
    pub fn new(name: &str) -> Self {
        Self { name: name.to_string(), fullname: fullname(name) }
    }

    /// `<fullname>-<suffix>`, the shape of every rendered name.
    pub fn object(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.fullname)
    }
    pub fn relayer(&self) -> String {
        self.object("relayer")
    }
    pub fn relayer_pvc(&self) -> String {
        self.object("relayer-data")
    }
    pub fn headless(&self) -> String {
        self.object("chain-headless")
    }
    pub fn mnemonics(&self) -> String {
        self.object("mnemonics")
    }
    pub fn scripts(&self) -> String {
        self.object("scripts")
    }
    pub fn genesis_script(&self) -> String {
        self.object("genesis-script")
    }
    pub fn genesis_server(&self) -> String {
        self.object("genesis-server")
    }
}

impl Default for Release {
    fn default() -> Self {
        Self::new(DEFAULT_RELEASE)
    }
}

/// `cryptomeria.fullname` with the chart's values (no `nameOverride`/`fullnameOverride`): the
/// release name if it contains the chart's name, else `<release>-cryptomeria`, cut to 63
/// characters and stripped of a trailing `-`.
pub fn fullname(release: &str) -> String {
    let full =
        if release.contains(CHART_NAME) { release.to_string() } else { format!("{release}-{CHART_NAME}") };
    let cut: String = full.chars().take(63).collect();
    cut.trim_end_matches('-').to_string()
}

/// Whether Helm accepts `name` as a release name: a DNS-1123 label of at most 53 characters.
pub fn valid_release_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    !name.is_empty()
        && name.len() <= 53
        && name.chars().all(ok_char)
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_fullname_helper() {
        assert_eq!(Release::new("cryptomeria").headless(), "cryptomeria-chain-headless");
        assert_eq!(Release::new("lab").relayer(), "lab-cryptomeria-relayer");
        assert_eq!(Release::new("my-cryptomeria-x").mnemonics(), "my-cryptomeria-x-mnemonics");
        assert_eq!(fullname(&"a".repeat(70)), "a".repeat(63));
        assert!(
            valid_release_name("lab") && !valid_release_name("Lab") && !valid_release_name(&"a".repeat(54))
        );
    }
}
