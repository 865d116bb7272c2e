//! Shell scripts run in a pod with one exec, and the marker protocol their output uses:
//! a line `@@ <name> [arg]` opens a section; the lines after it are its body. One exec can
//! so report many facts (observe) or run many commands with each one's exit code (act).

use std::fmt::Write as _;

const MARK: &str = "@@ ";

/// Single-quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One section of a script's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub arg: String,
    pub body: String,
}

/// Splits output into sections; text before the first marker is dropped.
pub fn sections(output: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in output.lines() {
        if let Some(header) = line.strip_prefix(MARK) {
            let (name, arg) = header.split_once(' ').unwrap_or((header, ""));
            out.push(Section { name: name.to_string(), arg: arg.trim().to_string(), body: String::new() });
        } else if let Some(s) = out.last_mut() {
            s.body.push_str(line);
            s.body.push('\n');
        }
    }
    out
}

/// The exit code and output of each command of a batch, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub index: usize,
    pub code: i32,
    pub output: String,
}

/// A script that runs commands in order, each with stderr folded into its section, and
/// stops at the first failure (later commands depend on earlier ones).
#[derive(Debug, Default)]
pub struct Batch {
    script: String,
    count: usize,
}

impl Batch {
    pub fn new(prelude: &str) -> Self {
        Self { script: format!("{prelude}\n"), count: 0 }
    }

    /// Adds `line` (a shell command line, already quoted).
    pub fn push(&mut self, line: &str) {
        let i = self.count;
        let _ = writeln!(
            self.script,
            "echo '{MARK}run {i}'\n{line} 2>&1\nrc=$?\necho \"{MARK}rc $rc\"\nif [ $rc != 0 ]; then exit $rc; fi"
        );
        self.count += 1;
    }

    pub fn script(&self) -> &str {
        &self.script
    }

    /// Pairs each `run` section with the `rc` after it.
    pub fn results(output: &str) -> Vec<Ran> {
        let mut ran: Vec<Ran> = Vec::new();
        for s in sections(output) {
            match s.name.as_str() {
                "run" => {
                    ran.push(Ran { index: s.arg.parse().unwrap_or(ran.len()), code: -1, output: s.body })
                }
                "rc" => {
                    if let Some(last) = ran.last_mut() {
                        last.code = s.arg.parse().unwrap_or(-1);
                    }
                }
                _ => {}
            }
        }
        ran
    }
}

/// The last non-blank line of a command's output (what it said last, usually its error).
pub fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

/// True for names that are safe as they are in a script (chain ids from labels).
pub fn is_plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_survives_single_quotes() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote("{\"k\":\"v\"}"), "'{\"k\":\"v\"}'");
    }

    #[test]
    fn sections_split_on_markers() {
        let s = sections("noise\n@@ config\n{}\n@@ key gwc\ncosmos1x\n@@ key mdsc\n");
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].name.as_str(), s[0].body.as_str()), ("config", "{}\n"));
        assert_eq!((s[1].arg.as_str(), s[1].body.as_str()), ("gwc", "cosmos1x\n"));
        assert_eq!(s[2].body, "");
    }

    #[test]
    fn batch_results_pair_each_command_with_its_exit_code() {
        let mut b = Batch::new("H=/x");
        b.push("rly config init");
        b.push("rly chains add");
        assert!(b.script().contains("rly chains add 2>&1"));
        let out = "@@ run 0\n@@ rc 0\n@@ run 1\nError: boom\n@@ rc 1\n";
        let r = Batch::results(out);
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].code, r[1].output.as_str()), (1, "Error: boom\n"));
        // A command cut off before its rc line reports -1.
        assert_eq!(Batch::results("@@ run 0\npartial\n")[0].code, -1);
    }

    #[test]
    fn plain_names_exclude_shell_syntax() {
        assert!(is_plain("fdsc-10"));
        assert!(!is_plain("a;rm"));
        assert!(!is_plain(""));
    }
}
