//! Text utilities: `echo`, `printf`, `cat`, `head`, `tail`, `wc`, `tee` (`grep` has its
//! own file). Filters stream stdin line by line so they work on endless pipes.

use super::printf::{format, unescape};
use super::{Lines, each_input, getopt};
use crate::pod::ProcCtx;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn args(ctx: &ProcCtx) -> Vec<String> {
    ctx.argv.get(1..).unwrap_or_default().to_vec()
}

/// `echo [-neE] args`: no escapes unless `-e` (as bash and busybox).
pub(super) async fn echo(mut ctx: ProcCtx) -> i32 {
    let args = args(&ctx);
    let (mut newline, mut escapes) = (true, false);
    let mut words = args.as_slice();
    while let Some((flag, rest)) = words.split_first() {
        let Some(letters) =
            flag.strip_prefix('-').filter(|l| !l.is_empty() && l.chars().all(|c| "neE".contains(c)))
        else {
            break;
        };
        for c in letters.chars() {
            match c {
                'n' => newline = false,
                'e' => escapes = true,
                _ => escapes = false,
            }
        }
        words = rest;
    }
    let text = words.join(" ");
    let mut out = if escapes {
        let (bytes, stop) = unescape(&text);
        newline &= !stop;
        bytes
    } else {
        text.into_bytes()
    };
    if newline {
        out.push(b'\n');
    }
    i32::from(!ctx.out(out).await)
}

pub(super) async fn printf(mut ctx: ProcCtx) -> i32 {
    let args = args(&ctx);
    let Some((fmt, rest)) = args.split_first() else {
        ctx.err("printf: usage: printf format [arguments]\n").await;
        return 2;
    };
    let (out, errors) = format(fmt, rest);
    let written = ctx.out(out).await;
    for e in &errors {
        ctx.err(format!("{e}\n")).await;
    }
    i32::from(!written || !errors.is_empty())
}

pub(super) async fn cat(mut ctx: ProcCtx) -> i32 {
    let files: Vec<String> = args(&ctx).into_iter().filter(|a| a != "-u").collect();
    let (inputs, mut ok) = each_input(&mut ctx, "cat", &files).await;
    for input in inputs {
        let written = match input {
            None => tokio::io::copy(&mut ctx.stdin, &mut ctx.stdout).await.is_ok(),
            Some((_, bytes)) => ctx.out(bytes).await,
        };
        if !written {
            return 1;
        }
    }
    ok &= ctx.stdout.flush().await.is_ok();
    i32::from(!ok)
}

/// `-5` → `-n 5` for head/tail.
fn numeric_shorthand(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        match a.strip_prefix('-') {
            Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
                out.extend(["-n".to_string(), n.to_string()])
            }
            _ => out.push(a),
        }
    }
    out
}

pub(super) async fn head(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, files)) = getopt(&numeric_shorthand(args(&ctx)), "qv", "nc") else {
        ctx.err("head: invalid option\n").await;
        return 1;
    };
    let mut lines = 10usize;
    let mut bytes = None;
    for (flag, value) in opts {
        match (flag, value.parse::<usize>()) {
            ('n', Ok(n)) => lines = n,
            ('c', Ok(n)) => bytes = Some(n),
            ('n' | 'c', Err(_)) => {
                ctx.err(format!("head: invalid number '{value}'\n")).await;
                return 1;
            }
            _ => {}
        }
    }
    let (inputs, ok) = each_input(&mut ctx, "head", &files).await;
    for input in inputs {
        let mut out = Vec::new();
        match (input, bytes) {
            (Some((_, data)), Some(n)) => out.extend(data.iter().take(n)),
            (None, Some(n)) => {
                let _ =
                    (&mut ctx.stdin).take(u64::try_from(n).unwrap_or(u64::MAX)).read_to_end(&mut out).await;
            }
            (input, None) => {
                let mut reader = match &input {
                    Some((_, data)) => Lines::bytes(data),
                    None => Lines::stream(&mut *ctx.stdin),
                };
                for _ in 0..lines {
                    let Some(line) = reader.next().await else { break };
                    out.extend(line);
                }
            }
        }
        if !ctx.out(out).await {
            return 1;
        }
    }
    i32::from(!ok)
}

pub(super) async fn tail(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, files)) = getopt(&numeric_shorthand(args(&ctx)), "fFqv", "nc") else {
        ctx.err("tail: invalid option\n").await;
        return 1;
    };
    let (mut count, mut from_start, mut follow) = (10usize, false, false);
    for (flag, value) in opts {
        match flag {
            'n' | 'c' => {
                from_start = value.starts_with('+');
                match value.trim_start_matches('+').parse() {
                    Ok(n) => count = n,
                    Err(_) => {
                        ctx.err(format!("tail: invalid number of lines: '{value}'\n")).await;
                        return 1;
                    }
                }
            }
            'f' | 'F' => follow = true,
            _ => {}
        }
    }
    let (inputs, ok) = each_input(&mut ctx, "tail", &files).await;
    for input in &inputs {
        let data = match input {
            Some((_, data)) => data.clone(),
            None => {
                let mut all = Vec::new();
                let _ = ctx.stdin.read_to_end(&mut all).await;
                all
            }
        };
        let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
        let skip = if from_start { count.saturating_sub(1) } else { lines.len().saturating_sub(count) };
        if !ctx.out(lines.get(skip..).unwrap_or_default().concat()).await {
            return 1;
        }
    }
    if follow && let [Some((name, data))] = inputs.as_slice() {
        // Poll the file for growth until killed.
        let path = ctx.path(name);
        let mut seen = data.len();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = ctx.pod.fs().read_file(&path).unwrap_or_default();
            if now.len() < seen {
                seen = 0; // truncated
            }
            if !ctx.out(now.get(seen..).unwrap_or_default()).await {
                return 1;
            }
            seen = now.len();
        }
    }
    i32::from(!ok)
}

pub(super) async fn wc(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, files)) = getopt(&args(&ctx), "lwcm", "") else {
        ctx.err("wc: invalid option\n").await;
        return 1;
    };
    let pick: Vec<char> =
        if opts.is_empty() { vec!['l', 'w', 'c'] } else { opts.iter().map(|(c, _)| *c).collect() };
    let (inputs, ok) = each_input(&mut ctx, "wc", &files).await;
    let mut out = String::new();
    for input in inputs {
        let (name, data) = match input {
            Some((n, d)) => (Some(n), d),
            None => {
                let mut all = Vec::new();
                let _ = ctx.stdin.read_to_end(&mut all).await;
                (None, all)
            }
        };
        let text = String::from_utf8_lossy(&data);
        let counts: Vec<usize> = ['l', 'w', 'm', 'c']
            .iter()
            .filter(|c| pick.contains(c))
            .map(|c| match c {
                'l' => data.iter().filter(|&&b| b == b'\n').count(),
                'w' => text.split_whitespace().count(),
                'm' => text.chars().count(),
                _ => data.len(),
            })
            .collect();
        let width = if counts.len() > 1 { 7 } else { 0 };
        let cols: Vec<String> = counts.iter().map(|n| format!("{n:>width$}")).collect();
        out.push_str(&cols.join(" "));
        if let Some(n) = name {
            out.push_str(&format!(" {n}"));
        }
        out.push('\n');
    }
    let written = ctx.out(out).await;
    i32::from(!ok || !written)
}

pub(super) async fn tee(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, files)) = getopt(&args(&ctx), "ai", "") else {
        ctx.err("tee: invalid option\n").await;
        return 1;
    };
    let append = opts.iter().any(|(c, _)| *c == 'a');
    let mut targets = Vec::new();
    let mut ok = true;
    for f in &files {
        let path = ctx.path(f);
        match ctx.pod.fs().create(&path, !append) {
            Ok(()) => targets.push(path),
            Err(e) => {
                ctx.err(format!("tee: {f}: {e}\n")).await;
                ok = false;
            }
        }
    }
    let mut buf = vec![0u8; 8192];
    let mut stdout_open = true;
    while let Ok(n) = ctx.stdin.read(&mut buf).await {
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else { break };
        for path in &targets {
            let _ = ctx.pod.fs().append_file(path, chunk);
        }
        stdout_open = stdout_open && ctx.stdout.write_all(chunk).await.is_ok();
    }
    i32::from(!ok)
}
