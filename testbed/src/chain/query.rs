//! CometBFT's event query language (`libs/pubsub/query/syntax`) for `tx_search` and
//! `block_search`: `cond AND cond …`, where a condition is `key OP operand` or `key EXISTS`,
//! OP one of `= < <= > >= CONTAINS`, operands `'strings'` or numbers. A tx matches on its
//! `tx.hash`, `tx.height` and every `event.attribute`; a block on `block.height`.

#[derive(Debug, Clone, PartialEq)]
pub struct Query(Vec<Condition>);

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    key: String,
    op: Op,
    operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    None,
    Str(String),
    Num(f64),
}

impl Query {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lexer = Lexer { s: text.as_bytes(), pos: 0 };
        let mut conditions = Vec::new();
        loop {
            conditions.push(lexer.condition()?);
            lexer.skip_space();
            if lexer.pos >= lexer.s.len() {
                break;
            }
            if !lexer.keyword("AND") {
                return Err(format!("unexpected input at offset {}: expected AND", lexer.pos));
            }
        }
        Ok(Self(conditions))
    }

    /// True when every condition holds for some attribute of `attrs` (`(composite key, value)`).
    pub fn matches<'a>(&self, attrs: impl Fn(&str) -> Vec<&'a str>) -> bool {
        self.0.iter().all(|c| attrs(&c.key).iter().any(|v| c.holds(v)))
    }

    /// The value of `key = <number>` if the query pins one (lets a search skip a full scan).
    pub fn exact_number(&self, key: &str) -> Option<u64> {
        self.0.iter().find_map(|c| match (&c.operand, c.op) {
            (Operand::Num(n), Op::Eq) if c.key == key && *n >= 0.0 => Some(*n as u64),
            _ => None,
        })
    }

    /// The value of `key = '<string>'` if the query pins one.
    pub fn exact_string(&self, key: &str) -> Option<&str> {
        self.0.iter().find_map(|c| match (&c.operand, c.op) {
            (Operand::Str(s), Op::Eq) if c.key == key => Some(s.as_str()),
            _ => None,
        })
    }
}

impl Condition {
    fn holds(&self, value: &str) -> bool {
        match (&self.operand, self.op) {
            (_, Op::Exists) => true,
            (Operand::Str(s), Op::Eq) => value == s,
            (Operand::Str(s), Op::Contains) => value.contains(s.as_str()),
            (Operand::Str(s), op) => compare(value.cmp(s.as_str()), op),
            (Operand::Num(n), op) => {
                value.parse::<f64>().ok().and_then(|v| v.partial_cmp(n)).is_some_and(|o| compare(o, op))
            }
            (Operand::None, _) => false,
        }
    }
}

fn compare(ordering: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (ordering, op),
        (Equal, Op::Eq | Op::Le | Op::Ge) | (Less, Op::Lt | Op::Le) | (Greater, Op::Gt | Op::Ge)
    )
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.skip_space();
        let end = self.pos + word.len();
        let matches = self.s.get(self.pos..end).is_some_and(|w| w == word.as_bytes());
        let bounded = self.s.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
        if matches && bounded {
            self.pos = end;
        }
        matches && bounded
    }

    fn condition(&mut self) -> Result<Condition, String> {
        self.skip_space();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || b"._-/".contains(c)) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(format!("unexpected input at offset {start}: expected a tag"));
        }
        let key = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
        self.skip_space();
        let op = if self.keyword("EXISTS") {
            return Ok(Condition { key, op: Op::Exists, operand: Operand::None });
        } else if self.keyword("CONTAINS") {
            Op::Contains
        } else {
            let two = self.s.get(self.pos..self.pos + 2);
            let (op, len) = match (two, self.s.get(self.pos)) {
                (Some(b"<="), _) => (Op::Le, 2),
                (Some(b">="), _) => (Op::Ge, 2),
                (_, Some(b'=')) => (Op::Eq, 1),
                (_, Some(b'<')) => (Op::Lt, 1),
                (_, Some(b'>')) => (Op::Gt, 1),
                _ => return Err(format!("unexpected input at offset {}: expected an operator", self.pos)),
            };
            self.pos += len;
            op
        };
        self.skip_space();
        Ok(Condition { key, op, operand: self.operand()? })
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.s.get(self.pos) {
            Some(b'\'') => {
                let start = self.pos + 1;
                let end = self.s[start..].iter().position(|c| *c == b'\'').map(|i| start + i);
                let end = end.ok_or_else(|| format!("unterminated string at offset {}", self.pos))?;
                self.pos = end + 1;
                Ok(Operand::Str(String::from_utf8_lossy(&self.s[start..end]).into_owned()))
            }
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(|c| c.is_ascii_digit() || *c == b'.' || *c == b'-') {
                    self.pos += 1;
                }
                let text = String::from_utf8_lossy(&self.s[start..self.pos]).into_owned();
                text.parse().map(Operand::Num).map_err(|_| format!("invalid number {text:?}"))
            }
            _ => Err(format!("unexpected input at offset {}: expected a string or number", self.pos)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Vec<&'a str> {
        move |k| pairs.iter().filter(|(key, _)| *key == k).map(|(_, v)| *v).collect()
    }

    #[test]
    fn the_recorded_queries_parse_and_match() {
        let q = Query::parse("tx.height > 1").unwrap();
        assert!(q.matches(attrs(&[("tx.height", "2")])));
        assert!(!q.matches(attrs(&[("tx.height", "1")])));
        let q = Query::parse("tx.hash='ABCD'").unwrap();
        assert_eq!(q.exact_string("tx.hash"), Some("ABCD"));
        assert!(q.matches(attrs(&[("tx.hash", "ABCD")])));
    }

    #[test]
    fn conjunctions_events_and_contains_match() {
        let q =
            Query::parse("message.sender = 'cosmos1a' AND transfer.amount CONTAINS 'uatom' AND tx.height>=3")
                .unwrap();
        let pairs = [("message.sender", "cosmos1a"), ("transfer.amount", "5uatom"), ("tx.height", "3")];
        assert!(q.matches(attrs(&pairs)));
        assert!(!q.matches(attrs(&pairs[..2])));
        assert!(Query::parse("tx.height EXISTS").unwrap().matches(attrs(&pairs)));
    }

    #[test]
    fn malformed_queries_are_errors_not_panics() {
        for bad in ["", "tx.height", "tx.height >", "tx.hash='abc", "= 3", "a=1 OR b=2", "a=1 AND", "a=1-2-"]
        {
            assert!(Query::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
