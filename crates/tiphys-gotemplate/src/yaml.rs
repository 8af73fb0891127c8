//! YAML the way Helm's `toYaml`/`fromYaml` see it: sigs.k8s.io/yaml, which marshals to JSON
//! and re-emits through go-yaml v2. That fixes key order (go-yaml's natural sort), number
//! printing (JSON then YAML), when strings are quoted and how long plain strings wrap at
//! column 80.

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

use crate::{Error, Value, gofmt};

/// go-yaml v2's preferred line width for plain and single-quoted scalars.
const BEST_WIDTH: usize = 80;

/// Serializes like sigs.k8s.io/yaml `Marshal` (trailing newline included; Helm's `toYaml`
/// trims it).
pub fn to_yaml(value: &Value) -> String {
    let json = normalize(value);
    let mut out = String::new();
    match &json {
        Value::Map(m) if !m.is_empty() => emit_map(&mut out, m, 0),
        Value::List(l) if !l.is_empty() => emit_list(&mut out, l, 0),
        other => {
            out.push_str(&scalar(other, 0, false));
            out.push('\n');
        }
    }
    out
}

/// Parses one YAML document like sigs.k8s.io/yaml `Unmarshal` into `interface{}`: numbers
/// become float64 (it converts through JSON), maps get string keys.
/// Like go-yaml's `Unmarshal`, only the first document of a stream is read.
pub fn from_yaml(text: &str) -> Result<Value, Error> {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_str_multiple_with_options(
        text,
        serde_saphyr::options! { legacy_octal_numbers: true },
    )
    .map_err(|e| Error::func(format!("error converting YAML to JSON: {}", go_yaml_error(&e.to_string()))))?;
    Ok(docs.first().map(Value::from_json_floats).unwrap_or(Value::Nil))
}

/// Words the YAML parser's failures the way Helm users see them where the cause is the same:
/// infinities and NaN cannot become JSON.
fn go_yaml_error(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    if first.contains("non-finite float") {
        let token = first.split('`').nth(1).unwrap_or("").to_ascii_lowercase();
        let value = if token.contains("nan") {
            "NaN"
        } else if token.starts_with('-') {
            "-Inf"
        } else {
            "+Inf"
        };
        return format!("json: unsupported value: {value}");
    }
    first.trim_start_matches("error: ").to_string()
}

/// The JSON round trip: whole floats below 1e21 become ints (Go's `encoding/json` prints them
/// without a fraction and go-yaml reads them back as ints); bytes become base64; objects their
/// text.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 && f.is_finite() => Value::Int(*f as i64),
        Value::List(l) => Value::list(l.iter().map(normalize).collect()),
        Value::Map(m) => Value::map(m.iter().map(|(k, x)| (k.clone(), normalize(x))).collect()),
        Value::Bytes(_) | Value::Object(_) => Value::from_json(&v.to_json()),
        other => other.clone(),
    }
}

/// Appends a rendered scalar, indenting its continuation lines (marked `\n\0`).
fn push_scalar(out: &mut String, text: &str, indent: usize) {
    if !text.contains('\0') {
        out.push_str(text);
        return;
    }
    for (i, part) in text.split("\n\u{0}").enumerate() {
        if i > 0 {
            out.push('\n');
            push_spaces(out, indent);
        }
        out.push_str(part);
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// go-yaml v2's map key order: digit runs compare numerically, non-letters before letters.
fn key_less(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return key_order(a.as_bytes(), b.as_bytes(), |c: &u8| char::from(*c));
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    key_order(&ar, &br, |c: &char| *c)
}

/// [`key_less`] over any character slice (bytes for ASCII keys avoid allocating).
fn key_order<T: Copy + PartialEq>(ar: &[T], br: &[T], ch: impl Fn(&T) -> char) -> Ordering {
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ch(&ar[i]).is_alphabetic();
        let bl = ch(&br[i]).is_alphabetic();
        if al && bl {
            return ch(&ar[i]).cmp(&ch(&br[i]));
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ch(&ar[i]) == '0' || ch(&br[i]) == '0' {
            let mut j = i;
            while j > 0 && ch(&ar[j - 1]).is_ascii_digit() {
                j -= 1;
                if ch(&ar[j]) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ch(&ar[ai]).is_ascii_digit() {
            an = an.saturating_mul(10).saturating_add(i64::from(ch(&ar[ai]) as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && ch(&br[bi]).is_ascii_digit() {
            bn = bn.saturating_mul(10).saturating_add(i64::from(ch(&br[bi]) as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ch(&ar[i]).cmp(&ch(&br[i]));
    }
    ar.len().cmp(&br.len())
}

fn sorted_keys(m: &crate::Map) -> Vec<&String> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by(|a, b| key_less(a, b));
    keys
}

fn emit_map(out: &mut String, m: &crate::Map, indent: usize) {
    for k in sorted_keys(m) {
        let v = &m[k];
        push_spaces(out, indent);
        let key = string_scalar(k, indent, true);
        out.push_str(&key);
        out.push(':');
        match v {
            Value::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_map(out, inner, indent + 2);
            }
            Value::List(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_list(out, inner, indent);
            }
            other => {
                out.push(' ');
                let col = indent + key.chars().count() + 2;
                push_scalar(out, &scalar(other, col, false), indent + 2);
                out.push('\n');
            }
        }
    }
}

fn emit_list(out: &mut String, l: &[Value], indent: usize) {
    for v in l {
        push_spaces(out, indent);
        out.push_str("- ");
        match v {
            Value::Map(inner) if !inner.is_empty() => {
                // first key on the dash line, the rest indented under it
                let mut sub = String::new();
                emit_map(&mut sub, inner, indent + 2);
                out.push_str(&sub[indent + 2..]);
            }
            Value::List(inner) if !inner.is_empty() => {
                let mut sub = String::new();
                emit_list(&mut sub, inner, indent + 2);
                out.push_str(&sub[indent + 2..]);
            }
            other => {
                push_scalar(out, &scalar(other, indent + 2, false), indent + 2);
                out.push('\n');
            }
        }
    }
}

/// Renders a scalar; block scalars mark continuation lines with `\n\0` for the caller to
/// indent.
fn scalar(v: &Value, column: usize, is_key: bool) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                ".nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 { "+.inf".into() } else { "-.inf".into() }
            } else {
                gofmt::float_g(*f)
            }
        }
        Value::String(s) => string_scalar(s, column, is_key),
        Value::Map(_) => "{}".into(),
        Value::List(_) => "[]".into(),
        Value::Bytes(_) | Value::Object(_) => string_scalar(&gofmt::display(v), column, is_key),
    }
}

fn regexes() -> &'static (Regex, Regex, Regex) {
    static RE: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        let r = |s: &str| Regex::new(s).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|e| panic!("{e}")));
        (
            r(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
            r(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"),
            r(r"^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)?$"),
        )
    })
}

/// Whether go-yaml v2 would resolve this plain text to something other than a string.
fn resolves_non_string(s: &str) -> bool {
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return false;
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if go_parse_int(&plain) {
        return true;
    }
    // cheap shape checks first: most digit-leading strings ("500m", "1.25") are decided here
    let (float_re, base60, ts) = regexes();
    let float_like = plain.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
    let base60_like =
        s.contains(':') && s.chars().all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '_' | '+' | '-'));
    let ts_like = s.len() >= 8 && s.as_bytes().get(4) == Some(&b'-');
    // Go's ParseFloat fails on overflow ("9e9999"), which leaves the text a plain string
    let float = float_like && float_re.is_match(&plain) && plain.parse::<f64>().is_ok_and(f64::is_finite);
    float || (base60_like && base60.is_match(s)) || (ts_like && ts.is_match(s))
}

/// `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance.
fn go_parse_int(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h, 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b, 2)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// go-yaml v2's `is_printable`: note that characters beyond U+FFFF (emoji) and NEL are not,
/// so such strings are double-quoted with escapes.
fn is_printable(c: char) -> bool {
    c == '\n'
        || ('\u{20}'..='\u{7e}').contains(&c)
        || ('\u{a0}'..='\u{d7ff}').contains(&c)
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

/// libyaml's `IS_BREAK`.
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

#[derive(Default)]
struct Analysis {
    plain: bool,
    single: bool,
    block: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, block context.
fn analyze(s: &str) -> Analysis {
    let mut buf = [' '; 64];
    let heap: Vec<char>;
    let chars: &[char] = if s.len() <= buf.len() && s.is_ascii() {
        for (slot, b) in buf.iter_mut().zip(s.bytes()) {
            *slot = char::from(b);
        }
        &buf[..s.len()]
    } else {
        heap = s.chars().collect();
        &heap
    };
    let mut a = Analysis { plain: true, single: true, block: true };
    if chars.is_empty() {
        a.plain = false;
        a.block = false;
        return a;
    }
    if s.starts_with("---") || s.starts_with("...") {
        a.plain = false;
    }
    let blank = |c: Option<&char>| c.is_none_or(|&c| c == ' ' || c == '\t' || is_break(c));
    let (mut special, mut line_breaks, mut space_break, mut break_space) = (false, false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_blank = true;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1);
        let followed_by_blank = blank(next);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@'
                | '`' => a.plain = false,
                '?' | ':' | '-' if followed_by_blank => a.plain = false,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_blank => a.plain = false,
                '#' if preceded_by_blank => a.plain = false,
                _ => {}
            }
        }
        if !is_printable(c) || (c == '\u{feff}') {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == chars.len() {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_blank = blank(Some(&c));
    }
    if leading_space || leading_break || trailing_space || trailing_break {
        a.plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.plain = false;
        a.single = false;
    }
    if space_break || special {
        a.plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.plain = false;
    }
    a
}

fn string_scalar(s: &str, column: usize, is_key: bool) -> String {
    let a = analyze(s);
    if s.contains('\n') {
        return if !is_key && a.block { literal(s) } else { double_quoted(s) };
    }
    if resolves_non_string(s) {
        return double_quoted(s);
    }
    if a.plain {
        return wrap(s, column, !is_key);
    }
    if a.single {
        return format!("'{}'", wrap(&s.replace('\'', "''"), column + 1, !is_key));
    }
    double_quoted(s)
}

/// Breaks at spaces once the column passes the best width (go-yaml's plain/single writer).
fn wrap(s: &str, start_col: usize, allow_breaks: bool) -> String {
    if !allow_breaks {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut col = start_col;
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if !spaces && col > BEST_WIDTH && chars.get(i + 1).is_some_and(|n| *n != ' ') {
                out.push_str("\n\u{0}");
                col = 0;
            } else {
                out.push(c);
                col += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
    out
}

fn literal(s: &str) -> String {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") || s == "\n" {
        "+"
    } else {
        ""
    };
    let indent_hint = if s.starts_with(' ') || s.starts_with('\n') { "2" } else { "" };
    let mut out = format!("|{indent_hint}{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        // empty lines carry no indentation in go-yaml output
        out.push_str(if line.is_empty() { "\n" } else { "\n\u{0}" });
        out.push_str(line);
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if !is_printable(c) || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04X}"));
                } else {
                    out.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
