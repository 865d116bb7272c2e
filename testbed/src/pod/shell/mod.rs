//! `sh`: a POSIX-shell subset. brush-parser parses (see [`parse`], [`lower`]); the interpreter
//! runs the checked tree: control flow in [`exec`], simple commands and redirections in
//! [`simple`], words in [`expand`], state-changing builtins in [`builtins`].

mod arith;
mod builtins;
mod exec;
mod expand;
mod glob;
mod ir;
mod lower;
mod nesting;
mod parse;
mod simple;

#[cfg(test)]
mod tests;

use super::io::Fds;
use super::{PodRuntime, ProcCtx, Program};
use futures::future::BoxFuture;
use ir::{Compound, Redir};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Longest script read from a file or stdin.
const MAX_SCRIPT: usize = 16 << 20;
/// Deepest run-time nesting (function recursion, nested `eval`, subshells).
const MAX_NESTING: usize = 100;

/// The `sh` program.
pub(crate) struct Sh;

impl Program for Sh {
    fn run(&self, ctx: ProcCtx) -> BoxFuture<'static, i32> {
        Box::pin(sh_main(ctx))
    }
}

/// `set -e/-u/-x/-f`, `set -o pipefail`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Opts {
    pub errexit: bool,
    pub nounset: bool,
    pub xtrace: bool,
    pub noglob: bool,
    pub pipefail: bool,
}

/// Non-local control flow, carried in the `Err` side so `?` propagates it.
#[derive(Debug)]
pub(crate) enum Flow {
    Break(u32),
    Continue(u32),
    Return(i32),
    Exit(i32),
}

/// A command's outcome: its exit status, or control flow leaving it.
pub(crate) type Res = Result<i32, Flow>;

/// One shell's state (a subshell is a copy).
pub(crate) struct Shell {
    pub pod: PodRuntime,
    /// All variables; every one is exported to children.
    pub vars: BTreeMap<String, String>,
    pub arg0: String,
    pub args: Vec<String>,
    pub funcs: BTreeMap<String, Arc<(Compound, Vec<Redir>)>>,
    pub opts: Opts,
    /// `$?`
    pub status: i32,
    /// `$!`
    pub last_bg: Option<u32>,
    /// Background jobs of this shell, for `wait`.
    pub jobs: Vec<(u32, JoinHandle<i32>)>,
    /// Run-time nesting, bounded by [`MAX_NESTING`].
    pub depth: usize,
    /// Inside a condition (`if`, `while`, left of `&&`/`||`): `set -e` doesn't apply.
    pub cond: usize,
    /// Enclosing loops, for `break`/`continue`.
    pub loops: u32,
    /// `local` saves per function call: (name, previous value).
    pub locals: Vec<Vec<(String, Option<String>)>>,
    /// `$$`
    pub pid: u32,
    /// This shell process's argv (a background subshell shows it in `ps`).
    pub cmdline: Vec<String>,
    /// Status of the last command substitution of the current command.
    pub subst_status: Option<i32>,
    /// The exit status a `trap 'exit N' TERM` asked for (shared with subshells, as the trap
    /// belongs to the process the signal reaches).
    pub term_exit: Arc<std::sync::Mutex<Option<i32>>>,
}

impl Shell {
    pub(crate) fn subshell(&self) -> Shell {
        Shell {
            pod: self.pod.clone(),
            vars: self.vars.clone(),
            arg0: self.arg0.clone(),
            args: self.args.clone(),
            funcs: self.funcs.clone(),
            opts: self.opts,
            status: self.status,
            last_bg: self.last_bg,
            jobs: Vec::new(),
            depth: self.depth,
            cond: self.cond,
            loops: 0,
            locals: self.locals.clone(),
            pid: self.pid,
            cmdline: self.cmdline.clone(),
            subst_status: None,
            term_exit: self.term_exit.clone(),
        }
    }

    /// The status a (sub)shell ends with when `flow` reaches its top.
    pub(crate) fn flow_status(&self, flow: Flow) -> i32 {
        match flow {
            Flow::Exit(n) | Flow::Return(n) => n,
            Flow::Break(_) | Flow::Continue(_) => self.status,
        }
    }

    /// Writes an error line to `fds.stderr`.
    pub(crate) async fn report(&self, fds: &Fds, msg: &str) {
        let line = if msg.ends_with('\n') { msg.to_string() } else { format!("{msg}\n") };
        let _ = fds.stderr.write_all_to(line.as_bytes()).await;
    }

    /// An error that ends a non-interactive shell (bad expansion, `${x?}`…).
    pub(crate) async fn fatal(&self, fds: &Fds, msg: &str) -> Res {
        self.report(fds, &format!("sh: {msg}")).await;
        Err(Flow::Exit(2))
    }

    pub(crate) fn cwd(&self) -> String {
        self.vars.get("PWD").cloned().unwrap_or_else(|| "/".into())
    }
}

async fn sh_main(ctx: ProcCtx) -> i32 {
    let ProcCtx { argv, env, pod, cancel, pid, fds, .. } = ctx;
    let mut opts = Opts::default();
    let mut command = false;
    let mut i = 1;
    while let Some(flags) = argv.get(i).and_then(|a| a.strip_prefix('-')) {
        i += 1;
        if flags.is_empty() || flags == "-" {
            break;
        }
        for c in flags.chars() {
            match c {
                'c' => command = true,
                'e' => opts.errexit = true,
                'u' => opts.nounset = true,
                'x' => opts.xtrace = true,
                'f' => opts.noglob = true,
                's' | 'i' | 'l' | 'v' => {}
                // `-o NAME` (pipefail, errexit, …) takes the next argument.
                'o' => {
                    let name = argv.get(i).map(String::as_str).unwrap_or_default();
                    i += 1;
                    match name {
                        "pipefail" => opts.pipefail = true,
                        "errexit" => opts.errexit = true,
                        "nounset" => opts.nounset = true,
                        "xtrace" => opts.xtrace = true,
                        "noglob" => opts.noglob = true,
                        _ => {
                            let _ = fds
                                .stderr
                                .write_all_to(format!("sh: Illegal option -o {name}\n").as_bytes())
                                .await;
                            return 2;
                        }
                    }
                }
                c => {
                    let _ = fds.stderr.write_all_to(format!("sh: Illegal option -{c}\n").as_bytes()).await;
                    return 2;
                }
            }
        }
    }
    let rest = argv.get(i..).unwrap_or_default();
    let name = argv.first().cloned().unwrap_or_else(|| "sh".into());
    let (script, arg0, args) = if command {
        let Some(script) = rest.first() else {
            let _ = fds.stderr.write_all_to(b"sh: -c requires an argument\n").await;
            return 2;
        };
        (script.clone(), rest.get(1).cloned().unwrap_or(name), rest.get(2..).unwrap_or_default().to_vec())
    } else if let Some(file) = rest.first() {
        let cwd = env.get("PWD").map_or("/", String::as_str);
        match pod.fs().read(&super::fs::join(cwd, file)) {
            Ok(bytes) => (
                String::from_utf8_lossy(&bytes).into_owned(),
                file.clone(),
                rest.get(1..).unwrap_or_default().to_vec(),
            ),
            Err(_) => {
                let _ = fds
                    .stderr
                    .write_all_to(format!("sh: cannot open {file}: No such file\n").as_bytes())
                    .await;
                return 2;
            }
        }
    } else {
        (String::from_utf8_lossy(&fds.stdin.read_all(MAX_SCRIPT).await).into_owned(), name, Vec::new())
    };
    let list = match parse::parse(&script) {
        Ok(list) => list,
        Err(e) => {
            let _ = fds.stderr.write_all_to(e.message().as_bytes()).await;
            return 2;
        }
    };
    let mut shell = Shell {
        pod,
        vars: env,
        arg0,
        args,
        funcs: BTreeMap::new(),
        opts,
        status: 0,
        last_bg: None,
        jobs: Vec::new(),
        depth: 0,
        cond: 0,
        loops: 0,
        locals: Vec::new(),
        pid,
        cmdline: argv,
        subst_status: None,
        term_exit: Arc::default(),
    };
    let term_exit = shell.term_exit.clone();
    tokio::select! {
        biased;
        // TERM: the trap's `exit N` if one was set, else death by the signal (128 + 15).
        _ = cancel.cancelled() => term_exit.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or(143),
        r = shell.run_list(&list, &fds) => r.unwrap_or_else(shell_status),
    }
}

fn shell_status(flow: Flow) -> i32 {
    match flow {
        Flow::Exit(n) | Flow::Return(n) => n,
        Flow::Break(_) | Flow::Continue(_) => 0,
    }
}
