//! `rly`'s command line and what a subcommand answers: argv split as cobra does, and the
//! exit code with stdout/stderr (errors print as `Error: <msg>`, exit 1).

use std::collections::BTreeMap;

/// Flags that take no value (cobra bool flags of the subcommands implemented here).
const BOOL_FLAGS: &[&str] = &[
    "--json",
    "-j",
    "--debug",
    "-d",
    "--yes",
    "-y",
    "--override",
    "--yaml",
    "--delete",
    "--overwrite-granter",
    "--overwrite-grantees",
];

/// Go's nil-config dereference when `config.yaml` is missing (reference §3, "derived"): exit 2.
pub(super) const NIL_CONFIG_PANIC: &str = "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation]\n";

/// What a subcommand produced.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub(super) fn ok(stdout: impl Into<String>) -> Self {
        Outcome { code: 0, stdout: stdout.into(), stderr: String::new() }
    }

    pub(super) fn error(msg: impl std::fmt::Display) -> Self {
        Outcome { code: 1, stdout: String::new(), stderr: format!("Error: {msg}\n") }
    }
}

/// argv split into positionals and `--flag value` / `--flag=value` pairs.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    pub pos: Vec<String>,
    pub flags: BTreeMap<String, String>,
}

impl Args {
    pub fn parse(argv: &[String]) -> Args {
        let mut a = Args::default();
        let mut it = argv.iter();
        while let Some(arg) = it.next() {
            if arg.starts_with('-') && arg.len() > 1 {
                if let Some((k, v)) = arg.split_once('=') {
                    a.flags.insert(k.to_string(), v.to_string());
                } else if BOOL_FLAGS.contains(&arg.as_str()) {
                    a.flags.insert(arg.clone(), "true".into());
                } else {
                    a.flags.insert(arg.clone(), it.next().cloned().unwrap_or_default());
                }
            } else {
                a.pos.push(arg.clone());
            }
        }
        a
    }

    pub(super) fn flag(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.flags.get(*n)).map(String::as_str)
    }

    pub(super) fn has(&self, names: &[&str]) -> bool {
        self.flag(names).is_some_and(|v| v != "false")
    }

    pub(super) fn pos(&self, i: usize) -> Option<&str> {
        self.pos.get(i).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn args_split_flags_and_positionals() {
        let a = Args::parse(&argv("paths new gwc mdsc p --src-port gateway --version=cryptomeria-1 --json"));
        assert_eq!(a.pos, argv("paths new gwc mdsc p"));
        assert_eq!(a.flag(&["--src-port"]), Some("gateway"));
        assert_eq!(a.flag(&["--version"]), Some("cryptomeria-1"));
        assert!(a.has(&["--json"]));
        let a = Args::parse(&argv("config init --memo"));
        assert_eq!(a.flag(&["--memo"]), Some(""));
    }
}
