//! Simple commands — expansion, assignments, redirections, then a function, a builtin or a
//! program in its own process — and `&` background jobs, which outlive the shell.

use super::ir::*;
use super::{Flow, Res, Shell, builtins};
use crate::pod::fs::{FsError, join};
use crate::pod::io::{Fds, Sink, Source};
use tokio::task::coop::consume_budget;

type Assigns = Vec<(String, String)>;

/// Finished background jobs kept for `wait PID` before old ones are forgotten.
const MAX_JOBS: usize = 256;

impl Shell {
    pub(crate) async fn run_simple(&mut self, s: &Simple, fds: &Fds) -> Res {
        // Every command is a chance for other tasks to run (`while :; do :; done`).
        consume_budget().await;
        self.subst_status = None;
        let (argv, assigns) = match self.expand_simple(s, fds).await {
            Ok(expanded) => expanded,
            Err(msg) => return self.fatal(fds, &msg).await,
        };
        if argv.len() == 1 && argv[0] == "exec" && !s.redirs.is_empty() {
            self.report(fds, "sh: unsupported construct: exec with only redirections").await;
            return Ok(2);
        }
        let cmd_fds = match self.redirect(&s.redirs, fds).await {
            Ok(f) => f,
            Err(msg) => {
                self.report(fds, &format!("sh: {msg}")).await;
                return Ok(2);
            }
        };
        if argv.is_empty() {
            self.vars.extend(assigns);
            return Ok(self.subst_status.unwrap_or(0));
        }
        self.dispatch(argv, assigns, &cmd_fds, true).await
    }

    async fn expand_simple(&mut self, s: &Simple, fds: &Fds) -> Result<(Vec<String>, Assigns), String> {
        let argv = self.expand_words(&s.words, fds).await?;
        let mut assigns = Vec::new();
        // Each assignment sees the ones before it (`a=1 b=$a`); the caller decides what stays.
        let mut saved = Vec::new();
        let mut failed = None;
        for a in &s.assigns {
            let mut value = match self.expand_string(&a.value, fds).await {
                Ok(v) => v,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            if a.append {
                value.insert_str(0, self.vars.get(&a.name).map_or("", String::as_str));
            }
            saved.push((a.name.clone(), self.vars.insert(a.name.clone(), value.clone())));
            assigns.push((a.name.clone(), value));
        }
        for (var, old) in saved.into_iter().rev() {
            self.restore(var, old);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if self.opts.xtrace {
            let words: Vec<String> =
                assigns.iter().map(|(k, v)| format!("{k}={v}")).chain(argv.iter().cloned()).collect();
            self.report(fds, &format!("+ {}", words.join(" "))).await;
        }
        Ok((argv, assigns))
    }

    /// Runs an expanded command line: function (unless `functions` is off), builtin or
    /// program.
    pub(crate) async fn dispatch(
        &mut self,
        argv: Vec<String>,
        assigns: Assigns,
        fds: &Fds,
        functions: bool,
    ) -> Res {
        let name = argv.first().cloned().unwrap_or_default();
        if let Some(body) = self.funcs.get(&name).filter(|_| functions).cloned() {
            self.vars.extend(assigns);
            let args = argv.get(1..).unwrap_or_default().to_vec();
            let saved = std::mem::replace(&mut self.args, args);
            self.locals.push(Vec::new());
            let result = self.run_redirected(&body.0, &body.1, fds).await;
            for (var, old) in self.locals.pop().unwrap_or_default().into_iter().rev() {
                self.restore(var, old);
            }
            self.args = saved;
            return match result {
                Err(Flow::Return(n)) => Ok(n),
                other => other,
            };
        }
        if builtins::is_special(&name) {
            // POSIX: assignments before special builtins stay.
            self.vars.extend(assigns);
            return self.builtin(&name, &argv, fds).await;
        }
        if builtins::is_regular(&name) {
            let saved: Vec<_> = assigns.iter().map(|(k, _)| (k.clone(), self.vars.get(k).cloned())).collect();
            self.vars.extend(assigns);
            let result = self.builtin(&name, &argv, fds).await;
            for (var, old) in saved.into_iter().rev() {
                self.restore(var, old);
            }
            return result;
        }
        self.run_program(argv, assigns, fds).await
    }

    pub(crate) fn restore(&mut self, var: String, old: Option<String>) {
        match old {
            Some(v) => self.vars.insert(var, v),
            None => self.vars.remove(&var),
        };
    }

    /// Runs a program as a child process and waits for it.
    pub(crate) async fn run_program(&mut self, argv: Vec<String>, assigns: Assigns, fds: &Fds) -> Res {
        let mut env = self.vars.clone();
        env.extend(assigns);
        match self.pod.spawn_program(argv, env, fds.clone()) {
            Ok(child) => Ok(child.wait().await),
            Err(e) => {
                self.report(fds, &e.shell_message()).await;
                Ok(e.code())
            }
        }
    }

    /// Applies redirections in order to a copy of `fds`.
    pub(crate) async fn redirect(&mut self, redirs: &[Redir], fds: &Fds) -> Result<Fds, String> {
        let mut out = fds.clone();
        for r in redirs {
            match &r.op {
                RedirOp::Read(w) => {
                    let path = self.expand_string(w, fds).await?;
                    let source = self.open_read(&path, &out)?;
                    set_input(&mut out, r.fd, source)?;
                }
                RedirOp::Write(w) | RedirOp::Append(w) => {
                    let path = self.expand_string(w, fds).await?;
                    let sink = self.open_write(&path, matches!(r.op, RedirOp::Append(_)), &out)?;
                    set_output(&mut out, r.fd, sink)?;
                }
                RedirOp::Both(w, append) => {
                    let path = self.expand_string(w, fds).await?;
                    let sink = self.open_write(&path, *append, &out)?;
                    out.stdout = sink.clone();
                    out.stderr = sink;
                }
                RedirOp::Here(w) => {
                    let text = self.expand_string(w, fds).await?;
                    set_input(&mut out, r.fd, Source::bytes(text.into_bytes()))?;
                }
                RedirOp::Dup(w) => {
                    let target = self.expand_string(w, fds).await?;
                    dup(&mut out, r.fd, &target)?;
                }
            }
        }
        Ok(out)
    }

    fn open_read(&self, path: &str, cur: &Fds) -> Result<Source, String> {
        match path {
            "/dev/null" | "/dev/zero" => Ok(Source::empty()),
            "/dev/stdin" | "/proc/self/fd/0" | "/dev/fd/0" => Ok(cur.stdin.clone()),
            _ => match self.pod.fs().read(&join(&self.cwd(), path)) {
                Ok(bytes) => Ok(Source::bytes(bytes)),
                Err(FsError::IsADirectory) => Err(format!("cannot open {path}: Is a directory")),
                Err(_) => Err(format!("cannot open {path}: No such file")),
            },
        }
    }

    fn open_write(&self, path: &str, append: bool, cur: &Fds) -> Result<Sink, String> {
        match path {
            "/dev/null" => Ok(Sink::Null),
            // pid 1's stdout/stderr: the pod log, for as long as the writer lives.
            "/proc/1/fd/1" | "/proc/1/fd/2" => Ok(Sink::Log(self.pod.log().clone())),
            "/dev/stdout" | "/proc/self/fd/1" | "/dev/fd/1" => Ok(cur.stdout.clone()),
            "/dev/stderr" | "/proc/self/fd/2" | "/dev/fd/2" => Ok(cur.stderr.clone()),
            _ => {
                let full = join(&self.cwd(), path);
                match self.pod.fs().create(&full, !append) {
                    Ok(()) => Ok(Sink::File { fs: self.pod.fs().clone(), path: full }),
                    Err(FsError::NotFound) => Err(format!("cannot create {path}: Directory nonexistent")),
                    Err(e) => Err(format!("cannot create {path}: {e}")),
                }
            }
        }
    }

    /// `cmd &`: a lone simple command becomes its own process (like fork+exec), so
    /// `pgrep -x rly` finds `rly`; anything else runs in a background subshell process.
    /// Either way stdin is `/dev/null` and the job is not killed with the exec session.
    pub(crate) async fn spawn_background(&mut self, chain: &AndOr, fds: &Fds) -> Res {
        let bg_fds = Fds { stdin: Source::empty(), ..fds.clone() };
        if let (true, false, [Command::Simple(s)]) =
            (chain.rest.is_empty(), chain.first.bang, chain.first.cmds.as_slice())
            && !self.is_builtin_or_function(s)
        {
            let (argv, assigns) = match self.expand_simple(s, &bg_fds).await {
                Ok(expanded) => expanded,
                Err(msg) => return self.fatal(fds, &msg).await,
            };
            let cmd_fds = match self.redirect(&s.redirs, &bg_fds).await {
                Ok(f) => f,
                Err(msg) => {
                    self.report(fds, &format!("sh: {msg}")).await;
                    return Ok(0);
                }
            };
            if argv.is_empty() {
                return Ok(0);
            }
            let mut env = self.vars.clone();
            env.extend(assigns);
            let spawned = self.pod.spawn_program(argv, env, cmd_fds);
            return self.record_job(spawned, fds).await;
        }
        let mut sub = self.subshell();
        let chain = chain.clone();
        let spawned = self.pod.spawn_body(&self.cmdline, move |_pid, cancel| {
            Box::pin(async move {
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => 143,
                    r = sub.run_and_or(&chain, &bg_fds) => r.unwrap_or_else(|f| sub.flow_status(f)),
                }
            })
        });
        self.record_job(spawned, fds).await
    }

    async fn record_job(
        &mut self,
        spawned: Result<crate::pod::spawn::Child, crate::pod::spawn::SpawnError>,
        fds: &Fds,
    ) -> Res {
        match spawned {
            Ok(child) => {
                let pid = child.pid;
                self.last_bg = Some(pid);
                if self.jobs.len() >= MAX_JOBS {
                    self.jobs.retain(|(_, j)| !j.is_finished());
                }
                if let Some(join) = child.detach() {
                    self.jobs.push((pid, join));
                }
                Ok(0)
            }
            Err(e) => {
                self.report(fds, &e.shell_message()).await;
                Ok(0)
            }
        }
    }

    /// Whether a command's name is (statically) a builtin or function.
    fn is_builtin_or_function(&self, s: &Simple) -> bool {
        let Some(Word(pieces)) = s.words.first() else { return true };
        let mut name = String::new();
        for p in pieces {
            match p {
                Piece::Lit(t) | Piece::Quoted(t) => name.push_str(t),
                _ => return false,
            }
        }
        builtins::is_special(&name) || builtins::is_regular(&name) || self.funcs.contains_key(&name)
    }
}

fn set_input(fds: &mut Fds, fd: u32, source: Source) -> Result<(), String> {
    match fd {
        0 => fds.stdin = source,
        n => return Err(format!("unsupported construct: input redirection of fd {n}")),
    }
    Ok(())
}

fn set_output(fds: &mut Fds, fd: u32, sink: Sink) -> Result<(), String> {
    match fd {
        1 => fds.stdout = sink,
        2 => fds.stderr = sink,
        n => return Err(format!("unsupported construct: output redirection of fd {n}")),
    }
    Ok(())
}

/// `N>&M`, `N<&M`, `N>&-`.
fn dup(fds: &mut Fds, fd: u32, target: &str) -> Result<(), String> {
    match (fd, target) {
        (0, "-") => fds.stdin = Source::empty(),
        (1, "-") => fds.stdout = Sink::Null,
        (2, "-") => fds.stderr = Sink::Null,
        (0, "0") | (1, "1") | (2, "2") => {}
        (1, "2") => fds.stdout = fds.stderr.clone(),
        (2, "1") => fds.stderr = fds.stdout.clone(),
        (_, "0" | "1" | "2") => return Err(format!("unsupported construct: {fd}>&{target}")),
        _ => return Err(format!("{target}: Bad file descriptor")),
    }
    Ok(())
}
