//! `$((…))`: brush-parser's arithmetic grammar evaluated over shell variables with 64-bit
//! wrapping integers, as dash does.

use super::parse::{ParseFail, on_big_stack};
use brush_parser::ast::{
    ArithmeticExpr as E, ArithmeticTarget, BinaryOperator as B, UnaryAssignmentOperator as UA,
    UnaryOperator as U,
};
use std::collections::BTreeMap;

const MAX_LEN: usize = 1024;
/// How many names a variable may refer through (`a=b b=1; $((a))`).
const MAX_INDIRECTION: usize = 8;

/// Evaluates `expr` (already expanded), reading and assigning `vars`.
pub(crate) fn eval(expr: &str, vars: &mut BTreeMap<String, String>) -> Result<i64, String> {
    if expr.len() > MAX_LEN {
        return Err("arithmetic expression: too long".into());
    }
    let owned = expr.to_string();
    // Parsed apart: brush-parser's arithmetic grammar recurses deeply on `((((…`.
    let parsed = on_big_stack(move || {
        brush_parser::arithmetic::parse(&owned).map_err(|e| ParseFail::Syntax(e.to_string()))
    })
    .map_err(|_| format!("arithmetic expression: syntax error: \"{}\"", expr.trim()))?;
    Eval { vars }.eval(&parsed)
}

struct Eval<'a> {
    vars: &'a mut BTreeMap<String, String>,
}

fn name(t: &ArithmeticTarget) -> Result<&str, String> {
    match t {
        ArithmeticTarget::Variable(n) => Ok(n),
        ArithmeticTarget::ArrayElement(..) => Err("arithmetic expression: arrays are not supported".into()),
    }
}

impl Eval<'_> {
    fn eval(&mut self, e: &E) -> Result<i64, String> {
        Ok(match e {
            E::Literal(n) => *n,
            E::Reference(t) => self.value(name(t)?)?,
            E::UnaryOp(op, x) => {
                let v = self.eval(x)?;
                match op {
                    U::UnaryPlus => v,
                    U::UnaryMinus => v.wrapping_neg(),
                    U::BitwiseNot => !v,
                    U::LogicalNot => i64::from(v == 0),
                }
            }
            E::BinaryOp(B::LogicalAnd, l, r) => i64::from(self.eval(l)? != 0 && self.eval(r)? != 0),
            E::BinaryOp(B::LogicalOr, l, r) => i64::from(self.eval(l)? != 0 || self.eval(r)? != 0),
            E::BinaryOp(op, l, r) => {
                let a = self.eval(l)?;
                apply(op, a, self.eval(r)?)?
            }
            E::Conditional(c, t, f) => {
                if self.eval(c)? != 0 {
                    self.eval(t)?
                } else {
                    self.eval(f)?
                }
            }
            E::Assignment(t, x) => {
                let v = self.eval(x)?;
                self.set(name(t)?, v)
            }
            E::BinaryAssignment(op, t, x) => {
                let n = name(t)?;
                let cur = self.value(n)?;
                let v = apply(op, cur, self.eval(x)?)?;
                self.set(n, v)
            }
            E::UnaryAssignment(op, t) => {
                let n = name(t)?;
                let cur = self.value(n)?;
                let new = match op {
                    UA::PrefixIncrement | UA::PostfixIncrement => cur.wrapping_add(1),
                    UA::PrefixDecrement | UA::PostfixDecrement => cur.wrapping_sub(1),
                };
                self.set(n, new);
                if matches!(op, UA::PrefixIncrement | UA::PrefixDecrement) { new } else { cur }
            }
        })
    }

    fn set(&mut self, name: &str, v: i64) -> i64 {
        self.vars.insert(name.to_string(), v.to_string());
        v
    }

    /// A variable as a number: unset or empty is 0, a name is followed.
    fn value(&self, name: &str) -> Result<i64, String> {
        let mut current = name.to_string();
        for _ in 0..MAX_INDIRECTION {
            let text = self.vars.get(&current).map(|s| s.trim().to_string()).unwrap_or_default();
            if text.is_empty() {
                return Ok(0);
            }
            if let Some(n) = number(&text) {
                return Ok(n);
            }
            if !is_name(&text) {
                return Err(format!("arithmetic expression: illegal number: {text}"));
            }
            current = text;
        }
        Err(format!("arithmetic expression: {name}: too many levels of indirection"))
    }
}

fn number(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(digits, 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { n.wrapping_neg() } else { n })
}

pub(crate) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn apply(op: &B, a: i64, b: i64) -> Result<i64, String> {
    let shift = |b: i64| u32::try_from(b.rem_euclid(64)).unwrap_or(0);
    Ok(match op {
        B::Power => {
            let exp =
                u32::try_from(b).map_err(|_| "arithmetic expression: exponent less than 0".to_string())?;
            a.wrapping_pow(exp)
        }
        B::Multiply => a.wrapping_mul(b),
        B::Divide | B::Modulo if b == 0 => return Err("arithmetic expression: division by zero".into()),
        B::Divide => a.wrapping_div(b),
        B::Modulo => a.wrapping_rem(b),
        B::Comma => b,
        B::Add => a.wrapping_add(b),
        B::Subtract => a.wrapping_sub(b),
        B::ShiftLeft => a.wrapping_shl(shift(b)),
        B::ShiftRight => a.wrapping_shr(shift(b)),
        B::LessThan => i64::from(a < b),
        B::LessThanOrEqualTo => i64::from(a <= b),
        B::GreaterThan => i64::from(a > b),
        B::GreaterThanOrEqualTo => i64::from(a >= b),
        B::Equals => i64::from(a == b),
        B::NotEquals => i64::from(a != b),
        B::BitwiseAnd => a & b,
        B::BitwiseXor => a ^ b,
        B::BitwiseOr => a | b,
        B::LogicalAnd => i64::from(a != 0 && b != 0),
        B::LogicalOr => i64::from(a != 0 || b != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates() {
        let mut vars =
            BTreeMap::from([("i".to_string(), "41".to_string()), ("r".to_string(), "i".to_string())]);
        assert_eq!(eval("1 + 2 * 3", &mut vars), Ok(7));
        assert_eq!(eval("i += 1", &mut vars), Ok(42));
        assert_eq!(vars["i"], "42");
        assert_eq!(eval("r - 2", &mut vars), Ok(40));
        assert_eq!(eval("unset_var + 0x10 + 010", &mut vars), Ok(24));
        assert_eq!(eval("i++ , i", &mut vars), Ok(43));
        assert_eq!(eval("(3 > 2) && !0 ? 5 : 6", &mut vars), Ok(5));
        assert_eq!(eval("", &mut vars), Ok(0));
        assert!(eval("1 / 0", &mut vars).is_err());
        assert!(eval("2 ** -1", &mut vars).is_err());
        assert!(eval("1 +", &mut vars).is_err());
        assert!(eval(&"(".repeat(600), &mut vars).is_err());
        assert_eq!(eval("9223372036854775807 + 1", &mut vars), Ok(i64::MIN));
    }
}
