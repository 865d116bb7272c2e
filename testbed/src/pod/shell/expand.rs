//! Word expansion: parameters, command substitution, arithmetic and `~`, then field
//! splitting on IFS and pathname expansion — both only for unquoted results.

use super::ir::*;
use super::{Shell, arith, glob};
use crate::pod::io::{Fds, pipe};
use futures::future::BoxFuture;

/// Most output a command substitution keeps.
const MAX_SUBST: usize = 16 << 20;

/// A field being built: its text and the same text as a pattern (quoted parts escaped).
#[derive(Default)]
struct Field {
    text: String,
    pattern: String,
    globby: bool,
}

/// Collects fields. With `split` off everything lands in one field (assignments,
/// redirection targets, `case` words).
struct Fields {
    split: bool,
    ifs: String,
    done: Vec<Field>,
    cur: Option<Field>,
}

impl Fields {
    fn start(&mut self) -> &mut Field {
        self.cur.get_or_insert_with(Field::default)
    }

    fn quoted(&mut self, s: &str) {
        let f = self.start();
        f.text.push_str(s);
        f.pattern.push_str(&glob::escape(s));
    }

    fn unquoted(&mut self, s: &str) {
        let f = self.start();
        f.text.push_str(s);
        f.pattern.push_str(s);
        f.globby |= s.contains(['*', '?', '[']);
    }

    /// An unquoted expansion result: split on IFS.
    fn split(&mut self, s: &str) {
        if !self.split {
            return self.unquoted(s);
        }
        let mut buf = [0u8; 4];
        for c in s.chars() {
            if !self.ifs.contains(c) {
                self.unquoted(c.encode_utf8(&mut buf));
            } else if c.is_whitespace() {
                self.finish();
            } else {
                // A non-blank IFS character always delimits, possibly an empty field.
                let field = self.cur.take().unwrap_or_default();
                self.done.push(field);
            }
        }
    }

    /// A field boundary between `"$@"` elements.
    fn boundary(&mut self) {
        if self.split {
            let field = self.cur.take().unwrap_or_default();
            self.done.push(field);
        } else if self.cur.is_some() {
            self.quoted(" ");
        }
    }

    fn finish(&mut self) {
        if let Some(f) = self.cur.take() {
            self.done.push(f);
        }
    }
}

impl Shell {
    /// Expands command words into argv: split and globbed.
    pub(crate) async fn expand_words(&mut self, words: &[Word], fds: &Fds) -> Result<Vec<String>, String> {
        let mut argv = Vec::new();
        for word in words {
            let mut fields = self.fields(true);
            self.pieces(&word.0, false, &mut fields, fds).await?;
            fields.finish();
            for f in fields.done {
                let matched = if f.globby && !self.opts.noglob {
                    glob::expand_path(self.pod.fs(), &self.cwd(), &f.pattern)
                } else {
                    Vec::new()
                };
                if matched.is_empty() {
                    argv.push(f.text);
                } else {
                    argv.extend(matched);
                }
            }
        }
        Ok(argv)
    }

    /// Expands to one string: no splitting, no globbing.
    pub(crate) async fn expand_string(&mut self, word: &Word, fds: &Fds) -> Result<String, String> {
        Ok(self.expand_one(word, fds).await?.text)
    }

    /// Expands to a pattern: quoted parts match literally.
    pub(crate) async fn expand_pattern(&mut self, word: &Word, fds: &Fds) -> Result<String, String> {
        Ok(self.expand_one(word, fds).await?.pattern)
    }

    async fn expand_one(&mut self, word: &Word, fds: &Fds) -> Result<Field, String> {
        let mut fields = self.fields(false);
        self.pieces(&word.0, false, &mut fields, fds).await?;
        Ok(fields.cur.unwrap_or_default())
    }

    fn fields(&self, split: bool) -> Fields {
        let ifs = self.vars.get("IFS").cloned().unwrap_or_else(|| " \t\n".into());
        Fields { split, ifs, done: Vec::new(), cur: None }
    }

    fn pieces<'a>(
        &'a mut self,
        pieces: &'a [Piece],
        quoted: bool,
        out: &'a mut Fields,
        fds: &'a Fds,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            for piece in pieces {
                match piece {
                    Piece::Lit(s) if quoted => out.quoted(s),
                    Piece::Lit(s) => out.unquoted(s),
                    Piece::Quoted(s) => out.quoted(s),
                    Piece::Double(inner) => {
                        // `"$@"` with no arguments is no field at all, not an empty one.
                        let bare_at = matches!(inner.as_slice(), [Piece::Param(pe)]
                            if matches!((&pe.param, &pe.op), (Param::All { concat: false }, ParamOp::Plain)));
                        if !bare_at {
                            out.start();
                        }
                        self.pieces(inner, true, out, fds).await?;
                    }
                    Piece::Tilde => out.quoted(&self.vars.get("HOME").cloned().unwrap_or_else(|| "/".into())),
                    Piece::Param(pe) => self.param(pe, quoted, out, fds).await?,
                    Piece::Subst(list) => {
                        let text = self.command_subst(list, fds).await;
                        if quoted { out.quoted(&text) } else { out.split(&text) }
                    }
                    Piece::Arith(expr) => {
                        let expr = self.expand_string(expr, fds).await?;
                        out.quoted(&arith::eval(&expr, &mut self.vars)?.to_string());
                    }
                }
            }
            Ok(())
        })
    }

    async fn param(
        &mut self,
        pe: &ParamExp,
        quoted: bool,
        out: &mut Fields,
        fds: &Fds,
    ) -> Result<(), String> {
        if let (Param::All { concat }, ParamOp::Plain) = (&pe.param, &pe.op) {
            let args = self.args.clone();
            if *concat && quoted {
                let sep = self.vars.get("IFS").map_or(Some(' '), |s| s.chars().next());
                out.quoted(&args.join(sep.map(String::from).as_deref().unwrap_or("")));
                return Ok(());
            }
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.boundary();
                }
                if quoted { out.quoted(arg) } else { out.split(arg) }
            }
            return Ok(());
        }
        let value = self.param_value(pe, fds).await?;
        if quoted {
            out.quoted(&value)
        } else {
            out.split(&value)
        }
        Ok(())
    }

    fn lookup(&self, p: &Param) -> Option<String> {
        match p {
            Param::Named(n) => self.vars.get(n).cloned(),
            Param::Positional(n) => self.args.get(usize::try_from(*n).ok()?.checked_sub(1)?).cloned(),
            Param::Status => Some(self.status.to_string()),
            Param::Count => Some(self.args.len().to_string()),
            Param::All { .. } => Some(self.args.join(" ")),
            Param::Pid => Some(self.pid.to_string()),
            Param::LastBg => self.last_bg.map(|p| p.to_string()),
            Param::Arg0 => Some(self.arg0.clone()),
            Param::Flags => Some(self.flags()),
        }
    }

    pub(crate) fn flags(&self) -> String {
        let o = &self.opts;
        [(o.errexit, 'e'), (o.noglob, 'f'), (o.nounset, 'u'), (o.xtrace, 'x')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect()
    }

    async fn param_value(&mut self, pe: &ParamExp, fds: &Fds) -> Result<String, String> {
        let value = self.lookup(&pe.param);
        let name = param_name(&pe.param);
        let missing = |colon: bool| value.as_deref().is_none_or(|v| colon && v.is_empty());
        let plain = |v: Option<String>, nounset: bool| match v {
            Some(v) => Ok(v),
            None if nounset => Err(format!("{name}: parameter not set")),
            None => Ok(String::new()),
        };
        Ok(match &pe.op {
            ParamOp::Plain => plain(value, self.opts.nounset)?,
            ParamOp::Length => plain(value, self.opts.nounset)?.chars().count().to_string(),
            ParamOp::Default { colon, word } if missing(*colon) => self.expand_string(word, fds).await?,
            ParamOp::Assign { colon, word } if missing(*colon) => {
                let v = self.expand_string(word, fds).await?;
                let Param::Named(n) = &pe.param else {
                    return Err(format!("{name}: cannot assign in this way"));
                };
                self.vars.insert(n.clone(), v.clone());
                v
            }
            ParamOp::Default { .. } | ParamOp::Assign { .. } => value.unwrap_or_default(),
            ParamOp::Alt { colon, word } if !missing(*colon) => self.expand_string(word, fds).await?,
            ParamOp::Alt { .. } => String::new(),
            ParamOp::Error { colon, word } if missing(*colon) => {
                let msg = match word {
                    Some(w) => self.expand_string(w, fds).await?,
                    None if *colon => "parameter null or not set".into(),
                    None => "parameter not set".into(),
                };
                return Err(format!("{name}: {msg}"));
            }
            ParamOp::Error { .. } => value.unwrap_or_default(),
            ParamOp::TrimSuffix { longest, pattern } => {
                let pattern = self.expand_pattern(pattern, fds).await?;
                trim(&plain(value, self.opts.nounset)?, &pattern, *longest, true)
            }
            ParamOp::TrimPrefix { longest, pattern } => {
                let pattern = self.expand_pattern(pattern, fds).await?;
                trim(&plain(value, self.opts.nounset)?, &pattern, *longest, false)
            }
        })
    }

    /// `$(…)`: runs in a subshell, output captured with trailing newlines removed.
    async fn command_subst(&mut self, list: &List, fds: &Fds) -> String {
        let (sink, source) = pipe();
        let mut sub = self.subshell();
        let sub_fds = Fds { stdin: fds.stdin.clone(), stdout: sink, stderr: fds.stderr.clone() };
        let run = async move {
            let result = sub.run_list(list, &sub_fds).await;
            result.unwrap_or_else(|f| sub.flow_status(f))
        };
        let (status, output) = tokio::join!(run, source.read_all(MAX_SUBST));
        self.subst_status = Some(status);
        self.status = status;
        let mut text = String::from_utf8_lossy(&output).into_owned();
        text.truncate(text.trim_end_matches('\n').len());
        text
    }
}

fn param_name(p: &Param) -> String {
    match p {
        Param::Named(n) => n.clone(),
        Param::Positional(n) => n.to_string(),
        Param::Status => "?".into(),
        Param::Count => "#".into(),
        Param::All { concat: true } => "*".into(),
        Param::All { concat: false } => "@".into(),
        Param::Pid => "$".into(),
        Param::LastBg => "!".into(),
        Param::Arg0 => "0".into(),
        Param::Flags => "-".into(),
    }
}

/// `${v%p}` (`suffix`) / `${v#p}`: removes the shortest or longest matching end.
fn trim(v: &str, pattern: &str, longest: bool, suffix: bool) -> String {
    let cuts: Vec<usize> = v.char_indices().map(|(i, _)| i).chain([v.len()]).collect();
    // Shortest suffix first means the latest cut first; shortest prefix, the earliest.
    let ordered: Box<dyn Iterator<Item = &usize>> =
        if suffix != longest { Box::new(cuts.iter().rev()) } else { Box::new(cuts.iter()) };
    for &cut in ordered {
        let (head, tail) = v.split_at(cut);
        if suffix && glob::matches(pattern, tail) {
            return head.to_string();
        }
        if !suffix && glob::matches(pattern, head) {
            return tail.to_string();
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::trim;

    #[test]
    fn trims() {
        assert_eq!(trim("a.b.c", ".*", false, true), "a.b");
        assert_eq!(trim("a.b.c", ".*", true, true), "a");
        assert_eq!(trim("/x/y/z", "*/", false, false), "x/y/z");
        assert_eq!(trim("/x/y/z", "*/", true, false), "z");
        assert_eq!(trim("abc", "x", true, false), "abc");
    }
}
