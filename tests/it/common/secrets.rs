//! The suite-wide secret scan (issue 12). Every in-process BFF taps its response bodies here,
//! and the service's own tracing output (debug level) is written here, for every test in the
//! binary. Each text is checked as it passes against: any three consecutive words of any
//! testbed mnemonic, any registered secret (the bearer token of the kubeconfig the BFF is
//! given, every txBytes a test submits). A leak is recorded with where it was seen, and the
//! next `Bff` drop (or `assert_clean`) fails the test.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// Chains whose mnemonics the testbed can mount (tests scale up to 8 fdsc; margin beyond).
const MAX_FDSC: usize = 16;
/// Registered secrets are matched by windows of this many characters.
const WINDOW: usize = 40;

struct Scanner {
    triples: HashSet<(String, String, String)>,
    /// Whole secrets by their first `WINDOW` characters.
    secrets: Mutex<HashMap<String, Vec<String>>>,
    leaks: Mutex<Vec<String>>,
}

fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        let mut chains = vec!["gwc".to_string(), "mdsc".to_string()];
        chains.extend((0..MAX_FDSC).map(|i| format!("fdsc-{i}")));
        let mut triples = HashSet::new();
        for chain in &chains {
            for role in ["relayer", "local-admin"] {
                let m = testbed::mnemonics::test_mnemonic(chain, role);
                let words: Vec<&str> = m.split(' ').collect();
                for w in words.windows(3) {
                    triples.insert((w[0].to_string(), w[1].to_string(), w[2].to_string()));
                }
            }
        }
        Scanner { triples, secrets: Mutex::default(), leaks: Mutex::default() }
    })
}

/// Adds a secret that must never be seen whole (found through its first `WINDOW` characters).
pub fn register(secret: &str) {
    let key: String = secret.chars().take(WINDOW).collect();
    if key.chars().count() == WINDOW {
        let mut secrets = scanner().secrets.lock().unwrap();
        let same = secrets.entry(key).or_default();
        if !same.iter().any(|s| s == secret) {
            same.push(secret.to_string());
        }
    }
}

/// Block reads return the chain's own data, committed txs included (SPEC §7
/// `/blocks/{h}/txs?format=raw`): public once on chain, so only mnemonics are looked for there.
fn shows_committed_txs(place: &str) -> bool {
    place.starts_with("response to GET /api/v1/chains/") && place.contains("/blocks/")
}

/// Checks `text` seen at `place`; records what leaked.
pub fn check(place: &str, text: &str) {
    let found = findings(place, text);
    if !found.is_empty() {
        let excerpt: String = text.chars().take(160).collect();
        scanner().leaks.lock().unwrap().push(format!("{place}: {} in {excerpt:?}", found.join(", ")));
    }
}

/// What `text` seen at `place` reveals, without recording it.
pub fn findings(place: &str, text: &str) -> Vec<String> {
    let s = scanner();
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut found = Vec::new();
    for w in words.windows(3) {
        if s.triples.contains(&(w[0].clone(), w[1].clone(), w[2].clone())) {
            found.push(format!("mnemonic words \"{} {} {}\"", w[0], w[1], w[2]));
            break;
        }
    }
    let secrets = s.secrets.lock().unwrap();
    if !secrets.is_empty() && !shows_committed_txs(place) {
        for run in text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/=_-.".contains(c))) {
            if run.len() < WINDOW || !run.is_ascii() {
                continue;
            }
            let whole = (0..=run.len() - WINDOW).any(|i| {
                secrets
                    .get(&run[i..i + WINDOW])
                    .is_some_and(|full| full.iter().any(|f| run[i..].starts_with(f.as_str())))
            });
            if whole {
                found.push("a registered secret (token or txBytes)".to_string());
                break;
            }
        }
    }
    found
}

/// Panics if anything leaked so far (not while already panicking).
pub fn assert_clean() {
    if std::thread::panicking() {
        return;
    }
    let leaks = scanner().leaks.lock().unwrap().clone();
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

/// Everything tracing writes on the current thread while the guard lives (a test's
/// single-threaded runtime runs the BFF's tasks on it too), at `filter`.
#[derive(Clone, Default)]
pub struct ThreadLogs(std::sync::Arc<Mutex<Vec<u8>>>);

impl ThreadLogs {
    pub fn capture(filter: &str) -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for ThreadLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        check("service log", &String::from_utf8_lossy(buf));
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The service's tracing output, checked line by line.
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        check("service log", &String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the scanning log sink as the process-wide subscriber (once).
pub fn capture_service_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info,bff=debug,kube=debug,tower_http=debug"))
            .with_writer(|| LogSink)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Wraps a response body so every frame's bytes are checked (per response, accumulated).
pub async fn tap(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use http_body_util::BodyExt as _;
    let place = format!("response to {} {}", req.method(), req.uri().path());
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let mut seen = String::new();
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
            check(&place, &seen);
            // Keep only a tail: a secret split across frames is still whole in it.
            if seen.len() > 4096 {
                let cut = seen.len() - 1024;
                let cut = (cut..seen.len()).find(|i| seen.is_char_boundary(*i)).unwrap_or(seen.len());
                seen.drain(..cut);
            }
        }
        frame
    });
    axum::response::Response::from_parts(parts, axum::body::Body::new(body))
}

/// A copy of `kubeconfig` whose user carries a bearer token, registered as a secret.
pub fn with_token(kubeconfig: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let token = format!(
        "testbed-token-{}",
        (0..48).map(|_| char::from(b'a' + rand::random_range(0..26u8))).collect::<String>()
    );
    register(&token);
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let text = text.replace("  user: {}", &format!("  user:\n    token: {token}"));
    let path = dir.join("kubeconfig-with-token");
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

#[test]
fn the_scan_finds_mnemonic_word_runs_and_whole_registered_secrets_only() {
    let words: Vec<String> =
        testbed::mnemonics::test_mnemonic("fdsc-3", "relayer").split(' ').map(String::from).collect();
    let leak = format!("restoring with {} {} {} failed", words[4], words[5], words[6]);
    assert_eq!(findings("log", &leak).len(), 1, "three consecutive words are found");
    assert!(findings("log", &format!("{} {}", words[4], words[5])).is_empty(), "two are not");
    let secret = format!("Cp{}", "QWxhZGRpbjpvcGVuIHNlc2FtZQ".repeat(4));
    register(&secret);
    assert_eq!(findings("response", &format!("{{\"tx\":\"{secret}\"}}")).len(), 1);
    assert!(
        findings("response", &format!("{{\"tx\":\"{}\"}}", &secret[..60])).is_empty(),
        "a prefix is not the secret"
    );
    assert!(
        findings("response to GET /api/v1/chains/gwc/blocks/7", &secret).is_empty(),
        "committed txs are public"
    );
}
