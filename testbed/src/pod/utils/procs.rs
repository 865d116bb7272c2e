//! Process and system utilities: `sleep`, `pgrep`, `pkill`, `kill`, `ps`, `env`,
//! `hostname`, `date`, `seq`, `which`.

use super::getopt;
use crate::pod::{ProcCtx, ProcInfo, Signal, TERM_GRACE};
use regex::Regex;
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest a `sleep` really waits (`sleep infinity` never returns).
const MAX_SLEEP: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

fn args(ctx: &ProcCtx) -> Vec<String> {
    ctx.argv.get(1..).unwrap_or_default().to_vec()
}

fn duration(arg: &str) -> Option<Duration> {
    let (num, unit) = match arg.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => arg.split_at(i),
        None => (arg, ""),
    };
    let scale = match unit {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    let secs: f64 = num.parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
    Some(Duration::try_from_secs_f64(secs * scale).unwrap_or(MAX_SLEEP).min(MAX_SLEEP))
}

pub(super) async fn sleep(mut ctx: ProcCtx) -> i32 {
    let args = args(&ctx);
    if args.is_empty() {
        ctx.err("sleep: missing operand\n").await;
        return 1;
    }
    let mut total = Duration::ZERO;
    for a in &args {
        if a == "inf" || a == "infinity" {
            std::future::pending::<()>().await;
        }
        match duration(a) {
            Some(d) => total = total.saturating_add(d).min(MAX_SLEEP),
            None => {
                ctx.err(format!("sleep: invalid time interval '{a}'\n")).await;
                return 1;
            }
        }
    }
    tokio::time::sleep(total).await;
    0
}

/// What `pgrep`/`pkill` select, other than the caller itself.
struct Selection {
    matched: Vec<ProcInfo>,
    signal: Signal,
    list: Option<char>,
    count: bool,
}

async fn select(ctx: &mut ProcCtx, tool: &str) -> Result<Selection, i32> {
    // `-9`, `-KILL`, `-SIGTERM`… are signals, not option clusters.
    let mut signal = Signal::Term;
    let mut rest = Vec::new();
    for a in args(ctx) {
        match a.strip_prefix('-').and_then(Signal::parse) {
            Some(s) if tool == "pkill" => signal = s,
            _ => rest.push(a),
        }
    }
    let (opts, operands) = match getopt(&rest, "fxlanoc", "s") {
        Ok(parsed) => parsed,
        Err(c) => {
            ctx.err(format!("{tool}: invalid option -- '{c}'\n")).await;
            return Err(2);
        }
    };
    let has = |c: char| opts.iter().any(|(f, _)| *f == c);
    if let Some((_, name)) = opts.iter().find(|(f, _)| *f == 's') {
        signal = match Signal::parse(name) {
            Some(s) => s,
            None => {
                ctx.err(format!("{tool}: unknown signal {name}\n")).await;
                return Err(2);
            }
        };
    }
    let [pattern] = operands.as_slice() else {
        ctx.err(format!(
            "{tool}: {} pattern\n",
            if operands.is_empty() { "no matching criteria: need a" } else { "only one" }
        ))
        .await;
        return Err(2);
    };
    let anchored = if has('x') { format!("^(?:{pattern})$") } else { pattern.clone() };
    let re = match regex::RegexBuilder::new(&anchored).size_limit(1 << 20).build() {
        Ok(re) => re,
        Err(e) => {
            ctx.err(format!("{tool}: invalid pattern: {e}\n")).await;
            return Err(2);
        }
    };
    let matched = pick(&re, has('f'), ctx.pid, ctx.pod.procs().list(), has('n'), has('o'));
    let list = if has('a') {
        Some('a')
    } else if has('l') {
        Some('l')
    } else {
        None
    };
    Ok(Selection { matched, signal, list, count: has('c') })
}

fn pick(re: &Regex, full: bool, me: u32, procs: Vec<ProcInfo>, newest: bool, oldest: bool) -> Vec<ProcInfo> {
    let mut matched: Vec<ProcInfo> = procs
        .into_iter()
        .filter(|p| p.pid != me && re.is_match(if full { &p.cmdline } else { &p.name }))
        .collect();
    if newest {
        matched = matched.pop().into_iter().collect();
    } else if oldest {
        matched.truncate(1);
    }
    matched
}

pub(super) async fn pgrep(mut ctx: ProcCtx) -> i32 {
    let sel = match select(&mut ctx, "pgrep").await {
        Ok(sel) => sel,
        Err(code) => return code,
    };
    let out: String = if sel.count {
        format!("{}\n", sel.matched.len())
    } else {
        sel.matched
            .iter()
            .map(|p| match sel.list {
                Some('a') => format!("{} {}\n", p.pid, p.cmdline),
                Some(_) => format!("{} {}\n", p.pid, p.name),
                None => format!("{}\n", p.pid),
            })
            .collect()
    };
    ctx.out(out).await;
    i32::from(sel.matched.is_empty())
}

/// Signals the matches and waits (bounded) until they have left the process table, so a
/// following `pgrep` no longer sees them.
pub(super) async fn pkill(mut ctx: ProcCtx) -> i32 {
    let sel = match select(&mut ctx, "pkill").await {
        Ok(sel) => sel,
        Err(code) => return code,
    };
    let pids: Vec<u32> = sel.matched.iter().map(|p| p.pid).collect();
    let procs = ctx.pod.procs().clone();
    for pid in &pids {
        procs.signal(*pid, sel.signal);
    }
    let _ = tokio::time::timeout(TERM_GRACE + Duration::from_millis(100), procs.wait_gone(&pids)).await;
    if sel.count {
        ctx.out(format!("{}\n", pids.len())).await;
    }
    i32::from(pids.is_empty())
}

pub(super) async fn kill(mut ctx: ProcCtx) -> i32 {
    let mut signal = Some(Signal::Term);
    let mut pids = Vec::new();
    let mut args = args(&ctx).into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-l" | "-L" => return i32::from(!ctx.out("HUP INT QUIT KILL TERM\n").await),
            "-s" => signal = args.next().as_deref().and_then(Signal::parse),
            "-0" => signal = None,
            "--" => pids.extend(args.by_ref()),
            // `-9`, `-KILL`, `-SIGTERM` (negative pids, i.e. process groups, don't exist here).
            s if s.starts_with('-') => match s.strip_prefix('-').and_then(Signal::parse) {
                Some(sig) => signal = Some(sig),
                None => {
                    ctx.err(format!("kill: invalid signal {s}\n")).await;
                    return 2;
                }
            },
            _ => pids.push(a),
        }
    }
    if pids.is_empty() {
        ctx.err("kill: usage: kill [-s sigspec | -signum] pid...\n").await;
        return 2;
    }
    let mut status = 0;
    for p in pids {
        let found = match (p.parse::<u32>(), signal) {
            (Ok(pid), Some(sig)) => ctx.pod.procs().signal(pid, sig),
            (Ok(pid), None) => ctx.pod.procs().get(pid).is_some(),
            (Err(_), _) => {
                ctx.err(format!("kill: illegal pid: {p}\n")).await;
                status = 1;
                continue;
            }
        };
        if !found {
            ctx.err(format!("kill: ({p}) - No such process\n")).await;
            status = 1;
        }
    }
    status
}

pub(super) async fn ps(mut ctx: ProcCtx) -> i32 {
    let mut out = String::from("PID   USER     TIME  COMMAND\n");
    for p in ctx.pod.procs().list() {
        out.push_str(&format!("{:>5} root      0:00 {}\n", p.pid, p.cmdline));
    }
    i32::from(!ctx.out(out).await)
}

/// `env [-i] [-u NAME] [NAME=VALUE]… [COMMAND…]`.
pub(super) async fn env(mut ctx: ProcCtx) -> i32 {
    let mut env: BTreeMap<String, String> = ctx.env.clone();
    let mut args = args(&ctx).into_iter().peekable();
    while let Some(a) = args.peek() {
        match a.as_str() {
            "-i" | "-" => env.clear(),
            "-u" => {
                args.next();
                if let Some(name) = args.peek() {
                    env.remove(name);
                }
            }
            a if a.contains('=') && !a.starts_with('=') => {
                if let Some((k, v)) = a.split_once('=') {
                    env.insert(k.to_string(), v.to_string());
                }
            }
            _ => break,
        }
        args.next();
    }
    let argv: Vec<String> = args.collect();
    if argv.is_empty() {
        let listing: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        return i32::from(!ctx.out(listing).await);
    }
    match ctx.pod.spawn_program(argv, env, ctx.fds.clone()) {
        Ok(child) => child.wait().await,
        Err(e) => {
            let msg = match &e {
                crate::pod::spawn::SpawnError::NotFound(n) => {
                    format!("env: '{n}': No such file or directory\n")
                }
                other => other.shell_message(),
            };
            ctx.err(msg).await;
            e.code()
        }
    }
}

pub(super) async fn hostname(mut ctx: ProcCtx) -> i32 {
    let name = ctx.pod.hostname().to_string();
    i32::from(!ctx.out(format!("{name}\n")).await)
}

/// `date [-u] [+FORMAT]`, always UTC.
pub(super) async fn date(mut ctx: ProcCtx) -> i32 {
    let mut fmt = "%a %b %e %H:%M:%S UTC %Y".to_string();
    for a in args(&ctx) {
        match a.as_str() {
            "-u" | "--utc" | "-R" => {}
            "-I" | "--iso-8601" => fmt = "%Y-%m-%d".into(),
            "-Iseconds" | "--iso-8601=seconds" => fmt = "%Y-%m-%dT%H:%M:%S%:z".into(),
            f if f.starts_with('+') => fmt = f.trim_start_matches('+').to_string(),
            other => {
                ctx.err(format!("date: invalid option '{other}'\n")).await;
                return 1;
            }
        }
    }
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    match jiff::fmt::strtime::format(&fmt, &now) {
        Ok(text) => i32::from(!ctx.out(format!("{text}\n")).await),
        Err(e) => {
            ctx.err(format!("date: invalid format: {e}\n")).await;
            1
        }
    }
}

/// `seq [FIRST [INCREMENT]] LAST` over integers.
pub(super) async fn seq(mut ctx: ProcCtx) -> i32 {
    let nums: Result<Vec<i64>, _> = args(&ctx).iter().map(|a| a.parse::<i64>()).collect();
    let (first, step, last) = match nums.as_deref() {
        Ok([last]) => (1, 1, *last),
        Ok([first, last]) => (*first, 1, *last),
        Ok([first, step, last]) if *step != 0 => (*first, *step, *last),
        _ => {
            ctx.err("seq: usage: seq [FIRST [INCREMENT]] LAST (integers)\n").await;
            return 1;
        }
    };
    let mut n = first;
    let mut chunk = String::new();
    while (step > 0 && n <= last) || (step < 0 && n >= last) {
        chunk.push_str(&format!("{n}\n"));
        if chunk.len() > 8192 && !ctx.out(std::mem::take(&mut chunk)).await {
            return 1;
        }
        let Some(next) = n.checked_add(step) else { break };
        n = next;
    }
    i32::from(!ctx.out(chunk).await)
}

pub(super) async fn which(mut ctx: ProcCtx) -> i32 {
    let mut status = 0;
    let mut out = String::new();
    for name in args(&ctx) {
        if ctx.pod.programs().get(&name).is_some() {
            out.push_str(&format!("/usr/bin/{name}\n"));
        } else {
            status = 1;
        }
    }
    ctx.out(out).await;
    status
}

#[cfg(test)]
mod tests {
    use super::duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(duration("x"), None);
        assert_eq!(duration("-1"), None);
        assert_eq!(duration("1e400"), None);
        assert!(duration("99999999999999999999d").is_some());
    }
}
