//! Parsing: brush-parser in `sh` mode on a thread with a big stack (a parser panic can't
//! escape; recursion is bounded first, see [`nesting`]), then [`lower`]ing its AST.

use super::ir::List;
use super::{lower, nesting};
use std::time::Duration;

/// Deepest nesting of compound commands and substitutions accepted.
const MAX_DEPTH: usize = 48;
/// Most `$(`/`${`/backquotes in one script (the tokenizer recurses on each, ~10 KiB apiece).
const MAX_SUBSTITUTIONS: usize = 2000;
const PARSER_STACK: usize = 64 << 20;
/// A pathological word (brush-parser backtracks exponentially on some) is given up on.
const PARSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a script can't run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseFail {
    Syntax(String),
    Unsupported(String),
}

impl ParseFail {
    /// The line `sh` prints before exiting 2.
    pub(crate) fn message(&self) -> String {
        match self {
            ParseFail::Syntax(m) => format!("sh: syntax error: {m}\n"),
            ParseFail::Unsupported(m) => format!("sh: unsupported construct: {m}\n"),
        }
    }
}

pub(super) type R<T> = Result<T, ParseFail>;

pub(super) fn unsupported<T>(what: impl Into<String>) -> R<T> {
    Err(ParseFail::Unsupported(what.into()))
}

pub(super) fn syntax(e: impl std::fmt::Display) -> ParseFail {
    ParseFail::Syntax(e.to_string())
}

/// Parses a whole script.
pub(crate) fn parse(script: &str) -> R<List> {
    let script = script.to_string();
    on_big_stack(move || parse_at(&script, 0))
}

/// Runs `f` on a fresh thread with a large stack and waits for it (at most
/// [`PARSE_TIMEOUT`]; a runaway thread is left to finish on its own).
pub(crate) fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> R<T> + Send + 'static) -> R<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned =
        std::thread::Builder::new().name("sh-parse".into()).stack_size(PARSER_STACK).spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return Err(syntax("cannot start the parser"));
    }
    match rx.recv_timeout(PARSE_TIMEOUT) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            unsupported("a script this convoluted (parsing timed out)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(syntax("the parser crashed")),
    }
}

pub(super) fn options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions { sh_mode: true, enable_extended_globbing: false, ..Default::default() }
}

fn too_deep<T>() -> R<T> {
    unsupported(format!("nesting deeper than {MAX_DEPTH} levels"))
}

pub(super) fn check_depth(depth: usize) -> R<()> {
    if depth > MAX_DEPTH { too_deep() } else { Ok(()) }
}

/// Parses (part of) a script found `depth` levels down.
pub(super) fn parse_at(script: &str, depth: usize) -> R<List> {
    check_depth(depth)?;
    if nesting::substitutions(script) > MAX_SUBSTITUTIONS {
        return unsupported(format!("more than {MAX_SUBSTITUTIONS} substitutions in one script"));
    }
    let opts = options();
    let tokens = brush_parser::uncached_tokenize_str(script, &opts.tokenizer_options()).map_err(syntax)?;
    if nesting::depth(&tokens) > 4 * MAX_DEPTH {
        return too_deep();
    }
    let program = brush_parser::parse_tokens(&tokens, &opts).map_err(syntax)?;
    lower::program(&program, depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(s: &str) -> ParseFail {
        parse(s).expect_err(s)
    }

    #[test]
    fn parses_the_supported_subset() {
        for s in [
            "a; b && c || d | e &",
            "if a; then b; elif c; then d; else e; fi",
            "for x in 1 2; do continue; done; while a; do break; done; until a; do :; done",
            "case $x in a|b) echo;; *) ;; esac",
            "f() { echo \"$@\"; }; ( cd / ) > /dev/null 2>&1",
            "echo ${X:-d} ${#X} ${X%%.*} $((1+2)) `echo a` $(echo b) ~/x 'q' \"$Y\" a\\ b",
            "cat <<EOF\n$X\nEOF\n",
        ] {
            assert!(parse(s).is_ok(), "{s}: {:?}", parse(s));
        }
    }

    #[test]
    fn rejects_clearly() {
        assert!(matches!(fail("if"), ParseFail::Syntax(_)));
        assert!(matches!(fail("echo 'open"), ParseFail::Syntax(_)));
        assert_eq!(fail("echo ${X/a/b}"), ParseFail::Unsupported("this ${…} expansion form".into()));
        assert!(matches!(fail("echo $'x'"), ParseFail::Unsupported(_)));
        assert!(matches!(fail("echo hi 3>&1"), ParseFail::Unsupported(_)));
        assert!(parse("case x in a) ;;& esac").is_err());
        let deep = format!("{}true{}", "( ".repeat(200), " )".repeat(200));
        assert!(matches!(fail(&deep), ParseFail::Unsupported(_)));
        let deep = format!("{}true{}", "$(echo ".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
    }
}
