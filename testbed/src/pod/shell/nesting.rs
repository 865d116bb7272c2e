//! Bounds on brush-parser's recursion, checked before each stage: its tokenizer recurses
//! once per `$(`/`${`/backquote level, its grammar once per compound-command level, and a
//! stack overflow can't be caught — so over-deep scripts are refused up front.

use brush_parser::Token;

/// `$(`, `${` and backquotes in `text`: never less than the tokenizer's recursion depth.
pub(crate) fn substitutions(text: &str) -> usize {
    text.matches("$(").count() + text.matches("${").count() + text.matches('`').count()
}

/// An over-estimate of the grammar's nesting depth over a token stream: brackets, braces and
/// compound-command keywords still open. A closer only closes its own kind, so e.g. a `case`
/// pattern's `)` can hide at most one level in two.
pub(crate) fn depth(tokens: &[Token]) -> usize {
    let (mut parens, mut braces, mut keywords, mut max) = (0usize, 0usize, 0usize, 0usize);
    for token in tokens {
        match token {
            Token::Operator(op, _) if !op.is_empty() && op.chars().all(|c| c == '(') => parens += op.len(),
            Token::Operator(op, _) if !op.is_empty() && op.chars().all(|c| c == ')') => {
                parens = parens.saturating_sub(op.len());
            }
            Token::Operator(..) => {}
            Token::Word(w, _) => match w.as_str() {
                "{" => braces += 1,
                "}" => braces = braces.saturating_sub(1),
                "if" | "while" | "until" | "for" | "case" => keywords += 1,
                "fi" | "done" | "esac" => keywords = keywords.saturating_sub(1),
                _ => {}
            },
        }
        max = max.max(parens + braces + keywords);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> usize {
        let opts = brush_parser::ParserOptions { sh_mode: true, ..Default::default() };
        depth(&brush_parser::uncached_tokenize_str(s, &opts.tokenizer_options()).unwrap())
    }

    #[test]
    fn bounds() {
        assert_eq!(substitutions("a $(b) ${c} `d` '$('"), 5);
        assert_eq!(d("echo a; echo b"), 0);
        assert_eq!(d("( ( true ) ); { a; }"), 2);
        assert_eq!(d("if a; then while b; do :; done; fi; if c; then :; fi"), 2);
        assert_eq!(d("echo '((((' \"{{\" \\("), 0);
        assert!(d(&"( case x in a) ".repeat(100)) >= 100);
        assert!(d(&"if true; then ".repeat(300)) >= 300);
    }
}
