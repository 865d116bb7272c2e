//! The utilities through `exec`, with the output busybox/coreutils give.

use super::getopt;
use crate::pod::tests::spec;
use crate::pod::{PodRuntime, Volume};

async fn run(pod: &PodRuntime, argv: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = pod.exec_collect(argv, stdin).await;
    (out.code, out.out(), out.err())
}

fn ok(s: &str) -> (i32, String, String) {
    (0, s.to_string(), String::new())
}

#[tokio::test]
async fn text_filters() {
    let pod = PodRuntime::start(spec());
    pod.fs().write_file("/f", "one\ntwo\nthree\n");
    assert_eq!(run(&pod, &["echo", "-n", "a", "b"], b"").await, ok("a b"));
    assert_eq!(run(&pod, &["echo", "-e", "x\\ty"], b"").await, ok("x\ty\n"));
    assert_eq!(run(&pod, &["echo", "a\\nb"], b"").await, ok("a\\nb\n"));
    assert_eq!(run(&pod, &["printf", "%s-%03d\\n", "a", "7"], b"").await, ok("a-007\n"));
    assert_eq!(
        run(&pod, &["printf", "%d", "x"], b"").await,
        (1, "0".into(), "printf: x: invalid number\n".into())
    );
    assert_eq!(run(&pod, &["cat", "/f", "-"], b"four\n").await, ok("one\ntwo\nthree\nfour\n"));
    assert_eq!(run(&pod, &["head", "-n", "2", "/f"], b"").await, ok("one\ntwo\n"));
    assert_eq!(run(&pod, &["head", "-1"], b"a\nb\n").await, ok("a\n"));
    assert_eq!(run(&pod, &["tail", "-n", "1", "/f"], b"").await, ok("three\n"));
    assert_eq!(run(&pod, &["tail", "-n", "+2", "/f"], b"").await, ok("two\nthree\n"));
    assert_eq!(run(&pod, &["wc", "-l", "/f"], b"").await, ok("3 /f\n"));
    assert_eq!(run(&pod, &["wc"], b"a b\nc\n").await, ok("      2       3       6\n"));
    assert_eq!(run(&pod, &["tee", "/copy"], b"t\n").await, ok("t\n"));
    assert_eq!(pod.fs().read_file("/copy").as_deref(), Some(&b"t\n"[..]));
}

#[tokio::test]
async fn grep_options() {
    let pod = PodRuntime::start(spec());
    pod.fs().write_file("/log", "height 1\nHEIGHT 2\nother\n");
    assert_eq!(run(&pod, &["grep", "height", "/log"], b"").await, ok("height 1\n"));
    assert_eq!(run(&pod, &["grep", "-ic", "height", "/log"], b"").await, ok("2\n"));
    assert_eq!(run(&pod, &["grep", "-v", "-n", "eight", "/log"], b"").await, ok("2:HEIGHT 2\n3:other\n"));
    assert_eq!(run(&pod, &["grep", "-oE", "[0-9]+", "/log"], b"").await, ok("1\n2\n"));
    assert_eq!(run(&pod, &["grep", "-q", "nope", "/log"], b"").await, (1, String::new(), String::new()));
    assert_eq!(run(&pod, &["grep", "-x", "other"], b"other\nothers\n").await, ok("other\n"));
    assert_eq!(run(&pod, &["grep", "a\\(b\\)*c"], b"abbc\nac\nxx\n").await, ok("abbc\nac\n"));
    assert_eq!(run(&pod, &["grep", "-F", "a.c"], b"abc\na.c\n").await, ok("a.c\n"));
    assert_eq!(run(&pod, &["grep", "x", "/nope"], b"").await.0, 2);
    assert_eq!(run(&pod, &["grep", "("], b"").await.0, 1);
    assert_eq!(run(&pod, &["grep", "-E", "("], b"").await.0, 2);
}

#[tokio::test]
async fn files() {
    let pvc = Volume::new();
    let pod = PodRuntime::start(crate::pod::PodSpec { mounts: vec![("/data".into(), pvc)], ..spec() });
    assert_eq!(
        run(&pod, &["mkdir", "/a/b"], b"").await.2,
        "mkdir: cannot create directory '/a/b': No such file or directory\n"
    );
    assert_eq!(run(&pod, &["mkdir", "-p", "/a/b"], b"").await, ok(""));
    assert_eq!(
        run(&pod, &["mkdir", "/a"], b"").await.2,
        "mkdir: cannot create directory '/a': File exists\n"
    );
    assert_eq!(run(&pod, &["touch", "/a/b/f", "/a/g"], b"").await, ok(""));
    assert_eq!(run(&pod, &["ls", "/a"], b"").await, ok("b\ng\n"));
    assert_eq!(
        run(&pod, &["ls", "-l", "/a/g"], b"").await,
        ok("-rw-r--r-- 1 root root        0 Jan  1 00:00 /a/g\n")
    );
    assert_eq!(run(&pod, &["ls", "/nope"], b"").await.0, 2);
    assert_eq!(
        run(&pod, &["cp", "/a", "/c"], b"").await.2,
        "cp: -r not specified; omitting directory '/a'\n"
    );
    assert_eq!(run(&pod, &["cp", "-r", "/a", "/c"], b"").await, ok(""));
    assert!(pod.fs().is_file("/c/b/f"));
    assert_eq!(run(&pod, &["mv", "/c/g", "/data/"], b"").await, ok(""));
    assert!(pod.fs().is_file("/data/g") && !pod.fs().exists("/c/g"));
    assert_eq!(run(&pod, &["rm", "/a"], b"").await.2, "rm: cannot remove '/a': Is a directory\n");
    assert_eq!(run(&pod, &["rm", "/nope"], b"").await.0, 1);
    assert_eq!(run(&pod, &["rm", "-f", "/nope"], b"").await, ok(""));
    assert_eq!(run(&pod, &["rm", "-rf", "/a", "/c"], b"").await, ok(""));
    assert_eq!(run(&pod, &["rm", "-rf", "/data"], b"").await.2, "rm: cannot remove '/data': Resource busy\n");
    assert!(pod.fs().is_dir("/data") && !pod.fs().exists("/data/g"));
    assert_eq!(run(&pod, &["basename", "/x/y.json", ".json"], b"").await, ok("y\n"));
    assert_eq!(run(&pod, &["dirname", "/x/y/"], b"").await, ok("/x\n"));
    assert_eq!(run(&pod, &["chmod", "+x", "/etc"], b"").await, ok(""));
    pod.fs().write_file("/s.sh", "echo \"script $1\"\n");
    assert_eq!(run(&pod, &["sh", "/s.sh", "arg"], b"").await, ok("script arg\n"));
    assert_eq!(run(&pod, &["sh"], b"echo from stdin").await, ok("from stdin\n"));
}

#[tokio::test]
async fn system() {
    let pod = PodRuntime::start(spec());
    assert_eq!(run(&pod, &["hostname"], b"").await, ok("relayer-0\n"));
    assert_eq!(run(&pod, &["env", "-i", "A=1", "env"], b"").await, ok("A=1\n"));
    assert_eq!(run(&pod, &["env", "X=2", "sh", "-c", "echo $X"], b"").await, ok("2\n"));
    assert_eq!(
        run(&pod, &["env", "nope"], b"").await,
        (127, String::new(), "env: 'nope': No such file or directory\n".into())
    );
    assert_eq!(run(&pod, &["seq", "3"], b"").await, ok("1\n2\n3\n"));
    assert_eq!(run(&pod, &["seq", "5", "-2", "1"], b"").await, ok("5\n3\n1\n"));
    assert_eq!(run(&pod, &["which", "cat", "nope"], b"").await, (1, "/usr/bin/cat\n".into(), String::new()));
    let (code, out, _) = run(&pod, &["date", "+%s"], b"").await;
    assert!(code == 0 && out.trim().parse::<i64>().is_ok_and(|s| s > 1_600_000_000), "{out}");
    assert_eq!(run(&pod, &["date", "+%"], b"").await.0, 1);
    assert_eq!(
        run(&PodRuntime::start(spec()), &["ps"], b"").await.1,
        "PID   USER     TIME  COMMAND\n    1 root      0:00 sleep infinity\n    2 root      0:00 ps\n"
    );
    assert_eq!(run(&pod, &["sleep", "x"], b"").await.0, 1);
    assert_eq!(run(&pod, &["sleep", "0.01"], b"").await, ok(""));
    assert_eq!(run(&pod, &["pgrep"], b"").await.0, 2);
    assert_eq!(run(&pod, &["pgrep", "-l", "sleep"], b"").await, ok("1 sleep\n"));
    assert_eq!(run(&pod, &["pgrep", "-a", "-f", "infinity"], b"").await, ok("1 sleep infinity\n"));
    assert_eq!(run(&pod, &["kill", "-0", "1"], b"").await, ok(""));
    assert_eq!(run(&pod, &["[", "a", "=", "a"], b"").await.2, "[: missing ]\n");
    assert_eq!(
        run(&pod, &["test", "1", "-lt", "x"], b"").await,
        (2, String::new(), "sh: test: Illegal number: x\n".into())
    );
    assert_eq!(run(&pod, &["true"], b"").await.0, 0);
    assert_eq!(run(&pod, &["false"], b"").await.0, 1);
}

#[test]
fn option_clusters() {
    let args: Vec<String> = ["-rf", "-n5", "-e", "pat", "x", "-y"].iter().map(|s| s.to_string()).collect();
    let (opts, rest) = getopt(&args, "rf", "ne").unwrap();
    assert_eq!(opts, [('r', "".into()), ('f', "".into()), ('n', "5".into()), ('e', "pat".into())]);
    assert_eq!(rest, ["x", "-y"]);
    assert_eq!(getopt(&args, "r", "").unwrap_err(), 'f');
}

#[tokio::test]
async fn du_sums_apparent_sizes_with_a_block_per_directory() {
    let pod = PodRuntime::start(spec());
    pod.fs().mkdir_p("/d/x/y").unwrap();
    pod.fs().write_file("/d/x/f", vec![0; 1000]);
    pod.fs().write_file("/d/x/y/g", vec![0; 24]);
    assert_eq!(run(&pod, &["du", "-sb", "/d/x"], b"").await, ok("9216\t/d/x\n"));
    assert_eq!(
        run(&pod, &["du", "-sb", "/d/x/f", "/d/x/y/"], b"").await,
        ok("1000\t/d/x/f\n4120\t/d/x/y/\n")
    );
    assert_eq!(run(&pod, &["sh", "-c", "du -sb /d/*/"], b"").await, ok("9216\t/d/x/\n"));
    assert_eq!(run(&pod, &["du", "-s", "/d/x"], b"").await, ok("9\t/d/x\n"));
    assert_eq!(run(&pod, &["du", "-sb", "/nope"], b"").await.0, 1);
}
