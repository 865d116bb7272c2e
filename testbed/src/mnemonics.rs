//! The testbed's fixed test mnemonics: one `local-admin` and one `relayer` key per chain, the
//! chart's `staticMnemonics` from its `values.yaml` (gwc and mdsc each their own; every
//! `fdsc-<i>` shares one pair, as the chart's Secret repeats it under each chain's file name).
//!
//! Any other chain or role (tests ask for unfunded keys) gets one derived from the chain id
//! and role (SHA-256 → 256-bit BIP39 entropy). Test keys only: they guard nothing.

use sha2::{Digest, Sha256};

/// The two keys the chart mounts for each chain.
pub const ROLES: [&str; 2] = ["local-admin", "relayer"];

/// `(component, role, mnemonic)` of the chart's `values.yaml` `staticMnemonics`.
const STATIC_MNEMONICS: [(&str, &str, &str); 6] = [
    (
        "gwc",
        "local-admin",
        "noise glove aim involve lemon stairs step junk easily drink else attitude sauce monster weapon donkey tobacco hope build exhaust birth accuse immune ordinary",
    ),
    (
        "gwc",
        "relayer",
        "veteran what limit claw lizard grab echo pull sunset rain charge honey grain fiction sister pink category car sugar vital special obvious opinion burden",
    ),
    (
        "mdsc",
        "local-admin",
        "finish betray cement cram furnace turkey cattle write bean fix snake place step apple sleep embody gift scale confirm youth design seed awful essay",
    ),
    (
        "mdsc",
        "relayer",
        "behave school chest file fix apple magic decide iron lazy leader crunch roof settle service correct guilt sun size rapid labor tank bridge punch",
    ),
    (
        "fdsc",
        "local-admin",
        "poem cushion coffee heart early aunt gorilla garden close adjust mutual fault reduce foam lecture glide soup road fog aware sick change scrap uncle",
    ),
    (
        "fdsc",
        "relayer",
        "sight damage wagon runway raccoon special reward desk extend raw muffin latin popular tackle eyebrow symbol possible exchange public hotel love into dutch joy",
    ),
];

/// The chart's component of a chain id: `gwc`, `mdsc`, or `fdsc` for `fdsc-<i>`.
fn component(chain_id: &str) -> &str {
    match chain_id.strip_prefix("fdsc-") {
        Some(i) if !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) => "fdsc",
        _ => chain_id,
    }
}

/// The 24-word BIP39 mnemonic of `role` on `chain_id`.
pub fn test_mnemonic(chain_id: &str, role: &str) -> String {
    let chart = STATIC_MNEMONICS.iter().find(|(c, r, _)| *c == component(chain_id) && *r == role);
    if let Some((_, _, words)) = chart {
        return (*words).to_string();
    }
    let entropy = Sha256::digest(format!("cryptomeria-testbed/{chain_id}/{role}"));
    bip39::Mnemonic::from_entropy(&entropy).expect("32 bytes is valid BIP39 entropy").to_string()
}

/// `(file name, mnemonic)` pairs as mounted under `/etc/mnemonics`.
pub fn mnemonic_files(chain_ids: &[String]) -> Vec<(String, String)> {
    chain_ids
        .iter()
        .flat_map(|id| {
            ROLES.iter().map(move |role| (format!("{id}.{role}.mnemonic"), test_mnemonic(id, role)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_are_valid_distinct_and_stable() {
        let a = test_mnemonic("gwc", "relayer");
        assert_eq!(a.split(' ').count(), 24);
        assert!(bip39::Mnemonic::parse(&a).is_ok());
        assert_eq!(a, test_mnemonic("gwc", "relayer"));
        assert_ne!(a, test_mnemonic("gwc", "local-admin"));
        assert_ne!(a, test_mnemonic("mdsc", "relayer"));
        assert_eq!(test_mnemonic("fdsc-0", "relayer"), test_mnemonic("fdsc-7", "relayer"));
        assert!(test_mnemonic("gwc", "local-admin").starts_with("noise glove"));
        let other = test_mnemonic("gwc", "unfunded");
        assert!(bip39::Mnemonic::parse(&other).is_ok());
        assert_ne!(other, a);
        for (_, _, words) in STATIC_MNEMONICS {
            assert!(bip39::Mnemonic::parse(words).is_ok(), "{words}");
        }
    }
}
