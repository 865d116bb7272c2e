//! The builtin utilities every pod has (`cat`, `echo`, `pgrep`, …), registered as
//! [`Program`]s that end at once (143) when signalled. Shared argument and input helpers.

mod files;
mod grep;
mod printf;
mod procs;
mod test;
mod text;

#[cfg(test)]
mod tests;

use super::shell::Sh;
use super::{ProcCtx, Program, Programs};
use futures::future::BoxFuture;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};

/// A utility: an async fn over the process context, cancelled by any signal.
struct Util<F>(F);

impl<F, Fut> Program for Util<F>
where
    F: Fn(ProcCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = i32> + Send + 'static,
{
    fn run(&self, ctx: ProcCtx) -> BoxFuture<'static, i32> {
        let cancel = ctx.cancel.clone();
        let body = (self.0)(ctx);
        Box::pin(async move {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => 143,
                code = body => code,
            }
        })
    }
}

/// Every builtin utility by name.
pub(super) fn builtins() -> Programs {
    Programs::new()
        .with("sh", Sh)
        .with("dash", Sh)
        .with("ash", Sh)
        .with("bash", Sh)
        .with("test", Util(test::test))
        .with("[", Util(test::bracket))
        .with("true", Util(|_| async { 0 }))
        .with("false", Util(|_| async { 1 }))
        .with("echo", Util(text::echo))
        .with("printf", Util(text::printf))
        .with("cat", Util(text::cat))
        .with("head", Util(text::head))
        .with("tail", Util(text::tail))
        .with("grep", Util(grep::grep))
        .with("wc", Util(text::wc))
        .with("tee", Util(text::tee))
        .with("ls", Util(files::ls))
        .with("rm", Util(files::rm))
        .with("mkdir", Util(files::mkdir))
        .with("rmdir", Util(files::rmdir))
        .with("touch", Util(files::touch))
        .with("du", Util(files::du))
        .with("cp", Util(files::cp))
        .with("mv", Util(files::mv))
        .with("chmod", Util(files::chmod))
        .with("chown", Util(files::chmod))
        .with("basename", Util(files::basename))
        .with("dirname", Util(files::dirname))
        .with("sleep", Util(procs::sleep))
        .with("pgrep", Util(procs::pgrep))
        .with("pkill", Util(procs::pkill))
        .with("kill", Util(procs::kill))
        .with("ps", Util(procs::ps))
        .with("env", Util(procs::env))
        .with("hostname", Util(procs::hostname))
        .with("date", Util(procs::date))
        .with("seq", Util(procs::seq))
        .with("which", Util(procs::which))
        .with("whoami", Util(|mut ctx: ProcCtx| async move { i32::from(!ctx.out("root\n").await) }))
        .with(
            "id",
            Util(|mut ctx: ProcCtx| async move {
                i32::from(!ctx.out("uid=0(root) gid=0(root) groups=0(root)\n").await)
            }),
        )
}

/// Parsed options: (flag, value — empty for flags without one).
pub(super) type Options = Vec<(char, String)>;

/// Splits leading `-abc` option clusters from operands (stopping at `--` or the first
/// operand). Options that take a value (`takes_value`) consume the rest of their cluster or
/// the next argument. Returns `(options as (flag, value), operands)` or the bad flag.
pub(super) fn getopt(
    args: &[String],
    known: &str,
    takes_value: &str,
) -> Result<(Options, Vec<String>), char> {
    let mut opts = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else { break };
        i += 1;
        for (at, c) in cluster.char_indices() {
            if takes_value.contains(c) {
                let rest = cluster.split_at(at + c.len_utf8()).1;
                let value = if rest.is_empty() {
                    i += 1;
                    args.get(i - 1).cloned().unwrap_or_default()
                } else {
                    rest.to_string()
                };
                opts.push((c, value));
                break;
            }
            if !known.contains(c) {
                return Err(c);
            }
            opts.push((c, String::new()));
        }
    }
    Ok((opts, args.get(i..).unwrap_or_default().to_vec()))
}

/// Reads lines (each with its `'\n'`, if any) from a file's bytes or a stream.
pub(super) enum Lines<'a> {
    Mem(std::vec::IntoIter<Vec<u8>>),
    Stream(BufReader<&'a mut (dyn AsyncRead + Send + Unpin)>),
}

impl<'a> Lines<'a> {
    pub(super) fn bytes(data: &[u8]) -> Self {
        Lines::Mem(data.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect::<Vec<_>>().into_iter())
    }

    pub(super) fn stream(input: &'a mut (dyn AsyncRead + Send + Unpin)) -> Self {
        Lines::Stream(BufReader::new(input))
    }

    pub(super) async fn next(&mut self) -> Option<Vec<u8>> {
        match self {
            Lines::Mem(it) => it.next(),
            Lines::Stream(r) => {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line).await {
                    Ok(n) if n > 0 => Some(line),
                    _ => None,
                }
            }
        }
    }
}

/// The inputs of a filter: named files (`-` is stdin), or stdin when none. Missing files
/// are reported as `tool: NAME: No such file or directory` and skipped.
pub(super) async fn each_input(
    ctx: &mut ProcCtx,
    tool: &str,
    files: &[String],
) -> (Vec<Option<(String, Vec<u8>)>>, bool) {
    if files.is_empty() {
        return (vec![None], true);
    }
    let mut out = Vec::new();
    let mut ok = true;
    for f in files {
        if f == "-" {
            out.push(None);
            continue;
        }
        match ctx.pod.fs().read(&ctx.path(f)) {
            Ok(bytes) => out.push(Some((f.clone(), bytes))),
            Err(e) => {
                ctx.err(format!("{tool}: {f}: {e}\n")).await;
                ok = false;
            }
        }
    }
    (out, ok)
}
