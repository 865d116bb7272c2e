//! The testbed's fixed test mnemonics: one `local-admin` and one `relayer` key per chain.
//!
//! Derived deterministically from the chain id and role (SHA-256 → 256-bit BIP39 entropy),
//! so every run, every pod and every genesis agrees on them without shipping word lists.
//! Test keys only: they guard nothing.

use sha2::{Digest, Sha256};

/// The two keys the chart mounts for each chain.
pub const ROLES: [&str; 2] = ["local-admin", "relayer"];

/// The 24-word BIP39 mnemonic of `role` on `chain_id`.
pub fn test_mnemonic(chain_id: &str, role: &str) -> String {
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
    }
}
