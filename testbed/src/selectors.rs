//! Label and field selectors with the grammar of apimachinery's `labels` and `fields` packages.
//!
//! Pure: parsed once per request, then matched against each object's JSON.

use serde_json::Value;
use std::collections::BTreeMap;

/// A parse failure, reported to clients as a 400 BadRequest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    Gt(String, i64),
    Lt(String, i64),
}

/// A conjunction of label requirements; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<LabelReq>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for term in split_top_level(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            reqs.push(parse_label_term(term)?);
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|req| match req {
            LabelReq::Eq(k, v) => labels.get(k) == Some(v),
            LabelReq::NotEq(k, v) => labels.get(k) != Some(v),
            LabelReq::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            LabelReq::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            LabelReq::Exists(k) => labels.contains_key(k),
            LabelReq::NotExists(k) => !labels.contains_key(k),
            LabelReq::Gt(k, n) => labels.get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *n),
            LabelReq::Lt(k, n) => labels.get(k).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *n),
        })
    }

    /// Matches the labels of a Kubernetes object in JSON form.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.0.is_empty() || self.matches(&object_labels(obj))
    }
}

pub fn object_labels(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// Splits on commas that are not inside `( … )` value sets.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn parse_label_term(term: &str) -> Result<LabelReq, SelectorError> {
    let bad = || SelectorError(format!("unable to parse requirement: {term:?}"));
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelReq::NotExists(valid_key(key.trim(), term)?));
    }
    for (op, is_in) in [(" notin ", false), (" in ", true)] {
        if let Some((key, rest)) = term.split_once(op) {
            let set = rest.trim().strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(bad)?;
            let values: Vec<String> = set.split(',').map(|v| v.trim().to_string()).collect();
            let key = valid_key(key.trim(), term)?;
            return Ok(if is_in { LabelReq::In(key, values) } else { LabelReq::NotIn(key, values) });
        }
    }
    for op in ["!=", "==", "=", ">", "<"] {
        if let Some((key, value)) = term.split_once(op) {
            let key = valid_key(key.trim(), term)?;
            let value = value.trim().to_string();
            return match op {
                "!=" => Ok(LabelReq::NotEq(key, value)),
                ">" => Ok(LabelReq::Gt(key, value.parse().map_err(|_| bad())?)),
                "<" => Ok(LabelReq::Lt(key, value.parse().map_err(|_| bad())?)),
                _ => Ok(LabelReq::Eq(key, value)),
            };
        }
    }
    Ok(LabelReq::Exists(valid_key(term, term)?))
}

fn valid_key(key: &str, term: &str) -> Result<String, SelectorError> {
    let ok = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(SelectorError(format!("unable to parse requirement: {term:?}")))
    }
}

/// A conjunction of `field=value` / `field!=value` terms over the fields a kind supports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parses `text`, rejecting fields not in `supported` the way the real server does.
    pub fn parse(text: &str, supported: &[&str]) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for term in split_unescaped(text, ',') {
            if term.is_empty() {
                continue;
            }
            let (field, negate, value) = if let Some((f, v)) = split_op(&term, "!=") {
                (f, true, v)
            } else if let Some((f, v)) = split_op(&term, "==").or_else(|| split_op(&term, "=")) {
                (f, false, v)
            } else {
                return Err(SelectorError(format!("invalid selector: '{term}'; can't understand '{term}'")));
            };
            if !supported.contains(&field.as_str()) {
                return Err(SelectorError(format!("field label not supported: {field}")));
            }
            terms.push((field, negate, unescape(&value)));
        }
        Ok(Self(terms))
    }

    /// Matches using `field_of` to read a supported field's value from the object.
    pub fn matches(&self, field_of: impl Fn(&str) -> String) -> bool {
        self.0.iter().all(|(f, negate, v)| (field_of(f) == *v) != *negate)
    }
}

/// Splits on `sep` unless escaped with a backslash (escapes are kept for `unescape`).
fn split_unescaped(text: &str, sep: char) -> Vec<String> {
    let (mut out, mut cur, mut escaped) = (Vec::new(), String::new(), false);
    for c in text.chars() {
        if escaped {
            cur.push('\\');
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn split_op(term: &str, op: &str) -> Option<(String, String)> {
    // The operator must not be escaped; escapes only appear in values.
    let i = term.find(op)?;
    if term[..i].ends_with('\\') {
        return None;
    }
    Some((term[..i].trim().to_string(), term[i + op.len()..].to_string()))
}

fn unescape(value: &str) -> String {
    let (mut out, mut chars) = (String::new(), value.chars());
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn label_selector_supports_every_operator_of_apimachinery() {
        let l = labels(&[("app.kubernetes.io/component", "fdsc"), ("tier", "3")]);
        let yes = [
            "app.kubernetes.io/component=fdsc",
            "app.kubernetes.io/component==fdsc",
            "app.kubernetes.io/component!=gwc",
            "missing!=x",
            "app.kubernetes.io/component in (gwc, fdsc)",
            "app.kubernetes.io/component notin (gwc,mdsc)",
            "tier",
            "!missing",
            "tier>2,tier<4",
            "",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&l), "{s} should match");
        }
        let no = ["tier!=3", "app.kubernetes.io/component in (gwc)", "!tier", "missing", "tier>3"];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&l), "{s} should not match");
        }
    }

    #[test]
    fn malformed_label_selector_is_an_error_not_a_match() {
        for s in ["a in b", "=x", "a>b", "we ird=1"] {
            assert!(LabelSelector::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn field_selector_rejects_unsupported_fields_like_the_real_server() {
        let err = FieldSelector::parse("spec.bogus=1", &["metadata.name"]).unwrap_err();
        assert_eq!(err.0, "field label not supported: spec.bogus");
    }

    #[test]
    fn field_selector_matches_equality_inequality_and_escapes() {
        let sel = FieldSelector::parse(
            "status.phase=Running,metadata.name!=a\\,b",
            &["status.phase", "metadata.name"],
        )
        .unwrap();
        assert!(sel.matches(|f| if f == "status.phase" { "Running".into() } else { "c".into() }));
        assert!(!sel.matches(|f| if f == "status.phase" { "Running".into() } else { "a,b".into() }));
        assert!(!sel.matches(|_| "Pending".into()));
    }
}
