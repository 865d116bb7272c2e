//! Builtins that need the shell's own state: variables, options, positional parameters,
//! control flow, `cd`, `read`, `wait`, `eval`, `.`, `exec`, `command`.

use super::arith::is_name;
use super::{Flow, Res, Shell, parse};
use crate::pod::fs::join;
use crate::pod::io::Fds;
use crate::pod::spawn::exit_code;
use futures::future::BoxFuture;
use tokio::io::AsyncReadExt as _;

/// Longest line `read` accepts.
const MAX_LINE: usize = 1 << 20;

/// Special builtins: assignments before them persist, as POSIX says.
pub(crate) fn is_special(name: &str) -> bool {
    matches!(
        name,
        ":" | "."
            | "source"
            | "break"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "unset"
            | "trap"
            | "local"
    )
}

pub(crate) fn is_regular(name: &str) -> bool {
    matches!(name, "cd" | "pwd" | "read" | "wait" | "command" | "type" | "umask")
}

fn number(name: &str, arg: Option<&String>, default: i64) -> Result<i64, String> {
    match arg {
        None => Ok(default),
        Some(a) => a.parse().map_err(|_| format!("sh: {name}: Illegal number: {a}")),
    }
}

impl Shell {
    /// Runs a builtin (boxed: `command` and `eval` come back through `dispatch`).
    pub(crate) fn builtin<'a>(
        &'a mut self,
        name: &'a str,
        argv: &'a [String],
        fds: &'a Fds,
    ) -> BoxFuture<'a, Res> {
        Box::pin(self.builtin_inner(name, argv, fds))
    }

    async fn builtin_inner(&mut self, name: &str, argv: &[String], fds: &Fds) -> Res {
        let args = argv.get(1..).unwrap_or_default();
        let result: Result<Res, String> = match name {
            ":" | "umask" => Ok(Ok(0)),
            "exit" => {
                number(name, args.first(), i64::from(self.status)).map(|n| Err(Flow::Exit((n & 0xff) as i32)))
            }
            "return" => number(name, args.first(), i64::from(self.status))
                .map(|n| Err(Flow::Return((n & 0xff) as i32))),
            "break" | "continue" => match number(name, args.first(), 1) {
                Ok(n) if n < 1 => Err(format!("sh: {name}: Illegal number: {n}")),
                // Outside a loop they do nothing, as in dash.
                Ok(_) if self.loops == 0 => Ok(Ok(0)),
                Ok(n) => {
                    let n = u32::try_from(n).unwrap_or(u32::MAX).min(self.loops);
                    Ok(Err(if name == "break" { Flow::Break(n) } else { Flow::Continue(n) }))
                }
                Err(e) => Err(e),
            },
            "export" | "readonly" | "local" => self.assign_builtin(name, args, fds).await,
            "unset" => {
                let functions = args.first().is_some_and(|a| a == "-f");
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if functions {
                        self.funcs.remove(a);
                    } else {
                        self.vars.remove(a);
                    }
                }
                Ok(Ok(0))
            }
            "set" => self.set_builtin(args, fds).await,
            "shift" => match number(name, args.first(), 1) {
                Ok(n) if n >= 0 && usize::try_from(n).is_ok_and(|n| n <= self.args.len()) => {
                    self.args.drain(..usize::try_from(n).unwrap_or(0));
                    Ok(Ok(0))
                }
                Ok(_) => Err("sh: shift: can't shift that many".into()),
                Err(e) => Err(e),
            },
            "eval" => self.run_source(&args.join(" "), fds).await,
            "." | "source" => match args.first() {
                None => Err(format!("sh: {name}: filename argument required")),
                Some(file) => match self.pod.fs().read(&join(&self.cwd(), file)) {
                    Ok(bytes) => self.run_source(&String::from_utf8_lossy(&bytes), fds).await,
                    Err(_) => {
                        return self.fatal(fds, &format!("{name}: cannot open {file}: No such file")).await;
                    }
                },
            },
            "exec" if args.is_empty() => Ok(Ok(0)),
            "exec" => {
                let code = self.run_program(args.to_vec(), Vec::new(), fds).await?;
                Ok(Err(Flow::Exit(code)))
            }
            "trap" if args.len() <= 1 || args.first().is_some_and(|a| a.is_empty() || a == "-") => Ok(Ok(0)),
            "trap" => self.trap_builtin(args),
            "cd" => self.cd(args, fds).await,
            "pwd" => {
                let _ = fds.stdout.write_all_to(format!("{}\n", self.cwd()).as_bytes()).await;
                Ok(Ok(0))
            }
            "read" => self.read_builtin(args, fds).await,
            "wait" => Ok(self.wait_builtin(args).await),
            "command" | "type" => self.command_builtin(name, args, fds).await,
            _ => Err(format!("sh: {name}: not a builtin")),
        };
        match result {
            Ok(res) => res,
            Err(msg) => {
                self.report(fds, &msg).await;
                Ok(2)
            }
        }
    }

    /// Parses and runs text in this shell (`eval`, `.`).
    async fn run_source(&mut self, script: &str, fds: &Fds) -> Result<Res, String> {
        let list = parse::parse(script).map_err(|e| e.message())?;
        Ok(match self.run_list(&list, fds).await {
            Err(Flow::Return(n)) => Ok(n),
            other => other,
        })
    }

    async fn assign_builtin(&mut self, name: &str, args: &[String], fds: &Fds) -> Result<Res, String> {
        if name == "local" && self.locals.is_empty() {
            return Err("sh: local: not in a function".into());
        }
        if args.first().is_some_and(|a| a == "-p") || (args.is_empty() && name != "local") {
            let listing: String = self
                .vars
                .iter()
                .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
                .collect();
            let _ = fds.stdout.write_all_to(listing.as_bytes()).await;
            return Ok(Ok(0));
        }
        for arg in args {
            let (var, value) = match arg.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (arg.as_str(), None),
            };
            if !is_name(var) {
                return Err(format!("sh: {name}: {var}: bad variable name"));
            }
            if name == "local" {
                let old = self.vars.get(var).cloned();
                if let Some(frame) = self.locals.last_mut() {
                    frame.push((var.to_string(), old));
                }
            }
            if let Some(v) = value {
                self.vars.insert(var.to_string(), v);
            }
        }
        Ok(Ok(0))
    }

    async fn set_builtin(&mut self, args: &[String], fds: &Fds) -> Result<Res, String> {
        if args.is_empty() {
            let listing: String =
                self.vars.iter().map(|(k, v)| format!("{k}='{}'\n", v.replace('\'', "'\\''"))).collect();
            let _ = fds.stdout.write_all_to(listing.as_bytes()).await;
            return Ok(Ok(0));
        }
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            let on = arg.starts_with('-');
            match arg.as_str() {
                "--" => {
                    self.args = args.get(i + 1..).unwrap_or_default().to_vec();
                    return Ok(Ok(0));
                }
                "-o" | "+o" => {
                    let Some(opt) = args.get(i + 1) else { return Ok(Ok(0)) };
                    self.set_option(opt, on).map_err(|_| format!("sh: set: Illegal option {arg} {opt}"))?;
                    i += 2;
                }
                a if a.len() > 1 && (a.starts_with('-') || a.starts_with('+')) => {
                    for c in a.chars().skip(1) {
                        self.set_flag(c, on).map_err(|_| {
                            format!("sh: set: Illegal option {}{c}", if on { '-' } else { '+' })
                        })?;
                    }
                    i += 1;
                }
                _ => {
                    self.args = args.get(i..).unwrap_or_default().to_vec();
                    return Ok(Ok(0));
                }
            }
        }
        Ok(Ok(0))
    }

    fn set_flag(&mut self, c: char, on: bool) -> Result<(), ()> {
        match c {
            'e' => self.opts.errexit = on,
            'u' => self.opts.nounset = on,
            'x' => self.opts.xtrace = on,
            'f' => self.opts.noglob = on,
            'v' | 'C' | 'h' | 'm' | 'b' | 'a' => {}
            _ => return Err(()),
        }
        Ok(())
    }

    fn set_option(&mut self, name: &str, on: bool) -> Result<(), ()> {
        match name {
            "errexit" => self.set_flag('e', on),
            "nounset" => self.set_flag('u', on),
            "xtrace" => self.set_flag('x', on),
            "noglob" => self.set_flag('f', on),
            "pipefail" => {
                self.opts.pipefail = on;
                Ok(())
            }
            "verbose" | "noclobber" | "allexport" | "monitor" | "notify" | "hashall" => Ok(()),
            _ => Err(()),
        }
    }

    async fn cd(&mut self, args: &[String], fds: &Fds) -> Result<Res, String> {
        let target = match args.first().map(String::as_str) {
            None => self.vars.get("HOME").cloned().unwrap_or_else(|| "/".into()),
            Some("-") => self.vars.get("OLDPWD").cloned().unwrap_or_else(|| self.cwd()),
            Some(dir) => dir.to_string(),
        };
        let path = join(&self.cwd(), &target);
        if !self.pod.fs().is_dir(&path) {
            return Err(format!("sh: cd: can't cd to {target}"));
        }
        if args.first().is_some_and(|a| a == "-") {
            let _ = fds.stdout.write_all_to(format!("{path}\n").as_bytes()).await;
        }
        let old = self.cwd();
        self.vars.insert("OLDPWD".into(), old);
        self.vars.insert("PWD".into(), path);
        Ok(Ok(0))
    }

    /// `read [-r] [-p prompt] [name…]`: one line from stdin, split on IFS.
    async fn read_builtin(&mut self, args: &[String], fds: &Fds) -> Result<Res, String> {
        let mut raw = false;
        let mut names = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-r" => raw = true,
                "-p" => {
                    let prompt = it.next().cloned().unwrap_or_default();
                    let _ = fds.stderr.write_all_to(prompt.as_bytes()).await;
                }
                o if o.starts_with('-') && names.is_empty() => {
                    return Err(format!("sh: read: unsupported option {o}"));
                }
                n => names.push(n.to_string()),
            }
        }
        if names.is_empty() {
            names.push("REPLY".into());
        }
        let (line, eof) = read_line(fds, raw).await;
        let ifs = self.vars.get("IFS").cloned().unwrap_or_else(|| " \t\n".into());
        let blank = |c: char| ifs.contains(c) && c.is_whitespace();
        let mut rest = line.trim_start_matches(blank);
        for (i, name) in names.iter().enumerate() {
            let value = if i + 1 == names.len() {
                std::mem::take(&mut rest).trim_end_matches(blank).to_string()
            } else {
                let end = rest.find(|c| ifs.contains(c)).unwrap_or(rest.len());
                let (field, tail) = rest.split_at(end);
                rest = tail.trim_start_matches(blank);
                rest = rest
                    .strip_prefix(|c: char| ifs.contains(c) && !c.is_whitespace())
                    .unwrap_or(rest)
                    .trim_start_matches(blank);
                field.to_string()
            };
            self.vars.insert(name.clone(), value);
        }
        Ok(Ok(i32::from(eof)))
    }

    /// `trap ACTION SIGNAL…`: only `exit N` on TERM is supported (the relayer chart's pid 1);
    /// other actions are refused as before.
    fn trap_builtin(&mut self, args: &[String]) -> Result<Res, String> {
        let action = args.first().map(String::as_str).unwrap_or_default();
        let code = action
            .strip_prefix("exit")
            .map(str::trim)
            .and_then(|n| if n.is_empty() { Some(self.status) } else { n.parse::<i32>().ok() });
        let term = args[1..].iter().all(|s| matches!(s.trim_start_matches("SIG"), "TERM" | "15"));
        match code {
            Some(code) if term => {
                *self.term_exit.lock().unwrap_or_else(|e| e.into_inner()) = Some(code & 0xff);
                Ok(Ok(0))
            }
            _ => Err("sh: unsupported construct: trap with a command".into()),
        }
    }

    async fn wait_builtin(&mut self, args: &[String]) -> Res {
        if args.is_empty() {
            for (_, job) in std::mem::take(&mut self.jobs) {
                let _ = job.await;
            }
            return Ok(0);
        }
        let mut status = 0;
        for arg in args {
            let pid: Option<u32> = arg.parse().ok();
            status = match self.jobs.iter().position(|(p, _)| Some(*p) == pid) {
                Some(i) => exit_code(self.jobs.swap_remove(i).1.await),
                None => 127,
            };
        }
        Ok(status)
    }

    async fn command_builtin(&mut self, name: &str, args: &[String], fds: &Fds) -> Result<Res, String> {
        let describe = name == "type" || args.first().is_some_and(|a| a == "-v" || a == "-V");
        if !describe {
            // `command NAME ARGS`: run it, skipping functions.
            let argv: Vec<String> = args.iter().skip_while(|a| a.starts_with('-')).cloned().collect();
            if argv.is_empty() {
                return Ok(Ok(0));
            }
            return Ok(self.dispatch(argv, Vec::new(), fds, false).await);
        }
        let verbose = name == "type" || args.first().is_some_and(|a| a == "-V");
        let mut status = 0;
        let mut out = String::new();
        for n in args.iter().filter(|a| !a.starts_with('-')) {
            let builtin = is_special(n) || is_regular(n);
            let line = match (builtin, self.funcs.contains_key(n), self.pod.programs().get(n).is_some()) {
                (_, true, _) if verbose => format!("{n} is a function"),
                (true, _, _) if verbose => format!("{n} is a shell builtin"),
                (true, _, _) | (_, true, _) => n.clone(),
                (_, _, true) if verbose => format!("{n} is /usr/bin/{n}"),
                (_, _, true) if n.contains('/') => n.clone(),
                (_, _, true) => format!("/usr/bin/{n}"),
                _ => {
                    status = if name == "type" { 127 } else { 1 };
                    if verbose {
                        self.report(fds, &format!("{n}: not found")).await;
                    }
                    continue;
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        let _ = fds.stdout.write_all_to(out.as_bytes()).await;
        Ok(Ok(status))
    }
}

/// Reads one line byte by byte, so the rest of stdin stays for the next reader. Returns the
/// line and whether EOF ended it.
async fn read_line(fds: &Fds, raw: bool) -> (String, bool) {
    let mut input = fds.stdin.clone();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let mut escaped = false;
    loop {
        match input.read(&mut byte).await {
            Ok(1) => {}
            _ => return (String::from_utf8_lossy(&line).into_owned(), true),
        }
        match byte[0] {
            b'\n' if escaped => escaped = false,
            b'\n' => return (String::from_utf8_lossy(&line).into_owned(), false),
            b'\\' if !raw && !escaped => escaped = true,
            b => {
                escaped = false;
                if line.len() < MAX_LINE {
                    line.push(b);
                }
            }
        }
    }
}
