//! End-to-end tests of the in-pod world through `exec`: files, volumes, streaming,
//! cancellation, background jobs, the pod log, `pgrep`/`pkill`, and hostile input.

use super::*;
use std::future::Future;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;

pub(super) fn spec() -> PodSpec {
    let mnemonic =
        |c: &str| (format!("/etc/mnemonics/{c}.relayer.mnemonic"), b"abandon abandon about".to_vec());
    PodSpec {
        hostname: "relayer-0".into(),
        mounts: vec![],
        files: vec![mnemonic("gwc"), mnemonic("mdsc")],
        pid1: vec!["sleep".into(), "infinity".into()],
        programs: Programs::new().with("ticker", ticker),
    }
}

/// Writes `tick N` every 100 ms until cancelled.
async fn ticker(mut ctx: ProcCtx) -> i32 {
    for n in 1.. {
        tokio::select! {
            _ = ctx.cancel.cancelled() => return 0,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if !ctx.out(format!("tick {n}\n")).await {
                    return 1;
                }
            }
        }
    }
    0
}

pub(super) async fn sh(pod: &PodRuntime, script: &str) -> ExecOutput {
    pod.exec_collect(&["sh", "-c", script], b"").await
}

/// Polls (in simulated time) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn names(pod: &PodRuntime) -> Vec<String> {
    pod.procs().list().into_iter().map(|p| p.cmdline).collect()
}

#[tokio::test]
async fn stdin_into_a_file_and_back() {
    let pod = PodRuntime::start(spec());
    let w = pod.exec_collect(&["sh", "-c", "cat > /tmp/x.json"], br#"{"a":1}"#).await;
    assert_eq!((w.code, w.err()), (0, String::new()));
    let r = pod.exec_collect(&["cat", "/tmp/x.json"], b"").await;
    assert_eq!((r.code, r.out()), (0, r#"{"a":1}"#.to_string()));
    assert_eq!(pod.fs().read_file("/tmp/x.json").as_deref(), Some(&br#"{"a":1}"#[..]));
}

#[tokio::test]
async fn not_found_direct_and_via_shell() {
    let pod = PodRuntime::start(spec());
    let direct = pod.exec_collect(&["nosuchcmd", "x"], b"").await;
    assert_eq!(direct.code, 127);
    assert!(direct.err().contains("\"nosuchcmd\": executable file not found"), "{}", direct.err());
    let via_sh = sh(&pod, "nosuchcmd").await;
    assert_eq!((via_sh.code, via_sh.err()), (127, "sh: nosuchcmd: not found\n".to_string()));
    assert_eq!(pod.exec_collect(&["test", "-f", "/nope"], b"").await.code, 1);
    assert_eq!(pod.exec_collect(&["/bin/sh", "-c", "exit 3"], b"").await.code, 3);
}

#[tokio::test]
async fn a_volume_outlives_the_pod_and_tmp_does_not() {
    let pvc = Volume::new();
    let with_pvc = || PodSpec { mounts: vec![("/home/relayer/.relayer".into(), pvc.clone())], ..spec() };
    let first = PodRuntime::start(with_pvc());
    let out = sh(&first, "mkdir -p /home/relayer/.relayer/config && echo cfg > /home/relayer/.relayer/config/config.yaml && echo t > /tmp/t").await;
    assert_eq!(out.code, 0, "{}", out.err());
    first.shutdown();
    let second = PodRuntime::start(with_pvc());
    assert_eq!(sh(&second, "cat /home/relayer/.relayer/config/config.yaml").await.out(), "cfg\n");
    assert_eq!(sh(&second, "ls /home/relayer").await.out(), "");
    assert_eq!(sh(&second, "ls -a /home/relayer").await.out(), ".relayer\n");
    let gone = sh(&second, "cat /tmp/t").await;
    assert_eq!((gone.code, gone.err()), (1, "cat: /tmp/t: No such file or directory\n".to_string()));
}

#[tokio::test(start_paused = true)]
async fn output_is_streamed_while_the_process_runs() {
    let pod = PodRuntime::start(spec());
    let (writer, mut reader) = tokio::io::duplex(1024);
    let exec = tokio::spawn({
        let pod = pod.clone();
        async move {
            let argv = ["sh", "-c", "echo first; sleep 10; echo second"].map(String::from).to_vec();
            pod.exec(
                argv,
                Box::new(tokio::io::empty()),
                Box::new(writer),
                Box::new(tokio::io::sink()),
                CancellationToken::new(),
            )
            .await
        }
    });
    let mut buf = [0u8; 6];
    reader.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"first\n");
    assert!(!exec.is_finished());
    assert_eq!(exec.await.unwrap(), 0);
    let mut rest = String::new();
    reader.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "second\n");
}

#[tokio::test(start_paused = true)]
async fn cancel_kills_the_foreground_but_not_background_jobs() {
    let pod = PodRuntime::start(spec());
    let cancel = CancellationToken::new();
    let exec = tokio::spawn({
        let (pod, cancel) = (pod.clone(), cancel.clone());
        async move {
            let argv = ["sh", "-c", "sleep 1000 & sleep 2000"].map(String::from).to_vec();
            pod.exec(
                argv,
                Box::new(tokio::io::empty()),
                Box::new(tokio::io::sink()),
                Box::new(tokio::io::sink()),
                cancel,
            )
            .await
        }
    });
    until("both sleeps", || names(&pod).contains(&"sleep 2000".to_string())).await;
    assert_eq!(names(&pod), ["sleep infinity", "sh -c sleep 1000 & sleep 2000", "sleep 1000", "sleep 2000"]);
    cancel.cancel();
    assert_eq!(exec.await.unwrap(), 137);
    assert_eq!(names(&pod), ["sleep infinity", "sleep 1000"]);
    pod.shutdown();
    until("everything gone", || pod.procs().list().is_empty()).await;
    assert_eq!(pod.wait_pid1().await, 137);
    assert_eq!(sh(&pod, "true").await.code, 126);
}

#[tokio::test(start_paused = true)]
async fn a_background_daemon_logs_to_pid1_and_is_killed_by_pkill() {
    let pod = PodRuntime::start(spec());
    let (old, mut feed) = pod.log().lines_and_subscribe();
    assert!(old.is_empty());
    let start = sh(&pod, "nohup ticker --log-format json > /proc/1/fd/1 2>&1 < /dev/null &").await;
    assert_eq!((start.code, start.out(), start.err()), (0, String::new(), String::new()));
    assert_eq!(feed.recv().await.unwrap().text, "tick 1");
    assert_eq!(feed.recv().await.unwrap().text, "tick 2");

    // Not through `sh -c`: pgrep -f would also match that shell's own command line.
    let found = pod.exec_collect(&["pgrep", "-f", "ticker --log"], b"").await;
    assert_eq!(found.code, 0);
    let pid: u32 = found.out().trim().parse().unwrap();
    assert_eq!(pod.procs().get(pid).map(|p| p.name), Some("ticker".into()));
    assert_eq!(sh(&pod, "pgrep -x ticker").await.out(), format!("{pid}\n"));
    assert_eq!(sh(&pod, "pgrep -x tick").await.code, 1);

    assert_eq!(sh(&pod, "pkill -x ticker").await.code, 0);
    assert!(pod.procs().get(pid).is_none());
    let none = sh(&pod, "pgrep -f '[t]icker'; echo $?").await;
    assert_eq!(none.out(), "1\n");
    assert_eq!(sh(&pod, "pkill -x ticker").await.code, 1);
    assert!(pod.log().lines().len() >= 2);
}

#[tokio::test(start_paused = true)]
async fn pkill_kill_drops_a_program_that_ignores_term() {
    let stubborn = |_ctx: ProcCtx| std::future::pending::<i32>();
    let pod = PodRuntime::start(PodSpec { programs: Programs::new().with("stubborn", stubborn), ..spec() });
    assert_eq!(sh(&pod, "stubborn & stubborn & echo $!").await.out(), "4\n");
    assert_eq!(sh(&pod, "pkill -KILL stubborn").await.code, 0);
    assert_eq!(names(&pod), ["sleep infinity"]);
    sh(&pod, "stubborn &").await;
    let started = tokio::time::Instant::now();
    assert_eq!(sh(&pod, "pkill stubborn").await.code, 0);
    assert!(started.elapsed() >= TERM_GRACE);
    assert_eq!(names(&pod), ["sleep infinity"]);
}

#[tokio::test]
async fn pid1_writes_to_the_log() {
    let spec = PodSpec {
        pid1: vec!["sh".into(), "-c".into(), "echo hello from pid 1; echo oops >&2".into()],
        ..spec()
    };
    let pod = PodRuntime::start(spec);
    assert_eq!(pod.wait_pid1().await, 0);
    let lines: Vec<String> = pod.log().lines().into_iter().map(|l| l.text).collect();
    assert_eq!(lines, ["hello from pid 1", "oops"]);
    let missing = PodRuntime::start(PodSpec { pid1: vec!["gwcd".into(), "start".into()], ..self::spec() });
    assert_eq!(missing.wait_pid1().await, 127);
}

#[tokio::test]
async fn a_panicking_program_only_fails_itself() {
    let boom = |_ctx: ProcCtx| -> std::pin::Pin<Box<dyn Future<Output = i32> + Send>> { panic!("boom") };
    let pod = PodRuntime::start(PodSpec { programs: Programs::new().with("boom", boom), ..spec() });
    let out = sh(&pod, "boom; echo after $?").await;
    assert_eq!((out.code, out.out()), (0, "after 134\n".to_string()));
    assert_eq!(names(&pod), ["sleep infinity"]);
}

/// Deterministic junk built from shell-ish tokens: nothing may panic or hang.
#[tokio::test]
async fn garbage_never_panics() {
    let pod = PodRuntime::start(spec());
    let tokens = [
        "echo",
        "cat",
        "test",
        "[",
        "]",
        "if",
        "then",
        "elif",
        "else",
        "fi",
        "for",
        "in",
        "do",
        "done",
        "case",
        "esac",
        ";;",
        "while",
        "false",
        "true",
        ";",
        "&&",
        "||",
        "|",
        "&",
        "$(",
        ")",
        "(",
        "'",
        "\"",
        "`",
        "\\",
        "$X",
        "${",
        "}",
        "{",
        "${X:-",
        "${#",
        "$((",
        "1+",
        "/",
        ">",
        ">>",
        "<",
        "<<",
        "EOF",
        "2>&1",
        ">&2",
        "/dev/null",
        "*",
        "?",
        "~",
        "=",
        "!",
        "#",
        "\n",
        "x=1",
        "$?",
        "$@",
        "\"$@\"",
        "3>&1",
        "exit",
        "break",
        "continue",
        "f()",
        "return",
        "eval",
        "set",
        "-e",
        "-u",
        "shift",
        "read",
        "wait",
        "pgrep",
        "pkill",
        "-f",
        "export",
        "local",
        "unset",
        "cd",
        "printf",
        "%s",
        "%d",
        "%",
        "ls",
        "rm",
        "-rf",
        "/tmp",
        "mkdir",
        "-p",
        "head",
        "-n",
        "grep",
        "wc",
        "-l",
        "é",
        "\t",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..400 {
        let mut script = String::new();
        for _ in 0..(seed % 12 + 1) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            script.push_str(tokens[usize::try_from(seed >> 33).unwrap() % tokens.len()]);
            script.push(if seed & 1 == 0 { ' ' } else { '\n' });
        }
        let run = tokio::time::timeout(Duration::from_secs(5), sh(&pod, &script)).await;
        if let Ok(out) = run {
            assert!((0..=255).contains(&out.code), "{script:?} → {}", out.code);
        }
    }
    for argv in
        [&[""][..], &["", ""], &["/"], &["sh"], &["sh", "-c"], &["sh", "-Z"], &["sh", "/nope"], &["nohup"]]
    {
        let out = pod.exec_collect(argv, b"\xff\xfe").await;
        assert!(out.code != 0 || argv == ["sh"], "{argv:?}");
    }
    for deep in [
        "(".repeat(5000),
        "$(".repeat(3000),
        "{ ".repeat(3000),
        "if true; then ".repeat(1000),
        "a|".repeat(5000),
    ] {
        assert_eq!(sh(&pod, &deep).await.code, 2, "{}", &deep[..10]);
    }
    let recursion = sh(&pod, "f() { f; }; f").await;
    assert_eq!((recursion.code, recursion.err()), (2, "sh: nesting too deep\n".to_string()));
    let huge = sh(&pod, &format!("echo {}", "x".repeat(1 << 20))).await;
    assert_eq!(huge.stdout.len(), (1 << 20) + 1);
    assert_eq!(sh(&pod, "echo $((1/0))").await.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interactive_cat_on_a_multi_threaded_runtime() {
    let pod = PodRuntime::start(spec());
    let (mut client_in, stdin) = tokio::io::duplex(64);
    let (stdout, mut client_out) = tokio::io::duplex(64);
    let exec = tokio::spawn({
        let pod = pod.clone();
        let argv = ["sh", "-c", "cat | grep --line-buffered -v skip"].map(String::from).to_vec();
        async move {
            pod.exec(
                argv,
                Box::new(stdin),
                Box::new(stdout),
                Box::new(tokio::io::sink()),
                CancellationToken::new(),
            )
            .await
        }
    });
    use tokio::io::AsyncWriteExt as _;
    let mut line = [0u8; 6];
    for word in ["ping1\n", "ping2\n"] {
        client_in.write_all(b"skip\n").await.unwrap();
        client_in.write_all(word.as_bytes()).await.unwrap();
        let read = tokio::time::timeout(Duration::from_secs(10), client_out.read_exact(&mut line)).await;
        assert!(matches!(read, Ok(Ok(_))), "no echo for {word:?}");
        assert_eq!(&line, word.as_bytes());
    }
    drop(client_in);
    assert_eq!(exec.await.unwrap(), 0);
    let runs = (0..20).map(|_| {
        let pod = pod.clone();
        tokio::spawn(
            async move { sh(&pod, "for i in 1 2 3; do echo $i; done | wc -l; sleep 0.01 &").await.out() },
        )
    });
    for run in runs {
        assert_eq!(run.await.unwrap(), "3\n");
    }
}
