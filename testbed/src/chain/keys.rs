//! secp256k1 account keys as a Cosmos wallet derives them: BIP39 mnemonic → seed →
//! BIP32 path m/44'/118'/0'/0/0 → compressed public key → bech32 `cosmos1…` address
//! (ripemd160(sha256(pubkey))). Test keys only: every one of them is public.

use super::sdk_error::{SdkError, codes};
use crate::mnemonics::test_mnemonic;
use k256::ecdsa::signature::Signer as _;
use sha2::{Digest as _, Sha256};

/// Bech32 prefix of account addresses on every testbed chain (the chart's `account-prefix`).
pub const ACCOUNT_PREFIX: &str = "cosmos";
/// Cosmos Hub coin type 118, as `rly keys restore` and `gaiad keys add` derive.
pub const HD_PATH: &str = "m/44'/118'/0'/0/0";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    #[error("failed to derive the key: {0}")]
    Derive(String),
}

/// A signing key with its public key and address.
#[derive(Clone)]
pub struct TestKey {
    signing: k256::ecdsa::SigningKey,
    /// Compressed SEC1 public key (33 bytes).
    pub public_key: Vec<u8>,
    pub address: String,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private half never reaches a log.
        f.debug_struct("TestKey").field("address", &self.address).finish_non_exhaustive()
    }
}

impl TestKey {
    pub fn from_mnemonic(words: &str) -> Result<Self, KeyError> {
        let mnemonic = bip39::Mnemonic::parse(words).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        let seed = mnemonic.to_seed("");
        let path: cosmrs::bip32::DerivationPath =
            HD_PATH.parse().map_err(|e| KeyError::Derive(format!("{e}")))?;
        let xprv = cosmrs::bip32::XPrv::derive_from_path(seed, &path)
            .map_err(|e| KeyError::Derive(format!("{e}")))?;
        Ok(Self::from_signing_key(xprv.private_key().clone()))
    }

    /// The key the chart mounts as `/etc/mnemonics/<chain_id>.<role>.mnemonic`.
    pub fn for_role(chain_id: &str, role: &str) -> Self {
        Self::from_mnemonic(&test_mnemonic(chain_id, role)).expect("test mnemonics are valid BIP39")
    }

    pub fn random() -> Self {
        Self::from_signing_key(k256::ecdsa::SigningKey::random(&mut k256::elliptic_curve::rand_core::OsRng))
    }

    fn from_signing_key(signing: k256::ecdsa::SigningKey) -> Self {
        let public_key = signing.verifying_key().to_encoded_point(true).as_bytes().to_vec();
        let address = address_of_public_key(&public_key);
        Self { signing, public_key, address }
    }

    /// A 64-byte low-S ECDSA signature over SHA-256 of `message`, as the SDK's secp256k1 key signs.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: k256::ecdsa::Signature = self.signing.sign(message);
        sig.normalize_s().unwrap_or(sig).to_bytes().to_vec()
    }
}

/// `cosmos1…` of a compressed secp256k1 key: bech32(ripemd160(sha256(key))).
pub fn address_of_public_key(public_key: &[u8]) -> String {
    let sha = Sha256::digest(public_key);
    let rip = <ripemd::Ripemd160 as ripemd::Digest>::digest(sha);
    bech32_address(&rip)
}

/// A module account's address: the first 20 bytes of sha256(module name)
/// (`types/address/hash.go : Module` with no derivation keys).
pub fn module_address(name: &str) -> String {
    bech32_address(&Sha256::digest(name.as_bytes())[..20])
}

pub fn bech32_address(bytes: &[u8]) -> String {
    cosmrs::AccountId::new(ACCOUNT_PREFIX, bytes).map(|a| a.to_string()).unwrap_or_default()
}

/// Checks a bech32 account address; the error reads as the SDK's address codec words it.
pub fn validate_address(address: &str) -> Result<(), SdkError> {
    let parsed: cosmrs::AccountId = address.parse().map_err(|e: cosmrs::ErrorReport| {
        SdkError::wrap(codes::INVALID_ADDRESS, format!("decoding bech32 failed: {e}"))
    })?;
    if parsed.prefix() != ACCOUNT_PREFIX {
        return Err(SdkError::wrap(
            codes::INVALID_ADDRESS,
            format!("invalid Bech32 prefix; expected {ACCOUNT_PREFIX}, got {}", parsed.prefix()),
        ));
    }
    Ok(())
}

/// Verifies a SIGN_MODE_DIRECT signature: 64 bytes r‖s, low-S, over SHA-256 of the sign bytes.
pub fn verify_signature(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use k256::ecdsa::signature::Verifier as _;
    let Ok(key) = k256::ecdsa::VerifyingKey::from_sec1_bytes(public_key) else { return false };
    let Ok(sig) = k256::ecdsa::Signature::from_slice(signature) else { return false };
    key.verify(message, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_test_phrase_gives_the_well_known_address() {
        // crates.md build report: "abandon … about" → cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4.
        let words =
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        assert_eq!(
            TestKey::from_mnemonic(words).unwrap().address,
            "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"
        );
        // rly's own test vector (chain-shapes.md §3): abandon ×23 art.
        let art = format!("{} art", ["abandon"; 23].join(" "));
        assert_eq!(
            TestKey::from_mnemonic(&art).unwrap().address,
            "cosmos1r5v5srda7xfth3hn2s26txvrcrntldjumt8mhl"
        );
    }

    #[test]
    fn fee_collector_address_matches_the_recorded_sdk_events() {
        // simd_v0_37/tx_search.json: the fee goes to cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta.
        assert_eq!(module_address("fee_collector"), "cosmos17xpfvakm2amg962yls6f84z3kell8c5lserqta");
    }

    #[test]
    fn signatures_verify_only_with_the_signing_key() {
        let (a, b) = (TestKey::random(), TestKey::random());
        let sig = a.sign(b"sign doc");
        assert!(verify_signature(&a.public_key, b"sign doc", &sig));
        assert!(!verify_signature(&b.public_key, b"sign doc", &sig));
        assert!(!verify_signature(&a.public_key, b"other doc", &sig));
        assert!(!verify_signature(&a.public_key, b"sign doc", &sig[..63]));
    }

    #[test]
    fn addresses_with_another_prefix_or_checksum_are_invalid() {
        assert!(validate_address("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").is_ok());
        assert_eq!(validate_address("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal5").unwrap_err().code, 7);
        assert_eq!(validate_address("osmo19rl4cm2hmr8afy4kldpxz3fka4jguq0a8xgmjr").unwrap_err().code, 7);
    }
}
