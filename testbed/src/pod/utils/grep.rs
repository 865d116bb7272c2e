//! `grep`: the `regex` crate behind GNU-style options (`-qvicnlhHsoxwEFG`, `-e`, `-m`), basic
//! regular expressions translated; matches are passed on as they come.

use super::{Lines, each_input, getopt};
use crate::pod::ProcCtx;
use regex::bytes::{Regex, RegexBuilder};
use tokio::io::AsyncWriteExt as _;

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
    // Output is never buffered here, so these long options change nothing.
    let args: Vec<String> = ctx
        .argv
        .iter()
        .skip(1)
        .filter(|a| {
            !matches!(a.as_str(), "--line-buffered" | "--color" | "--colour") && !a.starts_with("--color=")
        })
        .cloned()
        .collect();
    let Ok((opts, mut rest)) = getopt(&args, "qvicnlhHsoxwEFGr", "em") else {
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

#[cfg(test)]
mod tests {
    use super::bre_to_ere;

    #[test]
    fn basic_regex() {
        assert_eq!(bre_to_ere(r"a\(b\)*c+"), r"a(b)*c\+");
        assert_eq!(bre_to_ere(r"x\{2\}|y"), r"x{2}\|y");
    }
}
