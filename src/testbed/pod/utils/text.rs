//! Text utilities: `echo`, `printf`, `cat`, `head`, `tail`, `grep`, `wc`, `tee`. Filters
//! stream stdin line by line so they work on endless pipes.

use super::printf::{format, unescape};
use super::{Lines, each_input, getopt};
use crate::testbed::pod::ProcCtx;
use regex::bytes::{Regex, RegexBuilder};
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

/// Basic regular expressions → the `regex` crate's (extended) syntax.
fn bre_to_ere(pat: &str) -> String {
    let mut out = String::new();
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(o @ ('(' | ')' | '{' | '}' | '|' | '+' | '?')) => out.push(o),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push_str("\\\\"),
            },
            '(' | ')' | '{' | '}' | '|' | '+' | '?' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) async fn grep(mut ctx: ProcCtx) -> i32 {
    let Ok((opts, mut rest)) = getopt(&args(&ctx), "qvicnlhHsoxwEFGr", "em") else {
        ctx.err("grep: invalid option\n").await;
        return 2;
    };
    let has = |c: char| opts.iter().any(|(f, _)| *f == c);
    let mut patterns: Vec<String> = opts.iter().filter(|(f, _)| *f == 'e').map(|(_, v)| v.clone()).collect();
    if patterns.is_empty() {
        if rest.is_empty() {
            ctx.err("usage: grep [OPTION]... PATTERNS [FILE]...\n").await;
            return 2;
        }
        patterns.push(rest.remove(0));
    }
    let max: Option<usize> = opts.iter().find(|(f, _)| *f == 'm').and_then(|(_, v)| v.parse().ok());
    let alternatives: Vec<String> = patterns
        .iter()
        .map(|p| {
            if has('F') {
                regex::escape(p)
            } else if has('E') {
                p.clone()
            } else {
                bre_to_ere(p)
            }
        })
        .map(|p| {
            if has('x') {
                format!("^(?:{p})$")
            } else if has('w') {
                format!(r"\b(?:{p})\b")
            } else {
                p
            }
        })
        .collect();
    let re = match RegexBuilder::new(&alternatives.join("|"))
        .case_insensitive(has('i'))
        .size_limit(1 << 22)
        .build()
    {
        Ok(re) => re,
        Err(e) => {
            ctx.err(format!("grep: invalid pattern: {e}\n")).await;
            return 2;
        }
    };
    let show_names = has('H') || (rest.len() > 1 && !has('h'));
    let (inputs, ok) = each_input(&mut ctx, "grep", &rest).await;
    let mut any = false;
    for input in inputs {
        let name = input.as_ref().map_or("(standard input)".to_string(), |(n, _)| n.clone());
        let data = input.map(|(_, d)| d);
        let selected = grep_input(&mut ctx, &re, &data, &name, show_names, &has, max).await;
        match selected {
            Some(n) => any |= n > 0,
            None => return 2,
        }
        if any && has('q') {
            return 0;
        }
    }
    if !ok && !has('s') && !any { 2 } else { i32::from(!any) }
}

/// Prints the selected lines of one input; the count, or `None` if stdout closed.
async fn grep_input(
    ctx: &mut ProcCtx,
    re: &Regex,
    data: &Option<Vec<u8>>,
    name: &str,
    show_names: bool,
    has: &impl Fn(char) -> bool,
    max: Option<usize>,
) -> Option<usize> {
    let (stdin, stdout) = (&mut ctx.stdin, &mut ctx.stdout);
    let mut reader = match data {
        Some(d) => Lines::bytes(d),
        None => Lines::stream(&mut **stdin),
    };
    let name_prefix = if show_names { format!("{name}:") } else { String::new() };
    let (mut count, mut number) = (0, 0);
    let mut out = Vec::new();
    while let Some(line) = reader.next().await {
        number += 1;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if re.is_match(body) == has('v') {
            continue;
        }
        count += 1;
        if !has('q') && !has('c') && !has('l') {
            let prefix =
                format!("{name_prefix}{}", if has('n') { format!("{number}:") } else { String::new() });
            let pieces: Vec<&[u8]> = if has('o') && !has('v') {
                re.find_iter(body).map(|m| m.as_bytes()).collect()
            } else {
                vec![body]
            };
            for piece in pieces {
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(piece);
                out.push(b'\n');
            }
            // Pass matches on as they come (the input may never end).
            if stdout.write_all(&std::mem::take(&mut out)).await.is_err() {
                return None;
            }
        }
        if has('q') || max.is_some_and(|m| count >= m) {
            break;
        }
    }
    if has('c') {
        out.extend(format!("{name_prefix}{count}\n").bytes());
    } else if has('l') && count > 0 {
        out.extend(format!("{name}\n").bytes());
    }
    if stdout.write_all(&out).await.is_ok() { Some(count) } else { None }
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
        let width = if counts.len() > 1 || name.is_some() { 7 } else { 0 };
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

#[cfg(test)]
mod tests {
    use super::bre_to_ere;

    #[test]
    fn basic_regex() {
        assert_eq!(bre_to_ere(r"a\(b\)*c+"), r"a(b)*c\+");
        assert_eq!(bre_to_ere(r"x\{2\}|y"), r"x{2}\|y");
    }
}
