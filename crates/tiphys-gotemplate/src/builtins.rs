//! Go's predefined template functions (`and`/`or` are evaluated lazily by the executor).

use crate::{Error, Value, gofmt};

/// Names of the predefined functions, for parse-time checks.
pub(crate) const NAMES: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println",
    "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// Checks the argument count like Go's reflection call does.
pub(crate) fn want(name: &str, args: &[Value], n: usize) -> Result<(), Error> {
    if args.len() != n {
        return Err(Error::arg(format!("wrong number of args for {name}: want {n} got {}", args.len())));
    }
    Ok(())
}

/// Calls builtin `name`; `None` if there is no such builtin.
pub(crate) fn call(name: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match name {
        "not" => want(name, args, 1).map(|_| Value::Bool(!args[0].truthy())),
        "len" => want(name, args, 1).and_then(|_| length(&args[0]).map(Value::Int)),
        "index" => index(args),
        "slice" => slice(args),
        "print" => Ok(Value::string(gofmt::sprint(args))),
        "println" => Ok(Value::string(gofmt::sprintln(args))),
        "printf" => match args.first() {
            Some(Value::String(f)) => Ok(Value::string(gofmt::sprintf(f, &args[1..]))),
            Some(_) => Err(Error::ArgType { index: 0, expected: "string".into() }),
            None => Err(Error::arg("wrong number of args for printf: want at least 1 got 0")),
        },
        "html" => Ok(Value::string(html_escape(&eval_args(args)))),
        "js" => Ok(Value::string(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::string(query_escape(&eval_args(args)))),
        "eq" => eq(args).map(Value::Bool),
        "ne" => want(name, args, 2).and_then(|_| eq(args).map(|b| Value::Bool(!b))),
        "lt" => want(name, args, 2).and_then(|_| less(&args[0], &args[1]).map(Value::Bool)),
        "le" => want(name, args, 2).and_then(|_| Ok(Value::Bool(less(&args[0], &args[1])? || eq(args)?))),
        "gt" => want(name, args, 2).and_then(|_| Ok(Value::Bool(!(less(&args[0], &args[1])? || eq(args)?)))),
        "ge" => want(name, args, 2).and_then(|_| less(&args[0], &args[1]).map(|b| Value::Bool(!b))),
        "call" => match args.first() {
            None => Err(Error::arg("wrong number of args for call: want at least 1 got 0")),
            Some(Value::Nil) => Err(Error::func("call of nil")),
            Some(v) => {
                Err(Error::func(format!("non-function {} of type {}", gofmt::display(v), v.type_name())))
            }
        },
        _ => return None,
    })
}

/// Go's `evalArgs`: a single string argument is used as is, otherwise `fmt.Sprint`.
fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.to_string(),
        _ => gofmt::sprint(args),
    }
}

fn length(v: &Value) -> Result<i64, Error> {
    Ok(match v {
        Value::String(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        Value::Nil => return Err(Error::func("len of nil pointer")),
        other => return Err(Error::func(format!("len of type {}", other.type_name()))),
    })
}

fn int_index(v: &Value) -> Result<i64, Error> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(Error::func("cannot index slice/array with nil")),
        other => Err(Error::func(format!("cannot index slice/array with type {}", other.type_name()))),
    }
}

fn index(args: &[Value]) -> Result<Value, Error> {
    let Some(mut item) = args.first().cloned() else {
        return Err(Error::arg("wrong number of args for index: want at least 1 got 0"));
    };
    for key in &args[1..] {
        item = match &item {
            Value::List(l) => {
                let i = int_index(key)?;
                if i < 0 || i as usize >= l.len() {
                    return Err(Error::func(format!("index out of range: {i}")));
                }
                l[i as usize].clone()
            }
            Value::String(s) => {
                let i = int_index(key)?;
                match s.as_bytes().get(i as usize) {
                    Some(b) if i >= 0 => Value::Int(i64::from(*b)),
                    _ => return Err(Error::func(format!("index out of range: {i}"))),
                }
            }
            Value::Map(m) => match key {
                Value::String(k) => m.get(&**k).cloned().unwrap_or(Value::Nil),
                Value::Nil => return Err(Error::func("value is nil; should be of type string")),
                other => {
                    return Err(Error::func(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            Value::Nil => return Err(Error::func("index of untyped nil")),
            other => return Err(Error::func(format!("can't index item of type {}", other.type_name()))),
        };
    }
    Ok(item)
}

fn slice(args: &[Value]) -> Result<Value, Error> {
    let Some(item) = args.first() else {
        return Err(Error::arg("wrong number of args for slice: want at least 1 got 0"));
    };
    if args.len() > 4 {
        return Err(Error::func(format!("too many slice indexes: {}", args.len() - 1)));
    }
    let len = match item {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Nil => return Err(Error::func("slice of untyped nil")),
        other => return Err(Error::func(format!("can't slice item of type {}", other.type_name()))),
    };
    if matches!(item, Value::String(_)) && args.len() == 4 {
        return Err(Error::func("cannot 3-index slice a string"));
    }
    let mut idx = [0usize, len, len];
    for (i, a) in args[1..].iter().enumerate() {
        let v = int_index(a)?;
        if v < 0 || v as usize > len {
            return Err(Error::func(format!("index out of range: {v}")));
        }
        idx[i] = v as usize;
    }
    if args.len() == 2 {
        idx[1] = len;
    }
    if idx[0] > idx[1] {
        return Err(Error::func(format!("invalid slice index: {} > {}", idx[0], idx[1])));
    }
    Ok(match item {
        Value::String(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Value::string(sub),
            None => Value::string(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned()),
        },
        Value::List(l) => Value::list(l[idx[0]..idx[1]].to_vec()),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

fn eq(args: &[Value]) -> Result<bool, Error> {
    let Some(a) = args.first() else {
        return Err(Error::arg("wrong number of args for eq: want at least 1 got 0"));
    };
    if args.len() < 2 {
        return Err(Error::func("missing argument for comparison"));
    }
    for b in &args[1..] {
        let (ka, kb) = (kind(a), kind(b));
        let truth = if ka != kb {
            if !a.is_nil() && !b.is_nil() {
                return Err(Error::func(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                )));
            }
            false
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                (Value::Nil, _) | (_, Value::Nil) => false,
                (x, _) => {
                    return Err(Error::func(format!(
                        "non-comparable type {}: {}",
                        gofmt::display(x),
                        x.type_name()
                    )));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn less(a: &Value, b: &Value) -> Result<bool, Error> {
    let (ka, kb) = (kind(a), kind(b));
    if matches!(ka, Kind::Other | Kind::Bool) || matches!(kb, Kind::Other | Kind::Bool) {
        return Err(Error::func("invalid type for comparison"));
    }
    if ka != kb {
        return Err(Error::func(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => false,
    })
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) >= 0x80 && (c.is_control() || c.is_whitespace()) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
