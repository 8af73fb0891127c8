//! Helm's `toToml`: template data encoded as TOML the way BurntSushi/toml's encoder writes it
//! (sorted keys, plain keys before tables, two-space indentation per table level).

use tiphys_gotemplate::{Map, Value};

/// Encodes `v`; a map becomes a document, anything else an inline value.
pub fn to_toml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Map(m) => write_table(&mut out, &[], m),
        other => out.push_str(&inline(other)),
    }
    out
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(l) if !l.is_empty() && l.iter().all(is_table))
}

fn newline(out: &mut String) {
    if !out.is_empty() {
        out.push('\n');
    }
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth.saturating_sub(1))
}

fn write_table(out: &mut String, path: &[String], m: &Map) {
    for (k, v) in m {
        if v.is_nil() || is_table(v) || is_table_array(v) {
            continue;
        }
        out.push_str(&format!("{}{} = {}", indent(path.len() + 1), key(k), inline(v)));
        newline(out);
    }
    for (k, v) in m {
        let mut sub = path.to_vec();
        sub.push(key(k));
        match v {
            Value::Map(inner) => {
                if sub.len() == 1 {
                    newline(out);
                }
                out.push_str(&format!("{}[{}]", indent(sub.len()), sub.join(".")));
                newline(out);
                write_table(out, &sub, inner);
            }
            Value::List(items) if is_table_array(v) => {
                for item in items.iter() {
                    if let Value::Map(inner) = item {
                        newline(out);
                        out.push_str(&format!("{}[[{}]]", indent(sub.len()), sub.join(".")));
                        newline(out);
                        write_table(out, &sub, inner);
                    }
                }
            }
            _ => {}
        }
    }
}

fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        quote(k)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inline(v: &Value) -> String {
    match v {
        Value::Nil => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "nan".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }
        }
        Value::Float(f) if f.trunc() == *f && f.abs() < 1e17 => format!("{f:.1}"),
        Value::Float(f) => f.to_string(),
        Value::String(s) => quote(s),
        Value::List(l) => format!("[{}]", l.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .filter(|(_, v)| !v.is_nil())
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Bytes(b) => quote(&String::from_utf8_lossy(b)),
        Value::Object(o) => quote(&o.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: Vec<(&str, Value)>) -> Value {
        Value::map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    #[test]
    fn matches_burntsushi_layout() {
        let v = map(vec![
            ("a", Value::Int(1)),
            ("s", Value::from("x\"y")),
            ("f", Value::Float(1.5)),
            ("b", Value::Bool(true)),
            ("l", Value::list(vec![Value::Int(1), Value::Int(2)])),
            ("ls", Value::list(vec![Value::from("a"), Value::from("b")])),
            ("sub", map(vec![("k", Value::from("v")), ("deep", map(vec![("z", Value::Int(1))]))])),
            ("m", Value::list(vec![map(vec![("x", Value::Int(1))]), map(vec![("x", Value::Int(2))])])),
            ("e", map(vec![])),
        ]);
        assert_eq!(
            to_toml(&v),
            "a = 1\nb = true\nf = 1.5\nl = [1, 2]\nls = [\"a\", \"b\"]\ns = \"x\\\"y\"\n\n[e]\n\n[[m]]\n  x = 1\n\n[[m]]\n  x = 2\n\n[sub]\n  k = \"v\"\n  [sub.deep]\n    z = 1\n"
        );
        assert_eq!(to_toml(&Value::list(vec![Value::Int(1), Value::Int(2)])), "[1, 2]");
        assert_eq!(to_toml(&map(vec![("q", Value::from("1.0"))])), "q = \"1.0\"\n");
    }
}
