//! Lowering brush-parser's AST to [`ir`], refusing what the interpreter doesn't support up
//! front rather than half-way through a script. Command substitutions are parsed here too.

use super::ir::*;
use super::parse::{R, check_depth, options, parse_at, syntax, unsupported};
use brush_parser::ast;
use brush_parser::word::{ParameterExpr as P, ParameterTestType, TildeExpr, WordPiece, WordPieceWithSource};
use std::sync::Arc;

/// A whole program, `depth` levels down.
pub(super) fn program(program: &ast::Program, depth: usize) -> R<List> {
    let mut items = Vec::new();
    for cmd in &program.complete_commands {
        items.extend(list(cmd, depth)?.0.iter().cloned());
    }
    Ok(List(items.into()))
}

fn list(cl: &ast::CompoundList, d: usize) -> R<List> {
    check_depth(d)?;
    let items = cl.0.iter().map(|ast::CompoundListItem(aol, sep)| {
        Ok(Item { chain: and_or(aol, d)?, background: matches!(sep, ast::SeparatorOperator::Async) })
    });
    Ok(List(items.collect::<R<Vec<_>>>()?.into()))
}

fn and_or(aol: &ast::AndOrList, d: usize) -> R<AndOr> {
    let rest = aol.additional.iter().map(|a| match a {
        ast::AndOr::And(p) => Ok((Connector::And, pipeline(p, d)?)),
        ast::AndOr::Or(p) => Ok((Connector::Or, pipeline(p, d)?)),
    });
    Ok(AndOr { first: pipeline(&aol.first, d)?, rest: rest.collect::<R<_>>()? })
}

fn pipeline(p: &ast::Pipeline, d: usize) -> R<Pipeline> {
    if p.timed.is_some() {
        return unsupported("time");
    }
    Ok(Pipeline { bang: p.bang, cmds: p.seq.iter().map(|c| command(c, d)).collect::<R<_>>()? })
}

fn command(c: &ast::Command, d: usize) -> R<Command> {
    match c {
        ast::Command::Simple(sc) => Ok(Command::Simple(simple(sc, d)?)),
        ast::Command::Compound(cc, rl) => {
            Ok(Command::Compound(compound(cc, d + 1)?, redirs(rl.as_ref(), d)?))
        }
        ast::Command::Function(f) => {
            let ast::FunctionBody(body, rl) = &f.body;
            Ok(Command::FuncDef(
                f.fname.value.clone(),
                Arc::new((compound(body, d + 1)?, redirs(rl.as_ref(), d)?)),
            ))
        }
        ast::Command::ExtendedTest(..) => unsupported("[[ … ]]"),
    }
}

fn compound(cc: &ast::CompoundCommand, d: usize) -> R<Compound> {
    use ast::CompoundCommand as C;
    Ok(match cc {
        C::BraceGroup(b) => Compound::Group(list(&b.list, d)?),
        C::Subshell(s) => Compound::Subshell(list(&s.list, d)?),
        C::ForClause(f) => Compound::For {
            var: f.variable_name.clone(),
            items: f
                .values
                .as_ref()
                .map(|ws| ws.iter().map(|w| word(&w.value, d)).collect::<R<_>>())
                .transpose()?,
            body: list(&f.body.list, d)?,
        },
        C::CaseClause(c) => Compound::Case {
            subject: word(&c.value.value, d)?,
            arms: c.cases.iter().map(|arm| case_arm(arm, d)).collect::<R<_>>()?,
        },
        C::IfClause(i) => {
            let mut branches = vec![(list(&i.condition, d)?, list(&i.then, d)?)];
            let mut otherwise = None;
            for e in i.elses.iter().flatten() {
                match &e.condition {
                    Some(cond) => branches.push((list(cond, d)?, list(&e.body, d)?)),
                    None => otherwise = Some(list(&e.body, d)?),
                }
            }
            Compound::If { branches, otherwise }
        }
        C::WhileClause(w) => {
            Compound::While { until: false, cond: list(&w.0, d)?, body: list(&w.1.list, d)? }
        }
        C::UntilClause(w) => Compound::While { until: true, cond: list(&w.0, d)?, body: list(&w.1.list, d)? },
        C::Arithmetic(_) => return unsupported("(( … ))"),
        C::ArithmeticForClause(_) => return unsupported("for (( … ))"),
        C::Coprocess(_) => return unsupported("coproc"),
    })
}

fn case_arm(arm: &ast::CaseItem, d: usize) -> R<CaseArm> {
    let fallthrough = match arm.post_action {
        ast::CaseItemPostAction::ExitCase => false,
        ast::CaseItemPostAction::UnconditionallyExecuteNextCaseItem => true,
        ast::CaseItemPostAction::ContinueEvaluatingCases => return unsupported(";;& in case"),
    };
    Ok(CaseArm {
        patterns: arm.patterns.iter().map(|w| word(&w.value, d)).collect::<R<_>>()?,
        body: arm.cmd.as_ref().map(|l| list(l, d)).transpose()?.unwrap_or_default(),
        fallthrough,
    })
}

fn simple(sc: &ast::SimpleCommand, d: usize) -> R<Simple> {
    use ast::CommandPrefixOrSuffixItem as I;
    let mut out = Simple::default();
    let prefix = sc.prefix.iter().flat_map(|p| p.0.iter());
    for item in prefix {
        match item {
            I::AssignmentWord(a, _) => out.assigns.push(assign(a, d)?),
            I::IoRedirect(r) => out.redirs.push(redir(r, d)?),
            I::Word(w) => out.words.push(word(&w.value, d)?),
            I::ProcessSubstitution(..) => return unsupported("process substitution"),
        }
    }
    if let Some(w) = &sc.word_or_name {
        out.words.push(word(&w.value, d)?);
    }
    for item in sc.suffix.iter().flat_map(|s| s.0.iter()) {
        match item {
            // `export A=b`: an ordinary argument here.
            I::Word(w) | I::AssignmentWord(_, w) => out.words.push(word(&w.value, d)?),
            I::IoRedirect(r) => out.redirs.push(redir(r, d)?),
            I::ProcessSubstitution(..) => return unsupported("process substitution"),
        }
    }
    Ok(out)
}

fn assign(a: &ast::Assignment, d: usize) -> R<Assign> {
    let (ast::AssignmentName::VariableName(name), ast::AssignmentValue::Scalar(value)) = (&a.name, &a.value)
    else {
        return unsupported("arrays");
    };
    Ok(Assign { name: name.clone(), value: word(&value.value, d)?, append: a.append })
}

fn redirs(rl: Option<&ast::RedirectList>, d: usize) -> R<Vec<Redir>> {
    rl.iter().flat_map(|l| l.0.iter()).map(|r| redir(r, d)).collect()
}

fn redir(r: &ast::IoRedirect, d: usize) -> R<Redir> {
    use ast::{IoFileRedirectKind as K, IoFileRedirectTarget as T};
    let checked = |fd: Option<i32>, default: u32| match fd {
        None => Ok(default),
        Some(n @ 0..=2) => Ok(n.unsigned_abs()),
        Some(n) => unsupported(format!("redirection of fd {n}")),
    };
    Ok(match r {
        ast::IoRedirect::File(fd, kind, target) => {
            let input = matches!(kind, K::Read | K::DuplicateInput | K::ReadAndWrite);
            let fd = checked(*fd, if input { 0 } else { 1 })?;
            let op = match (kind, target) {
                (K::Read, T::Filename(w)) => RedirOp::Read(word(&w.value, d)?),
                (K::Write | K::Clobber, T::Filename(w)) => RedirOp::Write(word(&w.value, d)?),
                (K::Append, T::Filename(w)) => RedirOp::Append(word(&w.value, d)?),
                (K::DuplicateInput | K::DuplicateOutput, T::Duplicate(w)) => RedirOp::Dup(word(&w.value, d)?),
                (K::DuplicateInput | K::DuplicateOutput, T::Fd(n)) => {
                    RedirOp::Dup(Word::quoted(n.to_string()))
                }
                (K::ReadAndWrite, _) => return unsupported("<> redirection"),
                (_, T::ProcessSubstitution(..)) => return unsupported("process substitution"),
                _ => return unsupported(format!("redirection `{r}`")),
            };
            Redir { fd, op }
        }
        ast::IoRedirect::HereDocument(fd, doc) => {
            let body = if doc.requires_expansion {
                let pieces = brush_parser::word::parse_heredoc(&doc.doc.value, &options()).map_err(syntax)?;
                Word(pieces_of(&pieces, true, d)?)
            } else {
                Word::quoted(doc.doc.value.clone())
            };
            Redir { fd: checked(*fd, 0)?, op: RedirOp::Here(body) }
        }
        ast::IoRedirect::HereString(fd, w) => {
            let mut body = word(&w.value, d)?;
            body.0.push(Piece::Quoted("\n".into()));
            Redir { fd: checked(*fd, 0)?, op: RedirOp::Here(body) }
        }
        ast::IoRedirect::OutputAndError(w, append) => {
            Redir { fd: 1, op: RedirOp::Both(word(&w.value, d)?, *append) }
        }
    })
}

/// Parses one word's quoting and expansions.
fn word(raw: &str, d: usize) -> R<Word> {
    let pieces = brush_parser::word::parse(raw, &options()).map_err(syntax)?;
    Ok(Word(pieces_of(&pieces, false, d)?))
}

fn pieces_of(ps: &[WordPieceWithSource], quoted: bool, d: usize) -> R<Vec<Piece>> {
    let mut out = Vec::new();
    for (i, p) in ps.iter().enumerate() {
        out.push(match &p.piece {
            WordPiece::Text(s) => {
                // brush-parser leaves `${x/a/b}` and other forms it doesn't know as text.
                let next = ps.get(i + 1).map(|n| &n.piece);
                if s.ends_with('$') && matches!(next, Some(WordPiece::Text(t)) if t.starts_with('{')) {
                    return unsupported("this ${…} expansion form");
                }
                if quoted { Piece::Quoted(s.clone()) } else { Piece::Lit(s.clone()) }
            }
            WordPiece::SingleQuotedText(s) => Piece::Quoted(s.clone()),
            WordPiece::EscapeSequence(s) => Piece::Quoted(s.chars().skip(1).filter(|&c| c != '\n').collect()),
            WordPiece::DoubleQuotedSequence(inner) => Piece::Double(pieces_of(inner, true, d)?),
            WordPiece::TildeExpansion(TildeExpr::Home) => Piece::Tilde,
            WordPiece::TildeExpansion(_) => return unsupported("~user, ~+ and ~- expansion"),
            WordPiece::ParameterExpansion(pe) => Piece::Param(Box::new(param_exp(pe, d)?)),
            WordPiece::CommandSubstitution(s) => Piece::Subst(Arc::new(parse_at(s, d + 1)?)),
            WordPiece::BackquotedCommandSubstitution(s) => {
                Piece::Subst(Arc::new(parse_at(&unbackquote(s), d + 1)?))
            }
            WordPiece::ArithmeticExpression(e) => Piece::Arith(word(&e.value, d + 1)?),
            WordPiece::AnsiCQuotedText(_) => return unsupported("$'…' quoting"),
            WordPiece::GettextDoubleQuotedSequence(_) => return unsupported("$\"…\" quoting"),
        });
    }
    Ok(out)
}

/// Inside backquotes `\$`, `` \` `` and `\\` stand for the character itself.
fn unbackquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(&n @ ('$' | '`' | '\\'))) => {
                out.push(n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn param_exp(pe: &P, d: usize) -> R<ParamExp> {
    let colon = |t: &ParameterTestType| matches!(t, ParameterTestType::UnsetOrNull);
    let opt_word =
        |w: &Option<String>| w.as_deref().map(|w| word(w, d + 1)).transpose().map(Option::unwrap_or_default);
    let (parameter, indirect, op) = match pe {
        P::Parameter { parameter, indirect } => (parameter, indirect, ParamOp::Plain),
        P::ParameterLength { parameter, indirect } => (parameter, indirect, ParamOp::Length),
        P::UseDefaultValues { parameter, indirect, test_type, default_value } => (
            parameter,
            indirect,
            ParamOp::Default { colon: colon(test_type), word: opt_word(default_value)? },
        ),
        P::AssignDefaultValues { parameter, indirect, test_type, default_value } => {
            (parameter, indirect, ParamOp::Assign { colon: colon(test_type), word: opt_word(default_value)? })
        }
        P::UseAlternativeValue { parameter, indirect, test_type, alternative_value } => (
            parameter,
            indirect,
            ParamOp::Alt { colon: colon(test_type), word: opt_word(alternative_value)? },
        ),
        P::IndicateErrorIfNullOrUnset { parameter, indirect, test_type, error_message } => {
            let word = error_message.as_deref().map(|w| word(w, d + 1)).transpose()?;
            (parameter, indirect, ParamOp::Error { colon: colon(test_type), word })
        }
        P::RemoveSmallestSuffixPattern { parameter, indirect, pattern } => {
            (parameter, indirect, ParamOp::TrimSuffix { longest: false, pattern: opt_word(pattern)? })
        }
        P::RemoveLargestSuffixPattern { parameter, indirect, pattern } => {
            (parameter, indirect, ParamOp::TrimSuffix { longest: true, pattern: opt_word(pattern)? })
        }
        P::RemoveSmallestPrefixPattern { parameter, indirect, pattern } => {
            (parameter, indirect, ParamOp::TrimPrefix { longest: false, pattern: opt_word(pattern)? })
        }
        P::RemoveLargestPrefixPattern { parameter, indirect, pattern } => {
            (parameter, indirect, ParamOp::TrimPrefix { longest: true, pattern: opt_word(pattern)? })
        }
        _ => return unsupported("this ${…} expansion form (substring, replace, case or transform)"),
    };
    if *indirect {
        return unsupported("${!x} indirection");
    }
    Ok(ParamExp { param: param(parameter)?, op })
}

fn param(p: &brush_parser::word::Parameter) -> R<Param> {
    use brush_parser::word::{Parameter as BP, SpecialParameter as S};
    Ok(match p {
        BP::Named(n) => Param::Named(n.clone()),
        BP::Positional(0) => Param::Arg0,
        BP::Positional(n) => Param::Positional(*n),
        BP::Special(S::AllPositionalParameters { concatenate }) => Param::All { concat: *concatenate },
        BP::Special(S::PositionalParameterCount) => Param::Count,
        BP::Special(S::LastExitStatus) => Param::Status,
        BP::Special(S::CurrentOptionFlags) => Param::Flags,
        BP::Special(S::ProcessId) => Param::Pid,
        BP::Special(S::LastBackgroundProcessId) => Param::LastBg,
        BP::Special(S::ShellName) => Param::Arg0,
        BP::NamedWithIndex { .. } | BP::NamedWithAllIndices { .. } => return unsupported("arrays"),
    })
}

#[cfg(test)]
mod tests {
    use super::unbackquote;

    #[test]
    fn backquotes() {
        assert_eq!(unbackquote(r"echo \`x\` \\ \$y \n"), r"echo `x` \ $y \n");
    }
}
