//! The shell's semantics, script by script, against what dash prints.

use crate::pod::tests::{sh, spec};
use crate::pod::{PodRuntime, PodSpec};

/// Runs a script in a fresh pod: (exit code, stdout, stderr).
async fn run(script: &str) -> (i32, String, String) {
    let out = sh(&PodRuntime::start(spec()), script).await;
    (out.code, out.out(), out.err())
}

async fn out(script: &str) -> String {
    let (code, out, err) = run(script).await;
    assert_eq!((code, err.as_str()), (0, ""), "{script}");
    out
}

#[tokio::test]
async fn the_mnemonic_loop() {
    let script = r#"for c in gwc mdsc fdsc; do if [ -f /etc/mnemonics/$c.relayer.mnemonic ]; then echo "$c"; fi; done"#;
    assert_eq!(out(script).await, "gwc\nmdsc\n");
    assert_eq!(
        out("for f in /etc/mnemonics/*.mnemonic; do echo ${f##*/}; done").await,
        "gwc.relayer.mnemonic\nmdsc.relayer.mnemonic\n"
    );
    assert_eq!(out("for f in /nope/*; do echo \"$f\"; done").await, "/nope/*\n");
}

#[tokio::test]
async fn substitution_pipes_and_lists() {
    assert_eq!(out("echo hello > /tmp/f; x=$(cat /tmp/f); echo \"got $x\"").await, "got hello\n");
    assert_eq!(out("echo `echo a` $(printf 'b\\n\\n\\n')c").await, "a bc\n");
    assert_eq!(out("echo a b | cat").await, "a b\n");
    assert_eq!(out("printf 'x\\ny\\nz\\n' | grep -v y | wc -l").await, "2\n");
    assert_eq!(out("true && echo yes || echo no; false && echo yes || echo no").await, "yes\nno\n");
    assert_eq!(out("false || false || echo third; true || echo never").await, "third\n");
    assert_eq!(out("false; echo $?; true; echo $?; ! true; echo $?").await, "1\n0\n1\n");
    assert_eq!(out("x=$(exit 3); echo $?").await, "3\n");
    assert_eq!(out("echo a | { read v; echo \"in:$v\"; }; echo \"out:$v\"").await, "in:a\nout:\n");
}

#[tokio::test]
async fn redirections() {
    assert_eq!(run("echo out; echo err >&2").await, (0, "out\n".into(), "err\n".into()));
    assert_eq!(run("{ echo out; echo err >&2; } 2>&1").await, (0, "out\nerr\n".into(), String::new()));
    assert_eq!(run("nosuch 2>/dev/null; echo $?").await, (0, "127\n".into(), String::new()));
    assert_eq!(run("echo hidden > /dev/null").await, (0, String::new(), String::new()));
    assert_eq!(run("(echo o; echo e >&2) > /dev/null 2>&1").await, (0, String::new(), String::new()));
    assert_eq!(run("(echo o; echo e >&2) 2>&1 > /dev/null").await, (0, "e\n".into(), String::new()));
    assert_eq!(out("echo a > /tmp/f; echo b >> /tmp/f; cat < /tmp/f").await, "a\nb\n");
    assert_eq!(out("cat <<EOF\nhome=$HOME\n  'q' \\$x\nEOF").await, "home=/root\n  'q' $x\n");
    assert_eq!(out("cat <<'EOF'\n$HOME\nEOF\ncat <<-E\n\tx\n\tE").await, "$HOME\nx\n");
    assert_eq!(out("> /tmp/empty; wc -c < /tmp/empty").await, "0\n");
    let (code, _, err) = run("echo x > /nope/f").await;
    assert_eq!((code, err.as_str()), (2, "sh: cannot create /nope/f: Directory nonexistent\n"));
    let (code, _, err) = run("cat < /nope").await;
    assert_eq!((code, err.as_str()), (2, "sh: cannot open /nope: No such file\n"));
}

#[tokio::test]
async fn variables_and_expansions() {
    assert_eq!(out("X=y; echo $X ${X} \"$X\" '$X'").await, "y y y $X\n");
    assert_eq!(out("X='a  b'; printf '[%s]' $X \"$X\"; echo").await, "[a][b][a  b]\n");
    assert_eq!(
        out("echo ${U:-def} ${U-d2} ${E:+alt}; E=; echo [${E:-x}] [${E-x}]").await,
        "def d2\n[x] []\n"
    );
    assert_eq!(out("echo ${N:=set}; echo $N ${#N}").await, "set\nset 3\n");
    assert_eq!(
        out("p=/a/b/c.tar.gz; echo ${p##*/} ${p%/*} ${p%%.*} ${p#*.}").await,
        "c.tar.gz /a/b /a/b/c tar.gz\n"
    );
    assert_eq!(
        out("i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo $i $((2 * (3 + 4))) $((7 % 3))").await,
        "3 14 1\n"
    );
    assert_eq!(out("A=1 sh -c 'echo $A'; echo \"[$A]\"; a=1 b=$a; echo $b").await, "1\n[]\n1\n");
    assert_eq!(out("IFS=: ; x=a:b:c; for p in $x; do echo $p; done").await, "a\nb\nc\n");
    assert_eq!(out("echo ~ ~/x \"~\"").await, "/root /root/x ~\n");
    assert_eq!(out("echo a\\ b \"c\\\"d\" 'e\\f'").await, "a b c\"d e\\f\n");
    let (code, _, err) = run("echo ${NOPE:?is required}; echo never").await;
    assert_eq!((code, err.as_str()), (2, "sh: NOPE: is required\n"));
    let (code, _, err) = run("set -u; echo $NOPE").await;
    assert_eq!((code, err.as_str()), (2, "sh: NOPE: parameter not set\n"));
}

#[tokio::test]
async fn positional_parameters() {
    let pod = PodRuntime::start(spec());
    let o = pod
        .exec_collect(
            &["sh", "-c", "echo $0 $# \"$1\"; for a in \"$@\"; do echo \"<$a>\"; done", "me", "a b", "c"],
            b"",
        )
        .await;
    assert_eq!(o.out(), "me 2 a b\n<a b>\n<c>\n");
    assert_eq!(
        out("set -- x y z; shift; echo $# $*; set --; for a in \"$@\"; do echo no; done").await,
        "2 y z\n"
    );
    assert_eq!(out("f() { echo \"$# $1\"; return 4; }; f one two; echo $?").await, "2 one\n4\n");
}

#[tokio::test]
async fn control_flow() {
    let script = "for i in 1 2 3 4 5; do [ $i = 2 ] && continue; [ $i = 4 ] && break; echo $i; done";
    assert_eq!(out(script).await, "1\n3\n");
    assert_eq!(
        out("for i in a b; do for j in 1 2; do [ $j = 2 ] && continue 2; echo $i$j; done; done").await,
        "a1\nb1\n"
    );
    assert_eq!(out("n=0; until [ $n -ge 2 ]; do n=$((n+1)); echo $n; done").await, "1\n2\n");
    assert_eq!(out("if false; then echo a; elif true; then echo b; else echo c; fi").await, "b\n");
    assert_eq!(out("if false; then :; fi; echo $?").await, "0\n");
    let case = "for x in start stop foo.json other; do case $x in start|stop) echo verb;; *.json) echo json;; *) echo other;; esac; done";
    assert_eq!(out(case).await, "verb\nverb\njson\nother\n");
    assert_eq!(
        out("case \"a b\" in 'a '*) echo quoted-prefix;; esac; case x in *) ;; esac; echo $?").await,
        "quoted-prefix\n0\n"
    );
    assert_eq!(out("g() { local v=inner; echo $v; }; v=outer; g; echo $v").await, "inner\nouter\n");
    assert_eq!(out("(X=sub; exit 5); echo $? $X").await, "5\n");
    assert_eq!(run("echo a; exit 7; echo b").await, (7, "a\n".into(), String::new()));
    assert_eq!(
        out("printf 'l1\\nl2 x\\n' | while read -r a b; do echo \"[$a|$b]\"; done").await,
        "[l1|]\n[l2|x]\n"
    );
    assert_eq!(out("eval 'Y=3; echo $Y'; echo $Y").await, "3\n3\n");
    assert_eq!(out("echo 'Z=4' > /tmp/env; . /tmp/env; echo $Z").await, "4\n");
    assert_eq!(
        out("cd /etc/mnemonics && pwd && ls | head -1 && cd .. && pwd").await,
        "/etc/mnemonics\ngwc.relayer.mnemonic\n/etc\n"
    );
    assert_eq!(
        out("command -v cat; command -v nosuch || echo missing; type cd").await,
        "/usr/bin/cat\nmissing\ncd is a shell builtin\n"
    );
}

#[tokio::test]
async fn errexit_and_xtrace() {
    assert_eq!(run("set -e; echo a; false; echo b").await, (1, "a\n".into(), String::new()));
    assert_eq!(out("set -e; if false; then :; fi; false || true; ! true; echo survived").await, "survived\n");
    assert_eq!(run("sh -ec 'false && true; echo ok'").await.1, "ok\n");
    assert_eq!(run("set -x; echo hi").await, (0, "hi\n".into(), "+ echo hi\n".into()));
    assert_eq!(run("set -o pipefail; false | true; echo $?").await.1, "1\n");
    assert_eq!(run("sh -eo pipefail -c 'false | true; echo never'").await.0, 1);
}

#[tokio::test(start_paused = true)]
async fn background_jobs_wait_and_kill() {
    let pod = PodRuntime::start(spec());
    let o = sh(&pod, "sleep 5 & p=$!; echo started; wait $p; echo waited $?").await;
    assert_eq!(o.out(), "started\nwaited 0\n");
    let o = sh(&pod, "sleep 100 & kill $!; wait $!; echo $?; kill 9999").await;
    assert_eq!((o.out(), o.err()), ("143\n".into(), "kill: (9999) - No such process\n".into()));
    let o = sh(&pod, "(sleep 1; echo late > /tmp/late) & echo now").await;
    assert_eq!(o.out(), "now\n");
    assert_eq!(sh(&pod, "sleep 2; cat /tmp/late").await.out(), "late\n");
    let spec_with_loop =
        PodSpec { pid1: vec!["sh".into(), "-c".into(), "while true; do sleep 1; done".into()], ..spec() };
    let looping = PodRuntime::start(spec_with_loop);
    assert_eq!(sh(&looping, "sleep 3; pgrep -o -x sh").await.out(), "1\n");
    assert_eq!(sh(&looping, "exec echo replaced; echo never").await.out(), "replaced\n");
}

#[tokio::test]
async fn unsupported_and_broken_scripts_exit_2_with_a_message() {
    for (script, message) in [
        ("echo ${X/a/b}", "sh: unsupported construct: this ${…} expansion form\n"),
        ("echo $'x'", "sh: unsupported construct: $'…' quoting\n"),
        ("echo hi 3>&1", "sh: unsupported construct: redirection of fd 3\n"),
        ("trap 'echo bye' EXIT", "sh: unsupported construct: trap with a command\n"),
    ] {
        assert_eq!(run(script).await, (2, String::new(), message.into()), "{script}");
    }
    for script in ["if true; then", "echo 'open", "for ((i=0;i<3;i++)); do :; done", "a=(1 2)", "fi", "case"]
    {
        let (code, _, err) = run(script).await;
        assert_eq!(code, 2, "{script}");
        assert!(err.starts_with("sh: syntax error"), "{script}: {err}");
    }
    assert_eq!(run("[[ -f /x ]]").await, (127, String::new(), "sh: [[: not found\n".into()));
    assert_eq!(run("sh -c").await.0, 2);
}
