//! The one redaction layer every job log line, stored request, result and error passes
//! through: secrets registered at submission (tokens, txBytes the BFF was given), runs of
//! 12+ mnemonic-like words, and base64 blobs over 256 characters.

use crate::sync::ReadWrite;
use regex::Regex;
use serde_json::Value;
use std::borrow::Cow;
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
            self.secrets.write_locked().push(secret.to_string());
        }
    }

    pub fn text(&self, input: &str) -> String {
        self.redacted(input).unwrap_or_else(|| input.to_string())
    }

    /// `input` with its secrets and secret-shaped runs replaced; `None` when it has none.
    fn redacted(&self, input: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for secret in self.secrets.read_locked().iter() {
            let current = out.as_deref().unwrap_or(input);
            if current.contains(secret.as_str()) {
                out = Some(current.replace(secret.as_str(), "[REDACTED]"));
            }
        }
        let current = out.as_deref().unwrap_or(input);
        if !could_hold_a_pattern(current) {
            return out;
        }
        let unmnemonic = MNEMONIC_LIKE.replace_all(current, "[REDACTED mnemonic]");
        let blobs = BASE64_BLOB
            .replace_all(&unmnemonic, |c: &regex::Captures<'_>| format!("[REDACTED {} chars]", c[0].len()));
        let changed = matches!(unmnemonic, Cow::Owned(_)) || matches!(blobs, Cow::Owned(_));
        if changed { Some(blobs.into_owned()) } else { out }
    }

    /// Redacts every string inside a JSON value.
    pub fn json(&self, value: &Value) -> Value {
        self.json_owned(value.clone())
    }

    /// Redacts every string inside a JSON value, in place: strings with nothing to redact
    /// (nearly all of a large result's) are neither scanned by the patterns nor copied.
    pub fn json_owned(&self, mut value: Value) -> Value {
        self.redact_in_place(&mut value);
        value
    }

    fn redact_in_place(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Some(r) = self.redacted(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_in_place(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_in_place(v)),
            _ => {}
        }
    }
}

/// Whether `s` is long enough, and spaced enough, for either pattern to match: a mnemonic is
/// 12 words of ≥ 3 letters (≥ 47 characters, ≥ 11 blanks), a blob ≥ 257 characters.
fn could_hold_a_pattern(s: &str) -> bool {
    s.len() >= 257 || (s.len() >= 47 && s.bytes().filter(|b| matches!(b, b' ' | b'\t')).count() >= 11)
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

    #[test]
    fn json_owned_redacts_secrets_and_patterns_and_keeps_the_rest() {
        let r = Redactor::default();
        r.register("s3cr3t-token-value");
        let v = serde_json::json!({
            "log": "sent with s3cr3t-token-value",
            "rows": [{"txhash": "AB".repeat(32), "note": format!("key: {MNEMONIC}")}],
            "n": 1,
        });
        assert_eq!(
            r.json_owned(v),
            serde_json::json!({
                "log": "sent with [REDACTED]",
                "rows": [{"txhash": "AB".repeat(32), "note": "key: [REDACTED mnemonic]"}],
                "n": 1,
            })
        );
    }

    #[test]
    fn the_prefilter_lets_every_shape_the_patterns_match_through() {
        // The shortest mnemonic shape (12 three-letter words) and the shortest blob.
        let short = ["abc"; 12].join(" ");
        assert_eq!(Redactor::default().text(&short), "[REDACTED mnemonic]");
        assert_eq!(Redactor::default().text(&"C".repeat(257)), "[REDACTED 257 chars]");
        assert!(!could_hold_a_pattern(&["abc"; 11].join(" ")));
        assert!(!could_hold_a_pattern(&"C".repeat(256)));
    }
}
