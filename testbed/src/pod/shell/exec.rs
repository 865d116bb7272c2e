//! Control flow: lists, `&&`/`||`, pipelines (each stage a subshell, run concurrently),
//! and compound commands. `set -e` is applied here.

use super::ir::*;
use super::{Flow, MAX_NESTING, Res, Shell, glob};

/// Nesting levels between hops to a fresh task (see [`Shell::run_on_fresh_task`]).
const HOP_EVERY: usize = 8;
use crate::pod::io::{Fds, Source, pipe};
use futures::future::BoxFuture;
use tokio::task::coop::consume_budget;

impl Shell {
    /// Runs a list; the one entry point every nested list goes through (boxed, so the
    /// interpreter's async recursion has a finite type, and depth-checked).
    pub(crate) fn run_list<'a>(&'a mut self, list: &'a List, fds: &'a Fds) -> BoxFuture<'a, Res> {
        Box::pin(async move {
            if self.depth >= MAX_NESTING {
                return self.fatal(fds, "nesting too deep").await;
            }
            self.depth += 1;
            let result = if self.depth.is_multiple_of(HOP_EVERY) {
                self.run_on_fresh_task(list, fds).await
            } else {
                self.run_items(list, fds).await
            };
            self.depth -= 1;
            result
        })
    }

    /// Continues on a new task: tokio polls every task from its scheduler loop, so the stack
    /// starts shallow again. (Each nesting level costs tens of KiB of stack in debug builds.)
    async fn run_on_fresh_task(&mut self, list: &List, fds: &Fds) -> Res {
        let placeholder = self.subshell();
        let mut shell = std::mem::replace(self, placeholder);
        let (list, fds) = (list.clone(), fds.clone());
        let task = AbortOnDrop(tokio::spawn(async move {
            let result = shell.run_items(&list, &fds).await;
            (shell, result)
        }));
        match task.join().await {
            Some((shell, result)) => {
                *self = shell;
                result
            }
            None => Err(Flow::Exit(134)),
        }
    }

    async fn run_items(&mut self, list: &List, fds: &Fds) -> Res {
        let mut status = 0;
        for item in list.0.iter() {
            status = if item.background {
                self.spawn_background(&item.chain, fds).await?
            } else {
                self.run_and_or(&item.chain, fds).await?
            };
            self.status = status;
        }
        Ok(status)
    }

    pub(crate) async fn run_and_or(&mut self, chain: &AndOr, fds: &Fds) -> Res {
        let mut status = self.run_checked(&chain.first, fds, chain.rest.is_empty()).await?;
        for (i, (conn, pipeline)) in chain.rest.iter().enumerate() {
            let run = match conn {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                self.status = status;
                status = self.run_checked(pipeline, fds, i + 1 == chain.rest.len()).await?;
            }
        }
        Ok(status)
    }

    /// A pipeline of an and-or list; only the last one's failure can trigger `set -e`.
    async fn run_checked(&mut self, p: &Pipeline, fds: &Fds, last: bool) -> Res {
        if !last {
            self.cond += 1;
        }
        let result = self.run_pipeline(p, fds).await;
        if !last {
            self.cond -= 1;
        }
        let status = result?;
        if status != 0 && last && !p.bang && self.opts.errexit && self.cond == 0 {
            return Err(Flow::Exit(status));
        }
        Ok(status)
    }

    async fn run_pipeline(&mut self, p: &Pipeline, fds: &Fds) -> Res {
        let status = match p.cmds.as_slice() {
            [single] => self.run_command(single, fds).await?,
            cmds => {
                let mut stages = Vec::with_capacity(cmds.len());
                let mut input = fds.stdin.clone();
                for (i, cmd) in cmds.iter().enumerate() {
                    let (stdout, next) =
                        if i + 1 < cmds.len() { pipe() } else { (fds.stdout.clone(), Source::empty()) };
                    let stage_fds = Fds {
                        stdin: std::mem::replace(&mut input, next),
                        stdout,
                        stderr: fds.stderr.clone(),
                    };
                    let mut sub = self.subshell();
                    stages.push(async move {
                        let result = sub.run_command(cmd, &stage_fds).await;
                        result.unwrap_or_else(|f| sub.flow_status(f))
                    });
                }
                let codes = futures::future::join_all(stages).await;
                let last = codes.last().copied().unwrap_or(0);
                if self.opts.pipefail {
                    codes.iter().rev().find(|&&c| c != 0).copied().unwrap_or(0)
                } else {
                    last
                }
            }
        };
        Ok(if p.bang { i32::from(status == 0) } else { status })
    }

    pub(crate) async fn run_command(&mut self, cmd: &Command, fds: &Fds) -> Res {
        match cmd {
            Command::Simple(s) => self.run_simple(s, fds).await,
            Command::Compound(c, redirs) => self.run_redirected(c, redirs, fds).await,
            Command::FuncDef(name, body) => {
                self.funcs.insert(name.clone(), body.clone());
                Ok(0)
            }
        }
    }

    /// A compound command with its own redirections (also a function body).
    pub(crate) async fn run_redirected(&mut self, c: &Compound, redirs: &[Redir], fds: &Fds) -> Res {
        if redirs.is_empty() {
            return self.run_compound(c, fds).await;
        }
        match self.redirect(redirs, fds).await {
            Ok(fds) => self.run_compound(c, &fds).await,
            Err(msg) => {
                self.report(fds, &format!("sh: {msg}")).await;
                Ok(2)
            }
        }
    }

    async fn run_compound(&mut self, c: &Compound, fds: &Fds) -> Res {
        match c {
            Compound::Group(list) => self.run_list(list, fds).await,
            Compound::Subshell(list) => {
                let mut sub = self.subshell();
                let result = sub.run_list(list, fds).await;
                Ok(result.unwrap_or_else(|f| sub.flow_status(f)))
            }
            Compound::If { branches, otherwise } => {
                for (cond, body) in branches {
                    if self.run_cond(cond, fds).await? == 0 {
                        return self.run_list(body, fds).await;
                    }
                }
                match otherwise {
                    Some(body) => self.run_list(body, fds).await,
                    None => Ok(0),
                }
            }
            Compound::For { var, items, body } => {
                let values = match items {
                    Some(words) => match self.expand_words(words, fds).await {
                        Ok(v) => v,
                        Err(msg) => return self.fatal(fds, &msg).await,
                    },
                    None => self.args.clone(),
                };
                self.loops += 1;
                let result = self.run_for(var, values, body, fds).await;
                self.loops -= 1;
                result
            }
            Compound::While { until, cond, body } => {
                self.loops += 1;
                let result = self.run_while(*until, cond, body, fds).await;
                self.loops -= 1;
                result
            }
            Compound::Case { subject, arms } => self.run_case(subject, arms, fds).await,
        }
    }

    async fn run_cond(&mut self, cond: &List, fds: &Fds) -> Res {
        self.cond += 1;
        let result = self.run_list(cond, fds).await;
        self.cond -= 1;
        result
    }

    async fn run_for(&mut self, var: &str, values: Vec<String>, body: &List, fds: &Fds) -> Res {
        let mut status = 0;
        for value in values {
            consume_budget().await;
            self.vars.insert(var.to_string(), value);
            match loop_step(self.run_list(body, fds).await)? {
                Step::Next(s) => status = s,
                Step::Break => break,
            }
        }
        Ok(status)
    }

    async fn run_while(&mut self, until: bool, cond: &List, body: &List, fds: &Fds) -> Res {
        let mut status = 0;
        loop {
            // An empty-bodied `while true` must still let the runtime breathe.
            consume_budget().await;
            if (self.run_cond(cond, fds).await? == 0) == until {
                return Ok(status);
            }
            match loop_step(self.run_list(body, fds).await)? {
                Step::Next(s) => status = s,
                Step::Break => return Ok(status),
            }
        }
    }

    async fn run_case(&mut self, subject: &Word, arms: &[CaseArm], fds: &Fds) -> Res {
        let subject = match self.expand_string(subject, fds).await {
            Ok(s) => s,
            Err(msg) => return self.fatal(fds, &msg).await,
        };
        let mut falling = false;
        let mut status = 0;
        for arm in arms {
            if !falling {
                for pattern in &arm.patterns {
                    match self.expand_pattern(pattern, fds).await {
                        Ok(p) if glob::matches(&p, &subject) => falling = true,
                        Ok(_) => {}
                        Err(msg) => return self.fatal(fds, &msg).await,
                    }
                    if falling {
                        break;
                    }
                }
            }
            if falling {
                status = self.run_list(&arm.body, fds).await?;
                if !arm.fallthrough {
                    return Ok(status);
                }
            }
        }
        Ok(status)
    }
}

/// A task that is aborted if its awaiter goes away (the shell was killed).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    /// The task's output; `None` if it panicked.
    async fn join(mut self) -> Option<T> {
        (&mut self.0).await.ok()
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum Step {
    Next(i32),
    Break,
}

/// What a loop does after one pass of its body.
fn loop_step(result: Res) -> Result<Step, Flow> {
    match result {
        Ok(status) => Ok(Step::Next(status)),
        Err(Flow::Break(n)) if n > 1 => Err(Flow::Break(n - 1)),
        Err(Flow::Break(_)) => Ok(Step::Break),
        Err(Flow::Continue(n)) if n > 1 => Err(Flow::Continue(n - 1)),
        Err(Flow::Continue(_)) => Ok(Step::Next(0)),
        Err(flow) => Err(flow),
    }
}
