//! The shell's own syntax tree: the checked subset of brush-parser's AST that the interpreter
//! runs, with every word pre-parsed (command substitutions included) so nothing is parsed
//! while running except `eval`, `.` and arithmetic.

use std::sync::Arc;

/// Commands separated by `;`, `&` or newlines. Cheap to clone (a nested list can be handed
/// to another task).
#[derive(Debug, Clone, Default)]
pub(crate) struct List(pub Arc<[Item]>);

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub chain: AndOr,
    /// Ended by `&`.
    pub background: bool,
}

/// `a && b || c`.
#[derive(Debug, Clone)]
pub(crate) struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connector {
    And,
    Or,
}

/// `! a | b`.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub bang: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    Simple(Simple),
    Compound(Compound, Vec<Redir>),
    /// `name() body`.
    FuncDef(String, Arc<(Compound, Vec<Redir>)>),
}

/// `A=1 cmd args >out`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Simple {
    pub assigns: Vec<Assign>,
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
}

#[derive(Debug, Clone)]
pub(crate) struct Assign {
    pub name: String,
    pub value: Word,
    /// `+=`.
    pub append: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Compound {
    /// `{ …; }`
    Group(List),
    /// `( … )`
    Subshell(List),
    /// `if c1; then b1; elif c2; then b2; else b3; fi`
    If { branches: Vec<(List, List)>, otherwise: Option<List> },
    /// `for var in items; do body; done` (no `in` → `"$@"`).
    For { var: String, items: Option<Vec<Word>>, body: List },
    /// `while`/`until cond; do body; done`.
    While { until: bool, cond: List, body: List },
    /// `case subject in pat|pat) body;; esac`
    Case { subject: Word, arms: Vec<CaseArm> },
}

#[derive(Debug, Clone)]
pub(crate) struct CaseArm {
    pub patterns: Vec<Word>,
    pub body: List,
    /// Ended by `;&`.
    pub fallthrough: bool,
}

/// A redirection of fd 0, 1 or 2.
#[derive(Debug, Clone)]
pub(crate) struct Redir {
    pub fd: u32,
    pub op: RedirOp,
}

#[derive(Debug, Clone)]
pub(crate) enum RedirOp {
    /// `<file`
    Read(Word),
    /// `>file` (also `>|`)
    Write(Word),
    /// `>>file`
    Append(Word),
    /// `>&N`, `<&N`, `>&-`
    Dup(Word),
    /// Here-document or here-string body.
    Here(Word),
    /// `&>file` / `&>>file`
    Both(Word, bool),
}

/// A word: pieces concatenated, then split and globbed per quoting.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word(pub Vec<Piece>);

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    /// Unquoted text (glob characters active).
    Lit(String),
    /// Quoted text (literal).
    Quoted(String),
    /// `"…"`; inner pieces are never split or globbed.
    Double(Vec<Piece>),
    Param(Box<ParamExp>),
    /// `$(…)` / `` `…` ``
    Subst(Arc<List>),
    /// `$((…))`: the expression text is expanded first, then evaluated.
    Arith(Word),
    /// `~` (HOME).
    Tilde,
}

#[derive(Debug, Clone)]
pub(crate) struct ParamExp {
    pub param: Param,
    pub op: ParamOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Named(String),
    Positional(u32),
    /// `$?`
    Status,
    /// `$#`
    Count,
    /// `$@` (false) / `$*` (true)
    All {
        concat: bool,
    },
    /// `$$`
    Pid,
    /// `$!`
    LastBg,
    /// `$0`
    Arg0,
    /// `$-`
    Flags,
}

#[derive(Debug, Clone)]
pub(crate) enum ParamOp {
    Plain,
    /// `${#x}`
    Length,
    /// `${x-w}` / `${x:-w}` (`colon`: empty counts as unset)
    Default {
        colon: bool,
        word: Word,
    },
    /// `${x=w}` / `${x:=w}`
    Assign {
        colon: bool,
        word: Word,
    },
    /// `${x+w}` / `${x:+w}`
    Alt {
        colon: bool,
        word: Word,
    },
    /// `${x?w}` / `${x:?w}`
    Error {
        colon: bool,
        word: Option<Word>,
    },
    /// `${x%p}` / `${x%%p}`
    TrimSuffix {
        longest: bool,
        pattern: Word,
    },
    /// `${x#p}` / `${x##p}`
    TrimPrefix {
        longest: bool,
        pattern: Word,
    },
}

impl Word {
    /// A word of literal (quoted) text.
    pub(crate) fn quoted(s: impl Into<String>) -> Self {
        Word(vec![Piece::Quoted(s.into())])
    }
}
