//! `test` / `[`: file tests (`-e -f -d -s -r -w -x`), strings (`-z -n = != < >`), integers
//! (`-eq -ne -lt -le -gt -ge`), `!`, `-a`, `-o` and parentheses. Exit 0 true, 1 false, 2 error.

use crate::pod::{Fs, ProcCtx};

/// Deepest parenthesis nesting accepted.
const MAX_PARENS: usize = 32;

pub(super) async fn test(ctx: ProcCtx) -> i32 {
    let args = ctx.argv.get(1..).unwrap_or_default().to_vec();
    run(ctx, "test", args).await
}

pub(super) async fn bracket(ctx: ProcCtx) -> i32 {
    let mut args = ctx.argv.get(1..).unwrap_or_default().to_vec();
    if args.pop().as_deref() != Some("]") {
        let mut ctx = ctx;
        ctx.err("[: missing ]\n").await;
        return 2;
    }
    run(ctx, "[", args).await
}

async fn run(mut ctx: ProcCtx, name: &str, args: Vec<String>) -> i32 {
    let eval = Eval { fs: ctx.pod.fs().clone(), cwd: ctx.cwd().to_string(), args: &args, pos: 0, parens: 0 };
    match eval.run() {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(msg) => {
            ctx.err(format!("sh: {name}: {msg}\n")).await;
            2
        }
    }
}

struct Eval<'a> {
    fs: Fs,
    cwd: String,
    args: &'a [String],
    pos: usize,
    parens: usize,
}

fn unary(op: &str) -> bool {
    matches!(
        op,
        "-e" | "-f"
            | "-d"
            | "-s"
            | "-r"
            | "-w"
            | "-x"
            | "-z"
            | "-n"
            | "-L"
            | "-h"
            | "-p"
            | "-S"
            | "-b"
            | "-c"
            | "-t"
    )
}

fn binary(op: &str) -> bool {
    matches!(
        op,
        "=" | "==" | "!=" | "<" | ">" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge" | "-nt" | "-ot" | "-ef"
    )
}

impl Eval<'_> {
    fn run(mut self) -> Result<bool, String> {
        // POSIX decides small argument counts by count, which keeps `[ "$x" = -n ]` sane.
        let a = self.args;
        let result = match a.len() {
            0 => false,
            1 => !a[0].is_empty(),
            2 if a[0] == "!" => a[1].is_empty(),
            2 if unary(&a[0]) => self.unary(&a[0], &a[1])?,
            3 if binary(&a[1]) => self.binary(&a[0], &a[1], &a[2])?,
            3 if a[0] == "!" => !Eval { args: a.get(1..).unwrap_or_default(), ..self.fork() }.run()?,
            3 if a[0] == "(" && a[2] == ")" => !a[1].is_empty(),
            4 if a[0] == "!" => !Eval { args: a.get(1..).unwrap_or_default(), ..self.fork() }.run()?,
            _ => {
                let v = self.or()?;
                if let Some(extra) = self.args.get(self.pos) {
                    return Err(format!("{extra}: unexpected operator"));
                }
                v
            }
        };
        Ok(result)
    }

    fn fork(&self) -> Eval<'_> {
        Eval { fs: self.fs.clone(), cwd: self.cwd.clone(), args: self.args, pos: 0, parens: self.parens }
    }

    fn peek(&self) -> Option<&str> {
        self.args.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Result<&str, String> {
        let arg = self.args.get(self.pos).ok_or("argument expected")?;
        self.pos += 1;
        Ok(arg)
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.peek() == Some("-o") {
            self.pos += 1;
            let rhs = self.and()?;
            v = v || rhs;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.not()?;
        while self.peek() == Some("-a") {
            self.pos += 1;
            let rhs = self.not()?;
            v = v && rhs;
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<bool, String> {
        let mut negate = false;
        // A final `!` is an operand, not an operator.
        while self.peek() == Some("!") && self.args.get(self.pos + 1).is_some() {
            self.pos += 1;
            negate = !negate;
        }
        Ok(self.primary()? != negate)
    }

    fn primary(&mut self) -> Result<bool, String> {
        let first = self.next()?.to_string();
        if first == "(" {
            self.parens += 1;
            if self.parens > MAX_PARENS {
                return Err("too many parentheses".into());
            }
            let v = self.or()?;
            self.parens -= 1;
            return match self.next() {
                Ok(")") => Ok(v),
                _ => Err("closing paren expected".into()),
            };
        }
        if unary(&first) && self.peek().is_some() {
            let operand = self.next()?.to_string();
            return self.unary(&first, &operand);
        }
        if let Some(op) = self.peek().filter(|op| binary(op)).map(String::from) {
            self.pos += 1;
            let rhs = self.next()?.to_string();
            return self.binary(&first, &op, &rhs);
        }
        Ok(!first.is_empty())
    }

    fn unary(&self, op: &str, operand: &str) -> Result<bool, String> {
        let path = crate::pod::fs::join(&self.cwd, operand);
        let fs = &self.fs;
        Ok(match op {
            "-z" => operand.is_empty(),
            "-n" => !operand.is_empty(),
            _ if operand.is_empty() => false,
            "-e" | "-r" | "-w" => fs.exists(&path),
            // Directories are searchable; files count as executable when they exist.
            "-x" => fs.exists(&path),
            "-f" => fs.is_file(&path),
            "-d" => fs.is_dir(&path),
            "-s" => fs.is_dir(&path) || fs.read_file(&path).is_some_and(|d| !d.is_empty()),
            _ => false,
        })
    }

    fn binary(&self, lhs: &str, op: &str, rhs: &str) -> Result<bool, String> {
        let int = |s: &str| s.trim().parse::<i64>().map_err(|_| format!("Illegal number: {s}"));
        Ok(match op {
            "=" | "==" => lhs == rhs,
            "!=" => lhs != rhs,
            "<" => lhs < rhs,
            ">" => lhs > rhs,
            "-eq" => int(lhs)? == int(rhs)?,
            "-ne" => int(lhs)? != int(rhs)?,
            "-lt" => int(lhs)? < int(rhs)?,
            "-le" => int(lhs)? <= int(rhs)?,
            "-gt" => int(lhs)? > int(rhs)?,
            "-ge" => int(lhs)? >= int(rhs)?,
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::Volume;

    fn t(fs: &Fs, s: &str) -> Result<bool, String> {
        let args: Vec<String> = s.split_whitespace().map(String::from).collect();
        Eval { fs: fs.clone(), cwd: "/".into(), args: &args, pos: 0, parens: 0 }.run()
    }

    #[test]
    fn evaluates() {
        let fs = Volume::new().fs();
        fs.write_file("/d/f", b"x");
        assert_eq!(t(&fs, "-f /d/f"), Ok(true));
        assert_eq!(t(&fs, "-f /d"), Ok(false));
        assert_eq!(t(&fs, "-d /d -a -s /d/f"), Ok(true));
        assert_eq!(t(&fs, "! -e /nope"), Ok(true));
        assert_eq!(t(&fs, "a = a -o x"), Ok(true));
        assert_eq!(t(&fs, "-n"), Ok(true));
        assert_eq!(t(&fs, "= = ="), Ok(true));
        assert_eq!(t(&fs, "3 -lt 10"), Ok(true));
        assert!(t(&fs, "x -lt 10").is_err());
        assert_eq!(t(&fs, "( a = b ) -o ( ! -z x )"), Ok(true));
        assert!(t(&fs, "( a").is_err());
        assert!(t(&fs, "a b c d e").is_err());
        assert!(t(&fs, &"( ".repeat(100)).is_err());
        assert_eq!(t(&fs, &"! ".repeat(10_001)), Ok(true));
    }
}
