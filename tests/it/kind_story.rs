//! `kind/story.sh`, the operator story kind/e2e.sh runs against the real chart (start, an
//! upload session closes, relayer pod deleted and healed with no new channel, stop, resume,
//! another session closes), run here as written against a BFF on the embedded testbed: the
//! same script, the real `kubectl`, `curl` and `ctl`.

use crate::reconcile::Harness;
use std::path::PathBuf;

const BIN: &str = env!("CARGO_BIN_EXE_cryptomeria-bff");

#[tokio::test]
async fn the_kind_story_script_passes_against_the_testbed() {
    crate::testbed_only!(
        "kind/e2e.sh runs this script against the real chart itself; these 60 s waits fit testbed blocks"
    );
    let h = Harness::new(2).await;
    h.wait_relayer_in_cache().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kind/story.sh");
    let run = tokio::process::Command::new("bash")
        .arg(&script)
        .env("BFF_API", &h.bff.url)
        .env("BFF_BIN", BIN)
        .env("KUBECONFIG", &h.env.kubeconfig)
        .env("NAMESPACE", h.env.ns())
        .env("HOME", h.env.kubectl_home.path())
        .env("KUBECACHEDIR", h.env.kubectl_home.path().join("cache"))
        .env("STORY_TIMEOUT", "60")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(300), run)
        .await
        .expect("the story ends within 5 minutes")
        .expect("bash runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kind/story.sh failed:\n{said}");
    for turn in ["1/5 start", "2/5 delete the relayer pod", "3/5 stop", "4/5 resume", "story: passed"] {
        assert!(said.contains(turn), "the story skipped '{turn}':\n{said}");
    }
    for project in ["story-start", "story-resume"] {
        assert!(said.contains(&format!("({project}) closed")), "no session of {project} closed:\n{said}");
    }
}
