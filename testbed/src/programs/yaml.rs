//! The small YAML subset the relayer's `config.yaml` uses (what yaml.v3 writes for
//! `cmd/config.go`'s structs: 4-space indent, block mappings, `- scalar` lists, `[]`/`{}`,
//! double-quoted or plain scalars), rendered from and parsed into `serde_json::Value`.
//! Parsing is lenient and never panics: anything it does not understand becomes a string.

use serde_json::{Map, Value};

/// Indent per level, as yaml.v3 writes (`yaml.NewEncoder` default is 4).
const INDENT: usize = 4;

/// An ordered YAML node: yaml.v3 writes struct fields in declaration order, which a
/// `serde_json::Map` (sorted) would lose.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Map(Vec<(String, Node)>),
    List(Vec<Value>),
    Scalar(Value),
}

impl Node {
    pub fn map(fields: Vec<(&str, Node)>) -> Node {
        Node::Map(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn s(v: impl Into<Value>) -> Node {
        Node::Scalar(v.into())
    }
}

/// Renders a mapping as block YAML.
pub fn render(v: &Node) -> String {
    let mut out = String::new();
    if let Node::Map(m) = v {
        render_map(m, 0, &mut out);
    }
    out
}

fn render_map(m: &[(String, Node)], depth: usize, out: &mut String) {
    let pad = " ".repeat(depth * INDENT);
    for (k, v) in m {
        match v {
            Node::Map(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}{k}:\n"));
                render_map(inner, depth + 1, out);
            }
            Node::Map(_) => out.push_str(&format!("{pad}{k}: {{}}\n")),
            Node::List(items) if !items.is_empty() => {
                out.push_str(&format!("{pad}{k}:\n"));
                for item in items {
                    out.push_str(&format!("{pad}{}- {}\n", " ".repeat(INDENT), scalar(item)));
                }
            }
            Node::List(_) => out.push_str(&format!("{pad}{k}: []\n")),
            Node::Scalar(s) => out.push_str(&format!("{pad}{k}: {}\n", scalar(s))),
        }
    }
}

/// One scalar as yaml.v3 writes it: empty strings quoted, plain otherwise.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if needs_quotes(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::String(s) => s.clone(),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || matches!(s, "true" | "false" | "null" | "~" | "yes" | "no")
        || s.parse::<f64>().is_ok()
        || s.starts_with([' ', '-', '[', '{', '"', '\'', '#', '&', '*', '!', '|', '>', '%', '@'])
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
}

/// Parses block YAML into a JSON object (numbers and booleans typed; quoted strings kept).
pub fn parse(text: &str) -> Value {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| (l.len() - l.trim_start().len(), l.trim()))
        .collect();
    let mut pos = 0;
    parse_block(&lines, &mut pos, 0)
}

fn parse_block(lines: &[(usize, &str)], pos: &mut usize, indent: usize) -> Value {
    let Some(&(_, first)) = lines.get(*pos) else { return Value::Object(Map::new()) };
    if first.starts_with("- ") || first == "-" {
        let mut items = Vec::new();
        while let Some(&(ind, line)) = lines.get(*pos) {
            if ind != indent || !(line.starts_with("- ") || line == "-") {
                break;
            }
            items.push(parse_scalar(line.trim_start_matches('-').trim()));
            *pos += 1;
        }
        return Value::Array(items);
    }
    let mut map = Map::new();
    while let Some(&(ind, line)) = lines.get(*pos) {
        if ind != indent {
            if ind < indent {
                break;
            }
            *pos += 1; // deeper than expected without a parent key: skip
            continue;
        }
        let (key, rest) = match line.split_once(':') {
            Some((k, r)) => (k.trim().trim_matches('"').to_string(), r.trim()),
            None => (line.to_string(), ""),
        };
        *pos += 1;
        let value = if rest.is_empty() {
            match lines.get(*pos) {
                Some(&(next, l)) if next > indent || (next == indent && l.starts_with('-')) => {
                    parse_block(lines, pos, next)
                }
                _ => Value::Null,
            }
        } else {
            parse_scalar(rest)
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

fn parse_scalar(s: &str) -> Value {
    match s {
        "" | "null" | "~" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "[]" => Value::Array(Vec::new()),
        "{}" => Value::Object(Map::new()),
        _ if s.starts_with('"') => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into())),
        _ if s.starts_with('\'') && s.len() >= 2 && s.ends_with('\'') => {
            Value::String(s[1..s.len() - 1].replace("''", "'"))
        }
        _ => {
            if let Ok(i) = s.parse::<i64>() {
                return Value::from(i);
            }
            match s.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::from(f),
                _ => Value::String(s.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_nested_maps_lists_and_scalars() {
        let n = Node::map(vec![
            (
                "global",
                Node::map(vec![
                    ("timeout", Node::s("10s")),
                    ("memo", Node::s("")),
                    ("light-cache-size", Node::s(20)),
                ]),
            ),
            (
                "chains",
                Node::map(vec![(
                    "gwc",
                    Node::map(vec![
                        ("type", Node::s("cosmos")),
                        (
                            "value",
                            Node::map(vec![
                                ("gas-adjustment", Node::s(1.5)),
                                ("debug", Node::s(false)),
                                ("backup-rpc-addrs", Node::List(vec![])),
                                ("coin-type", Node::s(Value::Null)),
                            ]),
                        ),
                    ]),
                )]),
            ),
            (
                "paths",
                Node::map(vec![(
                    "p",
                    Node::map(vec![(
                        "src-channel-filter",
                        Node::map(vec![
                            ("rule", Node::s("")),
                            ("channel-list", Node::List(vec!["channel-0".into(), "channel-1".into()])),
                        ]),
                    )]),
                )]),
            ),
            ("empty", Node::map(vec![])),
        ]);
        let v = json!({"global": {"timeout": "10s", "memo": "", "light-cache-size": 20},
            "chains": {"gwc": {"type": "cosmos", "value": {"gas-adjustment": 1.5, "debug": false,
            "backup-rpc-addrs": [], "coin-type": null}}},
            "paths": {"p": {"src-channel-filter": {"rule": "", "channel-list": ["channel-0", "channel-1"]}}},
            "empty": {}});
        let text = render(&n);
        assert!(text.starts_with("global:\n    timeout: 10s\n"), "{text}");
        assert!(text.contains("    memo: \"\"\n"), "{text}");
        assert!(text.contains("\n            channel-list:\n                - channel-0\n"), "{text}");
        assert_eq!(parse(&text), v);
    }

    #[test]
    fn parses_the_fixture_shape_and_never_panics_on_junk() {
        let v = parse(
            "global:\n    memo: \"hi\"\nchains: {}\npaths:\n    a:\n        src:\n            chain-id: x\n",
        );
        assert_eq!(v["global"]["memo"], "hi");
        assert_eq!(v["chains"], json!({}));
        assert_eq!(v["paths"]["a"]["src"]["chain-id"], "x");
        for junk in ["::", "- a\nb: c", "  x: 1\ny", "\"unterminated", "a:\n        b: 1\n    c: 2"] {
            let _ = parse(junk);
        }
    }
}
