//! Shell patterns — `*`, `?`, `[…]`, `\x` — for `case`, `${x%pat}` and pathname expansion.
//! Matching is iterative (no backtracking blow-up, no recursion).

use crate::pod::fs::{Fs, join};

/// Most paths one pattern may expand to.
const MAX_MATCHES: usize = 10_000;

enum Tok {
    Star,
    Any,
    Class { negated: bool, ranges: Vec<(char, char)> },
    Lit(char),
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Tok::Star => false,
            Tok::Any => true,
            Tok::Lit(l) => *l == c,
            Tok::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
        }
    }
}

fn compile(pat: &str) -> Vec<Tok> {
    let chars: Vec<char> = pat.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '\\' => {
                toks.push(Tok::Lit(chars.get(i).copied().unwrap_or('\\')));
                i += 1;
            }
            '*' if matches!(toks.last(), Some(Tok::Star)) => {}
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '[' => match class(&chars, i) {
                Some((tok, next)) => {
                    toks.push(tok);
                    i = next;
                }
                None => toks.push(Tok::Lit('[')),
            },
            c => toks.push(Tok::Lit(c)),
        }
    }
    toks
}

/// Parses a bracket expression starting after `[`; `None` if it never closes.
fn class(chars: &[char], mut i: usize) -> Option<(Tok, usize)> {
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let start = i;
    loop {
        let mut c = *chars.get(i)?;
        if c == ']' && i > start {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        if c == '\\' {
            i += 1;
            c = *chars.get(i)?;
        }
        i += 1;
        match (chars.get(i), chars.get(i + 1)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                ranges.push((c, hi));
                i += 2;
            }
            _ => ranges.push((c, c)),
        }
    }
}

/// Whether `text` matches the whole pattern.
pub(crate) fn matches(pat: &str, text: &str) -> bool {
    let toks = compile(pat);
    let chars: Vec<char> = text.chars().collect();
    let (mut t, mut c) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while c < chars.len() {
        match toks.get(t) {
            Some(Tok::Star) => {
                star = Some((t, c));
                t += 1;
            }
            Some(tok) if chars.get(c).is_some_and(|&ch| tok.matches(ch)) => {
                t += 1;
                c += 1;
            }
            _ => match star {
                Some((st, sc)) => {
                    star = Some((st, sc + 1));
                    t = st + 1;
                    c = sc + 1;
                }
                None => return false,
            },
        }
    }
    toks.get(t..).unwrap_or_default().iter().all(|tok| matches!(tok, Tok::Star))
}

/// Whether the pattern has any special (unescaped) character.
pub(crate) fn has_meta(pat: &str) -> bool {
    compile(pat).iter().any(|t| !matches!(t, Tok::Lit(_)))
}

/// The literal text of a pattern without specials (escapes removed).
pub(crate) fn unescape(pat: &str) -> String {
    compile(pat).iter().filter_map(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect()
}

/// Makes `s` match only itself.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Pathname expansion: the existing paths matching `pat` (relative to `cwd` unless
/// absolute), sorted; empty when nothing matches.
pub(crate) fn expand_path(fs: &Fs, cwd: &str, pat: &str) -> Vec<String> {
    let absolute = pat.starts_with('/');
    // (as shown, real absolute path)
    let root = if absolute { ("/".to_string(), "/".to_string()) } else { (String::new(), cwd.to_string()) };
    let mut found = vec![root];
    for seg in pat.split('/').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for (shown, real) in &found {
            let names: Vec<String> = if has_meta(seg) {
                let hidden_ok = seg.starts_with('.');
                let names = fs.list_dir(real).unwrap_or_default().into_iter();
                names.filter(|n| (hidden_ok || !n.starts_with('.')) && matches(seg, n)).collect()
            } else {
                vec![unescape(seg)]
            };
            for name in names {
                let shown = match shown.as_str() {
                    "" => name.clone(),
                    s if s.ends_with('/') => format!("{s}{name}"),
                    s => format!("{s}/{name}"),
                };
                next.push((shown, join(real, &name)));
            }
        }
        next.truncate(MAX_MATCHES);
        found = next;
    }
    let dirs_only = pat.ends_with('/');
    let mut out: Vec<String> = found
        .into_iter()
        .filter(|(_, real)| if dirs_only { fs.is_dir(real) } else { fs.exists(real) })
        .map(|(shown, _)| if dirs_only { format!("{shown}/") } else { shown })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::Volume;

    #[test]
    fn pattern_matching() {
        assert!(matches("*.mnemonic", "gwc.relayer.mnemonic"));
        assert!(matches("a?c", "abc") && !matches("a?c", "ac"));
        assert!(matches("[a-c]x", "bx") && !matches("[!a-c]x", "bx"));
        assert!(matches("\\*", "*") && !matches("\\*", "x"));
        assert!(matches("*", "") && matches("**a**", "bab"));
        assert!(matches("[", "[") && matches("[]]", "]"));
        assert!(!matches("a*b*c", "a-b-d"));
        assert!(matches(&escape("a*[b]"), "a*[b]"));
        assert!(!has_meta("a\\*") && has_meta("a*"));
        let long = "a".repeat(5000);
        assert!(!matches(&"*a".repeat(100).replace("a", "b"), &long));
    }

    #[test]
    fn pathname_expansion() {
        let fs = Volume::new().fs();
        for p in ["/m/gwc.mnemonic", "/m/mdsc.mnemonic", "/m/.hidden", "/m/d/x"] {
            fs.write_file(p, b"");
        }
        assert_eq!(expand_path(&fs, "/", "/m/*.mnemonic"), ["/m/gwc.mnemonic", "/m/mdsc.mnemonic"]);
        assert_eq!(expand_path(&fs, "/m", "*"), ["d", "gwc.mnemonic", "mdsc.mnemonic"]);
        assert_eq!(expand_path(&fs, "/", "/m/*/"), ["/m/d/"]);
        assert_eq!(expand_path(&fs, "/", "/m/*/x"), ["/m/d/x"]);
        assert!(expand_path(&fs, "/", "/nope/*").is_empty());
    }
}
