//! The one redaction layer every job log line, stored request, result and error passes
//! through: secrets registered at submission (tokens, txBytes the BFF was given), runs of
//! 12+ mnemonic-like words, and base64 blobs over 256 characters.

use regex::Regex;
use serde_json::Value;
use std::sync::{Arc, LazyLock, RwLock};

/// 12 or more lowercase words of BIP39's 3–8 letters in a row: a mnemonic (or its shape).
static MNEMONIC_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z]{3,8}(?:[ \t]+[a-z]{3,8}){11,}\b").expect("valid regex"));
/// Base64 (standard or URL-safe) runs longer than 256 characters: tx bytes, keys, blobs.
static BASE64_BLOB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_-]{257,}={0,2}").expect("valid regex"));

/// Shared, cheap to clone; secrets registered through any clone apply everywhere.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Registers a value that must never appear in logs or responses (ignored if too short
    /// to be meaningful, so it cannot blank out ordinary text).
    pub fn register(&self, secret: &str) {
        if secret.len() >= 8 {
            self.secrets.write().unwrap_or_else(|e| e.into_inner()).push(secret.to_string());
        }
    }

    pub fn text(&self, input: &str) -> String {
        let mut out = input.to_string();
        for secret in self.secrets.read().unwrap_or_else(|e| e.into_inner()).iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[REDACTED]");
            }
        }
        let out = MNEMONIC_LIKE.replace_all(&out, "[REDACTED mnemonic]");
        BASE64_BLOB
            .replace_all(&out, |c: &regex::Captures<'_>| format!("[REDACTED {} chars]", c[0].len()))
            .into_owned()
    }

    /// Redacts every string inside a JSON value.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.json(v))).collect()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MNEMONIC: &str =
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn a_bip39_mnemonic_in_command_output_is_redacted() {
        let r = Redactor::default();
        let out = r.text(&format!("restored key from: {MNEMONIC}\n"));
        assert!(!out.contains("abandon abandon abandon"), "{out}");
        assert!(out.contains("[REDACTED mnemonic]"));
    }

    #[test]
    fn ordinary_sentences_survive() {
        let r = Redactor::default();
        let line = "gateway channel to fdsc-0 already OPEN; skipping link";
        assert_eq!(r.text(line), line);
    }

    #[test]
    fn registered_secrets_and_long_base64_are_redacted() {
        let r = Redactor::default();
        r.register("s3cr3t-token-value");
        let blob = "A".repeat(300);
        let out = r.text(&format!("token=s3cr3t-token-value tx={blob}"));
        assert_eq!(out, "token=[REDACTED] tx=[REDACTED 300 chars]");
    }

    #[test]
    fn json_values_are_redacted_recursively() {
        let r = Redactor::default();
        let v = serde_json::json!({"txs": [ "B".repeat(400) ], "n": 1});
        assert_eq!(r.json(&v), serde_json::json!({"txs": ["[REDACTED 400 chars]"], "n": 1}));
    }
}
