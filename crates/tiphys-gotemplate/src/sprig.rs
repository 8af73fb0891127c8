//! Sprig, the function library Helm and Argo CD add to Go templates (Helm's set: Sprig's
//! `TxtFuncMap` without `env`/`expandenv`), plus `toYaml`/`fromYaml` family in [`crate::yaml`].

use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::{Context, Error, Func, FuncMap, Map, Value, builtins, gofmt, yaml};

/// Inputs that make Sprig deterministic: the clock and the random seed are the caller's.
#[derive(Debug, Clone)]
pub struct SprigEnv {
    /// What `now` returns.
    pub now: jiff::Zoned,
    /// Seed for `randAlphaNum`, `uuidv4` and friends.
    pub seed: u64,
}

type R = Result<Value, Error>;

fn add(m: &mut FuncMap, name: &str, f: impl Fn(&[Value]) -> R + Send + Sync + 'static) {
    let f: Func = Arc::new(move |_: &mut Context<'_>, a: &[Value]| f(a));
    m.insert(name.to_string(), f);
}

/// Sprig's `strval`: strings as is, everything else through `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => gofmt::display(other),
    }
}

/// Largest string a single function may build; beyond it a template is almost certainly
/// runaway, and failing beats exhausting the process's memory.
pub(crate) const MAX_STRING: usize = 64 << 20;

fn too_large(name: &str, bytes: usize) -> Result<(), Error> {
    if bytes > MAX_STRING {
        return Err(Error::func(format!(
            "{name}: result of {bytes} bytes exceeds the {MAX_STRING}-byte limit"
        )));
    }
    Ok(())
}

/// Go's check for a variadic function with one fixed parameter.
fn at_least(name: &str, a: &[Value]) -> Result<(), Error> {
    if a.is_empty() {
        return Err(Error::arg(format!("wrong number of args for {name}: want at least 1 got 0")));
    }
    Ok(())
}

fn arity(name: &str, a: &[Value], n: usize) -> Result<(), Error> {
    builtins::want(name, a, n)
}

/// A copy with fresh maps and lists: later `set`/`merge` on the copy must not reach the
/// original, and maps are identified by their allocation.
fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::map(m.iter().map(|(k, v)| (k.clone(), deep_copy(v))).collect()),
        Value::List(l) => Value::list(l.iter().map(deep_copy).collect()),
        other => other.clone(),
    }
}

/// The `string` parameter at `idx`, with Go's reflection errors for other types.
fn s(a: &[Value], idx: usize) -> Result<&str, Error> {
    match &a[idx] {
        Value::String(s) => Ok(s),
        _ => Err(Error::ArgType { index: idx, expected: "string".into() }),
    }
}

/// The `int` parameter at `idx`.
fn i(a: &[Value], idx: usize) -> Result<i64, Error> {
    match &a[idx] {
        Value::Int(i) => Ok(*i),
        _ => Err(Error::ArgType { index: idx, expected: "int".into() }),
    }
}

/// `cast.ToInt64`: numbers truncate, numeric strings parse, everything else is 0.
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => go_parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: "1.000" is read as "1".
fn trim_zero_decimal(s: &str) -> &str {
    match s.split_once('.') {
        Some((int, frac)) if !int.is_empty() && !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        _ => s,
    }
}

/// `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`/leading-0 octal, `_` only
/// after a prefix.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix, prefixed) = if let Some(h) = lower.strip_prefix("0x") {
        (h.to_string(), 16, true)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b.to_string(), 2, true)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (o.to_string(), 8, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (lower[1..].to_string(), 8, true)
    } else {
        (lower.clone(), 10, false)
    };
    if digits.is_empty() || (!prefixed && digits.contains('_')) {
        return None;
    }
    let v = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `cast.ToFloat64`.
fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`.
fn is_empty(v: &Value) -> bool {
    !v.truthy()
}

/// A list parameter (`[]interface{}`); Sprig's list functions accept slices only.
fn l<'a>(name: &str, v: &'a Value) -> Result<&'a [Value], Error> {
    match v {
        Value::List(l) => Ok(l),
        Value::Nil => Ok(&[]),
        other => Err(Error::func(format!("Cannot {name} on type {}", kind_of(other)))),
    }
}

/// The map parameter at `idx`.
fn m(a: &[Value], idx: usize) -> Result<&Map, Error> {
    match &a[idx] {
        Value::Map(m) => Ok(m),
        _ => Err(Error::ArgType { index: idx, expected: "map[string]interface {}".into() }),
    }
}

fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::String(s) => vec![s.to_string()],
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// A tiny deterministic generator (SplitMix64) for Sprig's random helpers.
struct Rng(Mutex<u64>);

impl Rng {
    fn next(&self) -> u64 {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *g = g.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *g;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char).collect()
    }
}

/// All Sprig functions Helm ships (Helm removes `env` and `expandenv`; so do we), plus the
/// YAML functions of [`yaml_functions`].
pub fn functions(env: &SprigEnv) -> FuncMap {
    let mut f = FuncMap::new();
    strings(&mut f);
    lists(&mut f);
    dicts(&mut f);
    math(&mut f);
    encoding(&mut f);
    flow(&mut f);
    regexes(&mut f);
    crate::sprig_time::register(&mut f, env.now.clone());
    crate::semver::register(&mut f);
    crate::sprig_paths::register(&mut f);
    random(&mut f, env.seed);
    unsupported(&mut f);
    f.extend(yaml_functions());
    f
}

/// Helm's data conversion functions, which replace Sprig's where names clash: `toYaml`,
/// `fromYaml`, `fromYamlArray`, `fromJson` and `fromJsonArray` (parse failures come back as
/// an `Error` entry instead of failing the render, as in Helm).
pub fn yaml_functions() -> FuncMap {
    let mut f = FuncMap::new();
    add(&mut f, "toYaml", |a| {
        arity("toYaml", a, 1)?;
        Ok(Value::string(helm_to_yaml(&a[0])))
    });
    add(&mut f, "mustToYaml", |a| {
        arity("mustToYaml", a, 1)?;
        Ok(Value::string(helm_to_yaml(&a[0])))
    });
    add(&mut f, "fromJson", |a| {
        arity("fromJson", a, 1)?;
        Ok(match serde_json::from_str::<serde_json::Value>(s(a, 0)?) {
            Ok(j @ serde_json::Value::Object(_)) => Value::from_json_floats(&j),
            Ok(j) => error_map(&format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&j)
            )),
            Err(e) => error_map(&e.to_string()),
        })
    });
    add(&mut f, "fromJsonArray", |a| {
        arity("fromJsonArray", a, 1)?;
        Ok(match serde_json::from_str::<serde_json::Value>(s(a, 0)?) {
            Ok(j @ serde_json::Value::Array(_)) => Value::from_json_floats(&j),
            Ok(j) => Value::list(vec![Value::from(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&j)
            ))]),
            Err(e) => Value::list(vec![Value::from(e.to_string())]),
        })
    });
    add(&mut f, "fromYaml", |a| {
        arity("fromYaml", a, 1)?;
        Ok(match yaml::from_yaml(s(a, 0)?) {
            Ok(v @ Value::Map(_)) => v,
            Ok(Value::Nil) => Value::map(Map::new()),
            Ok(other) => error_map(&format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other.to_json())
            )),
            Err(e) => error_map(&e.to_string()),
        })
    });
    add(&mut f, "fromYamlArray", |a| {
        arity("fromYamlArray", a, 1)?;
        Ok(match yaml::from_yaml(s(a, 0)?) {
            Ok(v @ Value::List(_)) => v,
            Ok(Value::Nil) => Value::list(Vec::new()),
            Ok(_) => Value::list(vec![Value::string(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}",
            )]),
            Err(e) => Value::list(vec![Value::string(e.to_string())]),
        })
    });
    f
}

/// How Go's `encoding/json` names a JSON value in type errors.
fn json_kind(j: &serde_json::Value) -> &'static str {
    match j {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Helm's `toYaml`: the YAML document with exactly one trailing newline removed.
fn helm_to_yaml(v: &Value) -> String {
    let mut y = yaml::to_yaml(v);
    if y.ends_with('\n') {
        y.pop();
    }
    y
}

fn error_map(msg: &str) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::string(msg));
    Value::map(m)
}

/// Go's `strings.Title`: a letter after a separator is upper-cased. ASCII separators are
/// everything but letters, digits and `_`; beyond ASCII only spaces separate.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = is_separator(c);
    }
    out
}

fn words(s: &str) -> Vec<String> {
    // split on case changes, digits boundaries and separators (xstrings semantics, simplified)
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (idx, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[idx - 1];
            let next_lower = chars.get(idx + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn strings(f: &mut FuncMap) {
    add(f, "upper", |a| {
        arity("upper", a, 1)?;
        Ok(Value::string(s(a, 0)?.to_uppercase()))
    });
    add(f, "lower", |a| {
        arity("lower", a, 1)?;
        Ok(Value::string(s(a, 0)?.to_lowercase()))
    });
    add(f, "title", |a| {
        arity("title", a, 1)?;
        Ok(Value::string(title(s(a, 0)?)))
    });
    add(f, "untitle", |a| {
        arity("untitle", a, 1)?;
        let mut prev_space = true;
        let out: String = s(a, 0)?
            .chars()
            .map(|c| {
                let r = if prev_space { c.to_lowercase().next().unwrap_or(c) } else { c };
                prev_space = c.is_whitespace();
                r
            })
            .collect();
        Ok(Value::string(out))
    });
    add(f, "trim", |a| {
        arity("trim", a, 1)?;
        Ok(Value::string(s(a, 0)?.trim()))
    });
    add(f, "trimAll", |a| {
        arity("trimAll", a, 2)?;
        let cut: Vec<char> = s(a, 0)?.chars().collect();
        Ok(Value::string(s(a, 1)?.trim_matches(|c| cut.contains(&c))))
    });
    add(f, "trimall", |a| {
        arity("trimall", a, 2)?;
        let cut: Vec<char> = s(a, 0)?.chars().collect();
        Ok(Value::string(s(a, 1)?.trim_matches(|c| cut.contains(&c))))
    });
    add(f, "trimPrefix", |a| {
        arity("trimPrefix", a, 2)?;
        let (p, x) = (s(a, 0)?, s(a, 1)?);
        Ok(Value::string(x.strip_prefix(p).unwrap_or(x)))
    });
    add(f, "trimSuffix", |a| {
        arity("trimSuffix", a, 2)?;
        let (p, x) = (s(a, 0)?, s(a, 1)?);
        Ok(Value::string(x.strip_suffix(p).unwrap_or(x)))
    });
    add(f, "nospace", |a| {
        arity("nospace", a, 1)?;
        Ok(Value::string(s(a, 0)?.chars().filter(|c| !c.is_whitespace()).collect::<String>()))
    });
    add(f, "repeat", |a| {
        arity("repeat", a, 2)?;
        let (n, text) = (i(a, 0)?.max(0) as usize, s(a, 1)?);
        too_large("repeat", n.saturating_mul(text.len()))?;
        Ok(Value::string(text.repeat(n)))
    });
    add(f, "substr", |a| {
        arity("substr", a, 3)?;
        let (start, end, x) = (i(a, 0)?, i(a, 1)?, s(a, 2)?);
        let b = x.as_bytes();
        let len = b.len() as i64;
        // Sprig slices the string; out-of-range bounds are Go runtime panics
        let (st, en) = if start < 0 {
            (0, end)
        } else if end < 0 || end > len {
            (start, len)
        } else {
            (start, end)
        };
        if en > len || en < 0 {
            return Err(Error::func(format!(
                "runtime error: slice bounds out of range [:{en}] with length {len}"
            )));
        }
        if st > en {
            return Err(Error::func(format!("runtime error: slice bounds out of range [{st}:{en}]")));
        }
        Ok(Value::string(String::from_utf8_lossy(&b[st as usize..en as usize]).into_owned()))
    });
    add(f, "trunc", |a| {
        arity("trunc", a, 2)?;
        let (c, x) = (i(a, 0)?, s(a, 1)?);
        let b = x.as_bytes();
        let len = b.len() as i64;
        let out = if c < 0 && len + c > 0 {
            &b[(len + c) as usize..]
        } else if c >= 0 && len > c {
            &b[..c as usize]
        } else {
            b
        };
        Ok(Value::string(String::from_utf8_lossy(out).into_owned()))
    });
    add(f, "abbrev", |a| {
        arity("abbrev", a, 2)?;
        let (w, x) = (i(a, 0)?, s(a, 1)?);
        if w < 4 || x.chars().count() as i64 <= w {
            return Ok(Value::string(x));
        }
        let keep: String = x.chars().take((w - 3) as usize).collect();
        Ok(Value::string(keep + "..."))
    });
    add(f, "initials", |a| {
        arity("initials", a, 1)?;
        Ok(Value::string(s(a, 0)?.split_whitespace().filter_map(|w| w.chars().next()).collect::<String>()))
    });
    add(f, "wrap", |a| {
        arity("wrap", a, 2)?;
        Ok(Value::string(wrap_text(s(a, 1)?, i(a, 0)?.max(1) as usize, "\n")))
    });
    add(f, "wrapWith", |a| {
        arity("wrapWith", a, 3)?;
        Ok(Value::string(wrap_text(s(a, 2)?, i(a, 0)?.max(1) as usize, s(a, 1)?)))
    });
    add(f, "contains", |a| {
        arity("contains", a, 2)?;
        Ok(Value::Bool(s(a, 1)?.contains(s(a, 0)?)))
    });
    add(f, "hasPrefix", |a| {
        arity("hasPrefix", a, 2)?;
        Ok(Value::Bool(s(a, 1)?.starts_with(s(a, 0)?)))
    });
    add(f, "hasSuffix", |a| {
        arity("hasSuffix", a, 2)?;
        Ok(Value::Bool(s(a, 1)?.ends_with(s(a, 0)?)))
    });
    add(f, "quote", |a| {
        Ok(Value::string(
            a.iter()
                .filter(|x| !x.is_nil())
                .map(|x| gofmt::quote(&strval(x), false))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    });
    add(f, "squote", |a| {
        Ok(Value::string(
            a.iter()
                .filter(|x| !x.is_nil())
                .map(|x| format!("'{}'", strval(x)))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    });
    add(f, "cat", |a| {
        Ok(Value::string(a.iter().filter(|x| !x.is_nil()).map(strval).collect::<Vec<_>>().join(" ")))
    });
    for (name, lead) in [("indent", ""), ("nindent", "\n")] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            let (width, text) = (i(a, 0)?.max(0) as usize, s(a, 1)?);
            let lines = text.bytes().filter(|b| *b == b'\n').count() + 1;
            too_large(name, width.saturating_mul(lines).saturating_add(text.len()))?;
            let pad = " ".repeat(width);
            Ok(Value::string(format!("{lead}{pad}{}", text.replace('\n', &format!("\n{pad}")))))
        });
    }
    add(f, "replace", |a| {
        arity("replace", a, 3)?;
        Ok(Value::string(s(a, 2)?.replace(s(a, 0)?, s(a, 1)?)))
    });
    add(f, "plural", |a| {
        arity("plural", a, 3)?;
        Ok(Value::string(if i(a, 2)? == 1 { s(a, 0)? } else { s(a, 1)? }))
    });
    add(f, "snakecase", |a| {
        arity("snakecase", a, 1)?;
        Ok(Value::string(words(s(a, 0)?).iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("_")))
    });
    add(f, "kebabcase", |a| {
        arity("kebabcase", a, 1)?;
        Ok(Value::string(words(s(a, 0)?).iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join("-")))
    });
    add(f, "camelcase", |a| {
        arity("camelcase", a, 1)?;
        // xstrings.ToCamelCase: words split at separators, each capitalised, rest lower-cased
        let x = s(a, 0)?;
        let out: String = x
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut cs = w.chars();
                cs.next()
                    .map(|f| f.to_uppercase().chain(cs.flat_map(char::to_lowercase)).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        Ok(Value::string(out))
    });
    add(f, "swapcase", |a| {
        arity("swapcase", a, 1)?;
        Ok(Value::string(
            s(a, 0)?
                .chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect::<String>(),
        ))
    });
    add(f, "toString", |a| {
        arity("toString", a, 1)?;
        Ok(Value::string(strval(&a[0])))
    });
    add(f, "toStrings", |a| {
        arity("toStrings", a, 1)?;
        Ok(Value::list(match &a[0] {
            Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(|x| Value::string(strval(x))).collect(),
            Value::Nil => Vec::new(),
            other => vec![Value::string(strval(other))],
        }))
    });
    add(f, "join", |a| {
        arity("join", a, 2)?;
        Ok(Value::string(str_list(&a[1]).join(s(a, 0)?)))
    });
    add(f, "splitList", |a| {
        arity("splitList", a, 2)?;
        Ok(Value::list(s(a, 1)?.split(s(a, 0)?).map(Value::from).collect()))
    });
    add(f, "split", |a| {
        arity("split", a, 2)?;
        let parts = s(a, 1)?.split(s(a, 0)?).enumerate().map(|(n, p)| (format!("_{n}"), Value::from(p)));
        Ok(Value::map(parts.collect()))
    });
    add(f, "splitn", |a| {
        arity("splitn", a, 3)?;
        let n = i(a, 1)?;
        let x = s(a, 2)?;
        let sep = s(a, 0)?;
        let parts: Vec<&str> =
            if n < 0 { x.split(sep).collect() } else { x.splitn(n as usize, sep).collect() };
        Ok(Value::map(
            parts.into_iter().enumerate().map(|(k, p)| (format!("_{k}"), Value::from(p))).collect(),
        ))
    });
    add(f, "sortAlpha", |a| {
        arity("sortAlpha", a, 1)?;
        let mut v = str_list(&a[0]);
        v.sort();
        Ok(Value::list(v.into_iter().map(Value::from).collect()))
    });
    add(f, "abbrevboth", |a| {
        arity("abbrevboth", a, 3)?;
        let (left, right, x) = (i(a, 0)?, i(a, 1)?, s(a, 2)?);
        let chars: Vec<char> = x.chars().collect();
        if right < 4 || (left > 0 && right < 7) || chars.len() as i64 <= right {
            return Ok(Value::string(x));
        }
        let mut off = left.max(0) as usize;
        if off > chars.len() {
            off = chars.len();
        }
        let body: String = chars[off..].iter().collect();
        let body = if off <= 4 { x.to_string() } else { format!("...{body}") };
        let bc: Vec<char> = body.chars().collect();
        if bc.len() as i64 > right {
            return Ok(Value::string(bc[..(right - 3) as usize].iter().collect::<String>() + "..."));
        }
        Ok(Value::string(body))
    });
}

fn wrap_text(x: &str, width: usize, newline: &str) -> String {
    let mut out = Vec::new();
    for line in x.split('\n') {
        let mut cur = String::new();
        for w in line.split(' ').filter(|w| !w.is_empty()) {
            if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
        out.push(cur);
    }
    out.join(newline)
}

fn lists(f: &mut FuncMap) {
    add(f, "list", |a| Ok(Value::list(a.to_vec())));
    add(f, "tuple", |a| Ok(Value::list(a.to_vec())));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            let mut v = l("push", &a[0])?.to_vec();
            v.push(a[1].clone());
            Ok(Value::list(v))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            let mut v = vec![a[1].clone()];
            v.extend(l("prepend", &a[0])?.iter().cloned());
            Ok(Value::list(v))
        });
    }
    for name in ["first", "mustFirst"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(l("find first", &a[0])?.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(l("find last", &a[0])?.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            let v = l("find rest", &a[0])?;
            // Sprig returns a typed nil slice, which prints as []
            Ok(Value::list(v.get(1..).map(<[Value]>::to_vec).unwrap_or_default()))
        });
    }
    for name in ["initial", "mustInitial"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            let v = l("find initial", &a[0])?;
            Ok(Value::list(v.get(..v.len().saturating_sub(1)).map(<[Value]>::to_vec).unwrap_or_default()))
        });
    }
    for name in ["reverse", "mustReverse"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::list(l("find reverse", &a[0])?.iter().rev().cloned().collect()))
        });
    }
    for name in ["uniq", "mustUniq"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for x in l("find uniq", &a[0])? {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Ok(Value::list(out))
        });
    }
    for name in ["compact", "mustCompact"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::list(l("compact", &a[0])?.iter().filter(|x| !is_empty(x)).cloned().collect()))
        });
    }
    for name in ["without", "mustWithout"] {
        add(f, name, move |a| {
            let (first, rest) =
                a.split_first().ok_or_else(|| Error::arg("wrong number of args for without"))?;
            Ok(Value::list(l("find without", first)?.iter().filter(|x| !rest.contains(x)).cloned().collect()))
        });
    }
    for name in ["has", "mustHas"] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            Ok(Value::Bool(l("find has", &a[1])?.contains(&a[0])))
        });
    }
    add(f, "concat", |a| {
        let mut out = Vec::new();
        for x in a {
            out.extend(l("concat", x)?.iter().cloned());
        }
        Ok(Value::list(out))
    });
    for name in ["slice", "mustSlice"] {
        add(f, name, move |a| {
            let (first, idx) = a.split_first().ok_or_else(|| Error::arg("wrong number of args for slice"))?;
            let v = match first {
                Value::List(v) => v.as_slice(),
                other => {
                    return Err(Error::func(format!(
                        "list should be type of slice or array but {}",
                        kind_of(other)
                    )));
                }
            };
            let start = idx.first().map_or(0, to_i64).clamp(0, v.len() as i64) as usize;
            let end = idx.get(1).map_or(v.len() as i64, to_i64).clamp(start as i64, v.len() as i64) as usize;
            Ok(Value::list(v[start..end].to_vec()))
        });
    }
    for name in ["chunk", "mustChunk"] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            let size = i(a, 0)?.max(1) as usize;
            Ok(Value::list(l("chunk", &a[1])?.chunks(size).map(|c| Value::list(c.to_vec())).collect()))
        });
    }
    add(f, "until", |a| {
        arity("until", a, 1)?;
        let n = i(a, 0)?;
        Ok(Value::list(until_step(0, n, if n < 0 { -1 } else { 1 }).into_iter().map(Value::Int).collect()))
    });
    add(f, "untilStep", |a| {
        arity("untilStep", a, 3)?;
        Ok(Value::list(until_step(i(a, 0)?, i(a, 1)?, i(a, 2)?).into_iter().map(Value::Int).collect()))
    });
    add(f, "seq", |a| {
        let n = (0..a.len()).map(|k| i(a, k)).collect::<Result<Vec<i64>, Error>>()?;
        let items = match n.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                until_step(1, end + inc, inc)
            }
            [start, end] => {
                let inc = if end < start { -1 } else { 1 };
                until_step(*start, end + inc, inc)
            }
            [start, step, end] => {
                let inc = if end < start { -1 } else { 1 };
                if end < start && *step > 0 { Vec::new() } else { until_step(*start, end + inc, *step) }
            }
            _ => Vec::new(),
        };
        Ok(Value::string(items.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")))
    });
}

/// Sprig's `untilStep` (capped so a template cannot allocate without bound).
fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    let mut x = start;
    let going = |x: i64| if stop < start { step < 0 && x > stop } else { step > 0 && x < stop };
    while going(x) && v.len() < 1 << 20 {
        v.push(x);
        x = x.saturating_add(step);
    }
    v
}

fn dicts(f: &mut FuncMap) {
    add(f, "dict", |a| {
        let mut out = Map::new();
        for pair in a.chunks(2) {
            out.insert(strval(&pair[0]), pair.get(1).cloned().unwrap_or(Value::string("")));
        }
        Ok(Value::map(out))
    });
    add(f, "get", |a| {
        arity("get", a, 2)?;
        Ok(m(a, 0)?.get(s(a, 1)?).cloned().unwrap_or(Value::string("")))
    });
    add(f, "set", |a| {
        arity("set", a, 3)?;
        let mut out = m(a, 0)?.clone();
        out.insert(s(a, 1)?.to_string(), a[2].clone());
        Ok(Value::map(out))
    });
    add(f, "unset", |a| {
        arity("unset", a, 2)?;
        let mut out = m(a, 0)?.clone();
        out.remove(s(a, 1)?);
        Ok(Value::map(out))
    });
    add(f, "hasKey", |a| {
        arity("hasKey", a, 2)?;
        Ok(Value::Bool(m(a, 0)?.contains_key(s(a, 1)?)))
    });
    add(f, "keys", |a| {
        let mut out = Vec::new();
        for n in 0..a.len() {
            out.extend(m(a, n)?.keys().map(|k| Value::from(k.as_str())));
        }
        Ok(Value::list(out))
    });
    add(f, "values", |a| {
        arity("values", a, 1)?;
        Ok(Value::list(m(a, 0)?.values().cloned().collect()))
    });
    add(f, "pluck", |a| {
        if a.is_empty() {
            return Err(Error::arg("wrong number of args for pluck: want at least 1 got 0"));
        }
        let key = s(a, 0)?;
        let mut out = Vec::new();
        for n in 1..a.len() {
            if let Some(v) = m(a, n)?.get(key) {
                out.push(v.clone());
            }
        }
        Ok(Value::list(out))
    });
    add(f, "pick", |a| {
        let (_, ks) = a.split_first().ok_or_else(|| Error::arg("wrong number of args for pick"))?;
        let d = m(a, 0)?;
        let keys: Vec<String> = ks.iter().map(strval).collect();
        Ok(Value::map(
            d.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))
    });
    add(f, "omit", |a| {
        let (_, ks) = a.split_first().ok_or_else(|| Error::arg("wrong number of args for omit"))?;
        let d = m(a, 0)?;
        let keys: Vec<String> = ks.iter().map(strval).collect();
        Ok(Value::map(
            d.iter().filter(|(k, _)| !keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))
    });
    for (name, overwrite) in
        [("merge", false), ("mustMerge", false), ("mergeOverwrite", true), ("mustMergeOverwrite", true)]
    {
        add(f, name, move |a| {
            if a.is_empty() {
                return Err(Error::arg(format!("wrong number of args for {name}: want at least 1 got 0")));
            }
            let mut out = m(a, 0)?.clone();
            for n in 1..a.len() {
                merge_into(&mut out, m(a, n)?, overwrite);
            }
            Ok(Value::map(out))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(deep_copy(&a[0]))
        });
    }
    add(f, "dig", |a| {
        if a.len() < 3 {
            return Err(Error::func("dig needs at least three arguments"));
        }
        let default = &a[a.len() - 2];
        let mut cur = m(a, a.len() - 1)?;
        let nkeys = a.len() - 2;
        for n in 0..nkeys {
            match cur.get(s(a, n)?) {
                Some(v) if n + 1 == nkeys => return Ok(v.clone()),
                Some(Value::Map(inner)) => cur = inner,
                Some(other) => {
                    let t = if other.is_nil() { "nil".to_string() } else { other.type_name() };
                    return Err(Error::func(format!(
                        "interface conversion: interface {{}} is {t}, not map[string]interface {{}}"
                    )));
                }
                None => return Ok(default.clone()),
            }
        }
        Ok(default.clone())
    });
}

/// mergo's map merge as Sprig calls it on `map[string]interface{}`: nested maps merge
/// recursively; a destination value that is missing or empty (nil, false, 0, "", empty
/// list/map) takes the source value; with `overwrite` every source value wins (even empty
/// ones), except that a non-empty map or list already in the destination is kept when
/// merging without overwrite.
fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (k, sv) in src {
        if sv.is_nil() {
            if overwrite {
                dst.insert(k.clone(), Value::Nil);
            }
            continue;
        }
        if let (Some(Value::Map(d)), Value::Map(s)) = (dst.get_mut(k), sv) {
            merge_into(Arc::make_mut(d), s, overwrite);
            continue;
        }
        let dst_empty = dst.get(k).is_none_or(is_empty);
        if !dst_empty && !overwrite {
            continue;
        }
        dst.insert(k.clone(), sv.clone());
    }
}

fn math(f: &mut FuncMap) {
    add(f, "add", |a| Ok(Value::Int(a.iter().map(to_i64).fold(0i64, i64::wrapping_add))));
    add(f, "add1", |a| {
        arity("add1", a, 1)?;
        Ok(Value::Int(to_i64(&a[0]).wrapping_add(1)))
    });
    add(f, "sub", |a| {
        arity("sub", a, 2)?;
        Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    add(f, "mul", |a| {
        at_least("mul", a)?;
        Ok(Value::Int(a.iter().map(to_i64).fold(1i64, i64::wrapping_mul)))
    });
    add(f, "div", |a| {
        arity("div", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(Error::func("runtime error: integer divide by zero"));
        }
        Ok(Value::Int(to_i64(&a[0]).wrapping_div(d)))
    });
    add(f, "mod", |a| {
        arity("mod", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(Error::func("runtime error: integer divide by zero"));
        }
        Ok(Value::Int(to_i64(&a[0]).wrapping_rem(d)))
    });
    for name in ["max", "biggest"] {
        add(f, name, move |a| {
            at_least(name, a)?;
            Ok(Value::Int(a.iter().map(to_i64).max().unwrap_or(0)))
        });
    }
    add(f, "min", |a| {
        at_least("min", a)?;
        Ok(Value::Int(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    use crate::decimal::{Dec, fold};
    let floats = |a: &[Value]| a.iter().map(to_f64).collect::<Vec<f64>>();
    add(f, "addf", move |a| Ok(Value::Float(fold(&floats(a), Dec::add, |x, y| x + y))));
    add(f, "add1f", move |a| {
        arity("add1f", a, 1)?;
        Ok(Value::Float(fold(&[to_f64(&a[0]), 1.0], Dec::add, |x, y| x + y)))
    });
    add(f, "subf", move |a| {
        at_least("subf", a)?;
        Ok(Value::Float(fold(&floats(a), Dec::sub, |x, y| x - y)))
    });
    add(f, "mulf", move |a| {
        at_least("mulf", a)?;
        Ok(Value::Float(fold(&floats(a), Dec::mul, |x, y| x * y)))
    });
    add(f, "divf", move |a| {
        at_least("divf", a)?;
        let v = floats(a);
        if v[1..].contains(&0.0) {
            return Err(Error::func("decimal division by 0"));
        }
        Ok(Value::Float(fold(&v, Dec::div, |x, y| x / y)))
    });
    add(f, "maxf", |a| {
        at_least("maxf", a)?;
        Ok(Value::Float(a.iter().map(to_f64).fold(f64::MIN, f64::max)))
    });
    add(f, "minf", |a| {
        at_least("minf", a)?;
        Ok(Value::Float(a.iter().map(to_f64).fold(f64::MAX, f64::min)))
    });
    add(f, "floor", |a| {
        arity("floor", a, 1)?;
        Ok(Value::Float(to_f64(&a[0]).floor()))
    });
    add(f, "ceil", |a| {
        arity("ceil", a, 1)?;
        Ok(Value::Float(to_f64(&a[0]).ceil()))
    });
    add(f, "round", |a| {
        if a.len() < 2 {
            return Err(Error::arg(format!(
                "wrong number of args for round: want at least 2 got {}",
                a.len()
            )));
        }
        // Sprig: ceil when the fractional part (signed, from math.Modf) reaches `roundOn`
        let pow = 10f64.powi(i(a, 1)?.clamp(-300, 300) as i32);
        let round_on = a.get(2).map_or(0.5, to_f64);
        let digit = to_f64(&a[0]) * pow;
        let rounded = if digit.fract() >= round_on { digit.ceil() } else { digit.floor() };
        Ok(Value::Float(rounded / pow))
    });
    for name in ["int", "int64"] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::Int(to_i64(&a[0])))
        });
    }
    add(f, "float64", |a| {
        arity("float64", a, 1)?;
        Ok(Value::Float(to_f64(&a[0])))
    });
    add(f, "toDecimal", |a| {
        arity("toDecimal", a, 1)?;
        Ok(Value::Int(i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0)))
    });
    add(f, "atoi", |a| {
        arity("atoi", a, 1)?;
        Ok(Value::Int(s(a, 0)?.parse().unwrap_or(0)))
    });
}

fn encoding(f: &mut FuncMap) {
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    add(f, "b64enc", |a| {
        arity("b64enc", a, 1)?;
        Ok(Value::string(B64.encode(s(a, 0)?)))
    });
    add(f, "b64dec", |a| {
        arity("b64dec", a, 1)?;
        Ok(Value::string(match B64.decode(s(a, 0)?) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(base64::DecodeError::InvalidByte(at, _))
            | Err(base64::DecodeError::InvalidLastSymbol(at, _)) => {
                format!("illegal base64 data at input byte {at}")
            }
            // an incomplete final quantum is reported at its start, as Go does
            Err(_) => {
                format!("illegal base64 data at input byte {}", s(a, 0)?.len().saturating_sub(1) / 4 * 4)
            }
        }))
    });
    add(f, "b32enc", |a| {
        arity("b32enc", a, 1)?;
        Ok(Value::string(base32(s(a, 0)?.as_bytes())))
    });
    add(f, "b32dec", |a| {
        arity("b32dec", a, 1)?;
        let text = s(a, 0)?;
        Ok(Value::string(match base32_decode(text) {
            Some(b) if text.len() % 8 == 0 => String::from_utf8_lossy(&b).into_owned(),
            _ => format!("illegal base32 data at input byte {}", text.len().saturating_sub(1) / 8 * 8),
        }))
    });
    add(f, "sha256sum", |a| {
        use sha2::Digest as _;
        arity("sha256sum", a, 1)?;
        Ok(Value::string(hex::encode(sha2::Sha256::digest(s(a, 0)?.as_bytes()))))
    });
    add(f, "sha512sum", |a| {
        use sha2::Digest as _;
        arity("sha512sum", a, 1)?;
        Ok(Value::string(hex::encode(sha2::Sha512::digest(s(a, 0)?.as_bytes()))))
    });
    add(f, "sha1sum", |a| {
        use sha1::Digest as _;
        arity("sha1sum", a, 1)?;
        Ok(Value::string(hex::encode(sha1::Sha1::digest(s(a, 0)?.as_bytes()))))
    });
    add(f, "adler32sum", |a| {
        arity("adler32sum", a, 1)?;
        let (mut x, mut y) = (1u32, 0u32);
        for b in s(a, 0)?.bytes() {
            x = (x + u32::from(b)) % 65521;
            y = (y + x) % 65521;
        }
        Ok(Value::string(((y << 16) | x).to_string()))
    });
    for (name, pretty, escape_html) in [
        ("toJson", false, true),
        ("mustToJson", false, true),
        ("toRawJson", false, false),
        ("mustToRawJson", false, false),
        ("toPrettyJson", true, true),
        ("mustToPrettyJson", true, true),
    ] {
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::string(crate::json::encode(&a[0], pretty, escape_html)))
        });
    }
    add(f, "fromJson", |a| {
        arity("fromJson", a, 1)?;
        Ok(serde_json::from_str::<serde_json::Value>(s(a, 0)?)
            .map(|j| Value::from_json_floats(&j))
            .unwrap_or(Value::Nil))
    });
    add(f, "mustFromJson", |a| {
        arity("mustFromJson", a, 1)?;
        serde_json::from_str::<serde_json::Value>(s(a, 0)?)
            .map(|j| Value::from_json_floats(&j))
            .map_err(|e| Error::func(e.to_string()))
    });
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for k in 0..8 {
            if k < chars {
                out.push(B32[((n >> (35 - k * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = B32.iter().position(|b| *b == c)? as u64;
        bits = (bits << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push(((bits >> nbits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Sprig's key/certificate/password generators and AES helpers produce secrets that differ on
/// every render (or need cryptography this crate does not carry); they fail with a clear
/// message instead of being silently wrong. `getHostByName` would need the network.
fn unsupported(f: &mut FuncMap) {
    for name in [
        "bcrypt",
        "htpasswd",
        "genPrivateKey",
        "derivePassword",
        "buildCustomCert",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "encryptAES",
        "decryptAES",
        "getHostByName",
    ] {
        add(f, name, move |_| {
            Err(Error::func(format!(
                "{name} is not supported by the in-process renderer (it needs cryptographic keys, \
                 randomness or the network); render this chart with the helm binary instead"
            )))
        });
    }
}

fn flow(f: &mut FuncMap) {
    add(f, "hello", |_| Ok(Value::from("Hello!")));
    add(f, "default", |a| {
        let (d, rest) = a
            .split_first()
            .ok_or_else(|| Error::arg("wrong number of args for default: want at least 1 got 0"))?;
        Ok(match rest.first() {
            Some(given) if !is_empty(given) => given.clone(),
            _ => d.clone(),
        })
    });
    add(f, "empty", |a| {
        arity("empty", a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    add(f, "coalesce", |a| Ok(a.iter().find(|x| !is_empty(x)).cloned().unwrap_or(Value::Nil)));
    add(f, "all", |a| Ok(Value::Bool(a.iter().all(|x| !is_empty(x)))));
    add(f, "any", |a| Ok(Value::Bool(a.iter().any(|x| !is_empty(x)))));
    add(f, "ternary", |a| {
        arity("ternary", a, 3)?;
        let Value::Bool(c) = a[2] else {
            return Err(Error::ArgType { index: 2, expected: "bool".into() });
        };
        Ok(if c { a[0].clone() } else { a[1].clone() })
    });
    add(f, "fail", |a| {
        arity("fail", a, 1)?;
        Err(Error::func(s(a, 0)?.to_string()))
    });
    add(f, "typeOf", |a| {
        arity("typeOf", a, 1)?;
        Ok(Value::string(a[0].type_name()))
    });
    add(f, "typeIs", |a| {
        arity("typeIs", a, 2)?;
        Ok(Value::Bool(s(a, 0)? == a[1].type_name()))
    });
    add(f, "typeIsLike", |a| {
        arity("typeIsLike", a, 2)?;
        let t = s(a, 0)?;
        let tn = a[1].type_name();
        Ok(Value::Bool(t == tn || t == format!("*{tn}")))
    });
    add(f, "kindOf", |a| {
        arity("kindOf", a, 1)?;
        Ok(Value::string(kind_of(&a[0])))
    });
    add(f, "kindIs", |a| {
        arity("kindIs", a, 2)?;
        Ok(Value::Bool(s(a, 0)? == kind_of(&a[1])))
    });
    add(f, "deepEqual", |a| {
        arity("deepEqual", a, 2)?;
        Ok(Value::Bool(a[0] == a[1]))
    });
    add(f, "urlquery", |a| Ok(Value::string(builtins::query_escape(&gofmt::sprint(a)))));
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) | Value::Bytes(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(_) => "struct",
    }
}

/// Go's wording for the common regexp syntax errors (`regexp/syntax` error codes).
fn go_regexp_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let from = |c: char| pattern.rfind(c).map_or(pattern, |i| &pattern[i..]);
    if text.contains("unclosed character class") {
        format!("missing closing ]: `{}`", from('['))
    } else if text.contains("unclosed group") {
        format!("missing closing ): `{pattern}`")
    } else if text.contains("unopened group") {
        format!("unexpected ): `{pattern}`")
    } else if text.contains("repetition operator missing expression") {
        format!("missing argument to repetition operator: `{}`", pattern.chars().next().unwrap_or('*'))
    } else {
        format!(
            "invalid regexp `{pattern}`: {}",
            text.lines().last().unwrap_or("").trim_start_matches("error: ")
        )
    }
}

/// Go's `Regexp.Split`: empty matches at the edges do not produce empty pieces.
fn go_regex_split<'t>(r: &regex::Regex, s: &'t str, n: i64) -> Vec<&'t str> {
    if n == 0 {
        return Vec::new();
    }
    if r.as_str().is_empty() {
        // an empty pattern splits into characters
        let mut out: Vec<&str> = Vec::new();
        for (i, c) in s.char_indices() {
            if n > 0 && out.len() as i64 == n - 1 {
                out.push(&s[i..]);
                return out;
            }
            out.push(&s[i..i + c.len_utf8()]);
        }
        return out;
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in r.find_iter(s) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(&s[beg..end]);
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(&s[beg..]);
    }
    out
}

fn regexes(f: &mut FuncMap) {
    fn re(p: &str) -> Result<regex::Regex, Error> {
        regex::Regex::new(p)
            .map_err(|e| Error::func(format!("error parsing regexp: {}", go_regexp_error(p, &e))))
    }
    add(f, "regexMatch", |a| {
        arity("regexMatch", a, 2)?;
        Ok(Value::Bool(regex::Regex::new(s(a, 0)?).is_ok_and(|r| r.is_match(s(a, 1).unwrap_or("")))))
    });
    add(f, "mustRegexMatch", |a| {
        arity("mustRegexMatch", a, 2)?;
        Ok(Value::Bool(re(s(a, 0)?)?.is_match(s(a, 1)?)))
    });
    for name in ["regexFindAll", "mustRegexFindAll"] {
        add(f, name, move |a| {
            arity(name, a, 3)?;
            let n = i(a, 2)?;
            let r = re(s(a, 0)?)?;
            let it = r.find_iter(s(a, 1)?).map(|m| Value::from(m.as_str()));
            Ok(Value::list(if n < 0 { it.collect() } else { it.take(n as usize).collect() }))
        });
    }
    for name in ["regexFind", "mustRegexFind"] {
        add(f, name, move |a| {
            arity(name, a, 2)?;
            Ok(Value::string(re(s(a, 0)?)?.find(s(a, 1)?).map_or("", |m| m.as_str())))
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        add(f, name, move |a| {
            arity(name, a, 3)?;
            Ok(Value::string(re(s(a, 0)?)?.replace_all(s(a, 1)?, s(a, 2)?).into_owned()))
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        add(f, name, move |a| {
            arity(name, a, 3)?;
            Ok(Value::string(re(s(a, 0)?)?.replace_all(s(a, 1)?, regex::NoExpand(s(a, 2)?)).into_owned()))
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        add(f, name, move |a| {
            arity(name, a, 3)?;
            let n = i(a, 2)?;
            let r = re(s(a, 0)?)?;
            let x = s(a, 1)?;
            Ok(Value::list(go_regex_split(&r, x, n).into_iter().map(Value::from).collect()))
        });
    }
    add(f, "regexQuoteMeta", |a| {
        arity("regexQuoteMeta", a, 1)?;
        Ok(Value::string(regex::escape(s(a, 0)?)))
    });
}

fn random(f: &mut FuncMap, seed: u64) {
    let rng = Arc::new(Rng(Mutex::new(seed)));
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (name, alphabet) in [
        ("randAlphaNum", ALNUM),
        ("randAlpha", &ALNUM[..52]),
        ("randNumeric", &ALNUM[52..]),
        ("randAscii", b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"),
    ] {
        let rng = rng.clone();
        add(f, name, move |a| {
            arity(name, a, 1)?;
            Ok(Value::string(rng.pick(alphabet, i(a, 0)?.clamp(0, 1 << 16) as usize)))
        });
    }
    let r = rng.clone();
    add(f, "uuidv4", move |a| {
        arity("uuidv4", a, 0)?;
        let (hi, lo) = (r.next(), r.next());
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        Ok(Value::string(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])))
    });
    let r = rng.clone();
    add(f, "randInt", move |a| {
        arity("randInt", a, 2)?;
        let (lo, hi) = (to_i64(&a[0]), to_i64(&a[1]));
        if hi <= lo {
            return Err(Error::func("invalid argument to Intn"));
        }
        Ok(Value::Int(lo + (r.next() % (hi - lo) as u64) as i64))
    });
    let r = rng.clone();
    add(f, "randBytes", move |a| {
        arity("randBytes", a, 1)?;
        let n = i(a, 0)?.clamp(0, 1 << 16) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| (r.next() & 0xff) as u8).collect();
        Ok(Value::string(base64::engine::general_purpose::STANDARD.encode(bytes)))
    });
    let r = rng;
    add(f, "shuffle", move |a| {
        arity("shuffle", a, 1)?;
        let mut chars: Vec<char> = s(a, 0)?.chars().collect();
        for k in (1..chars.len()).rev() {
            let j = (r.next() % (k as u64 + 1)) as usize;
            chars.swap(k, j);
        }
        Ok(Value::string(chars.into_iter().collect::<String>()))
    });
}
