//! Go's `encoding/json` output for template data (`toJson`, `toPrettyJson`, `toRawJson`).

use crate::{Value, gofmt};

/// Encodes like `json.Marshal` (`escape_html`) or an `Encoder` with `SetEscapeHTML(false)`;
/// `pretty` is `MarshalIndent(v, "", "  ")`.
pub(crate) fn encode(v: &Value, pretty: bool, escape_html: bool) -> String {
    let mut out = String::new();
    write(&mut out, v, pretty, escape_html, 0);
    out
}

fn newline(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
}

fn write(out: &mut String, v: &Value, pretty: bool, esc: bool, depth: usize) {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float(*f)),
        Value::String(s) => string(out, s, esc),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (n, x) in l.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                write(out, x, pretty, esc, depth + 1);
            }
            newline(out, pretty, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (n, (k, x)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, pretty, depth + 1);
                string(out, k, esc);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write(out, x, pretty, esc, depth + 1);
            }
            newline(out, pretty, depth);
            out.push('}');
        }
        Value::Bytes(_) | Value::Object(_) => write(out, &Value::from_json(&v.to_json()), pretty, esc, depth),
    }
}

/// Go's float64 JSON form: shortest digits, exponent only below 1e-6 or from 1e21.
pub(crate) fn float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = gofmt::float_g(f);
        // Go trims a two-digit negative exponent: 1e-07 -> 1e-7
        return s.replace("e-0", "e-").replace("e+0", "e+");
    }
    let s = format!("{f}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn string(out: &mut String, s: &str, esc: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if esc => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
