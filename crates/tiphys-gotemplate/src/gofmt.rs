//! Go's `fmt` package as templates see it: `print`, `println`, `printf` and `%v` rendering of
//! values, including Go's `%!verb(type=value)` error forms.

use crate::Value;

/// Formatting flags and sizes parsed from one `%` directive.
#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprint`: operands are joined with a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::String(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        out.push_str(&display(a));
    }
    out
}

/// `fmt.Sprintln`: operands always separated by spaces, newline appended.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = args.iter().map(display).collect::<Vec<_>>().join(" ");
    out.push('\n');
    out
}

/// `%v` of a value (what `{{ . }}` prints, except that a top-level nil prints `<no value>`).
pub(crate) fn display(v: &Value) -> String {
    format_verb(v, 'v', &Spec::default())
}

/// Go's shortest `%v` for a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
pub(crate) fn float_g(f: f64) -> String {
    fmt_g(f, None, false)
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut good_index = true;
        // flags
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        arg_index(&mut chars, &mut argi, &mut reordered, &mut good_index, args.len());
        // width
        if chars.peek().is_some_and(|&(_, c)| c == '*') {
            chars.next();
            match args.get(argi) {
                Some(Value::Int(n)) if n.unsigned_abs() <= 1_000_000 => {
                    if *n < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(n.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            spec.width = read_num(&mut chars);
        }
        // precision
        if chars.peek().is_some_and(|&(_, c)| c == '.') {
            chars.next();
            arg_index(&mut chars, &mut argi, &mut reordered, &mut good_index, args.len());
            if chars.peek().is_some_and(|&(_, c)| c == '*') {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(n)) if (0..=1_000_000).contains(n) => spec.prec = Some(*n as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                spec.prec = Some(read_num(&mut chars).unwrap_or(0));
            }
        }
        if spec.minus {
            spec.zero = false;
        }
        arg_index(&mut chars, &mut argi, &mut reordered, &mut good_index, args.len());
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_index {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        match args.get(argi) {
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
            Some(a) => {
                out.push_str(&format_verb(a, verb, &spec));
                argi += 1;
            }
        }
    }
    if !reordered && argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> =
            args[argi..]
                .iter()
                .map(|a| {
                    if a.is_nil() { "<nil>".to_string() } else { format!("{}={}", a.type_name(), display(a)) }
                })
                .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// An explicit argument index `[n]` (1-based), as Go's `argNumber` reads it.
fn arg_index(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    argi: &mut usize,
    reordered: &mut bool,
    good: &mut bool,
    nargs: usize,
) {
    if chars.peek().is_none_or(|&(_, c)| c != '[') {
        return;
    }
    *reordered = true;
    let rest: String = chars.clone().map(|(_, c)| c).take_while(|c| *c != ']').collect();
    let closed = chars.clone().map(|(_, c)| c).any(|c| c == ']');
    if !closed {
        chars.next();
        *good = false;
        return;
    }
    for _ in 0..=rest.chars().count() {
        chars.next();
    }
    match rest[1..].parse::<usize>() {
        Ok(n) if n >= 1 && n <= nargs => *argi = n - 1,
        _ => *good = false,
    }
}

fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        // Go treats numbers above 1e6 as absent (its `tooLarge` check)
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize).min(1_000_001));
        chars.next();
    }
    n.filter(|n| *n <= 1_000_000)
}

fn bad_verb(v: &Value, verb: char) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), display(v)),
    }
}

fn pad(s: String, spec: &Spec, zero_ok: bool) -> String {
    let Some(w) = spec.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if spec.minus {
        return s + &" ".repeat(fill);
    }
    if spec.zero && zero_ok {
        // zeros go after a sign
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), &s[1..]),
            _ => (String::new(), s.as_str()),
        };
        return format!("{sign}{}{rest}", "0".repeat(fill));
    }
    " ".repeat(fill) + &s
}

fn format_verb(v: &Value, verb: char, spec: &Spec) -> String {
    // `%+v` asks for field names (none in decoded data), not a sign
    let plain_v;
    let spec = if verb == 'v' && spec.plus {
        plain_v = Spec { plus: false, ..*spec };
        &plain_v
    } else {
        spec
    };
    if verb == 'T' {
        return pad(v.type_name(), spec, false);
    }
    if verb == 'v' && spec.sharp {
        return pad(go_syntax(v), spec, false);
    }
    match v {
        Value::Nil => match verb {
            'v' => pad("<nil>".into(), spec, false),
            _ => bad_verb(v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(b.to_string(), spec, false),
            _ => bad_verb(v, verb),
        },
        Value::Int(i) => fmt_int(*i, verb, spec).unwrap_or_else(|| bad_verb(v, verb)),
        Value::Float(f) => fmt_float(*f, verb, spec).unwrap_or_else(|| bad_verb(v, verb)),
        Value::String(s) => fmt_str(s, verb, spec).unwrap_or_else(|| bad_verb(v, verb)),
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => fmt_str(&String::from_utf8_lossy(b), verb, spec).unwrap_or_default(),
            _ => {
                let items: Vec<String> =
                    b.iter().map(|x| format_verb(&Value::Int(i64::from(*x)), verb, spec)).collect();
                format!("[{}]", items.join(" "))
            }
        },
        Value::List(l) => {
            if spec.sharp && verb == 'v' {
                let items: Vec<String> = l.iter().map(go_syntax).collect();
                return format!("[]interface {{}}{{{}}}", items.join(", "));
            }
            let items: Vec<String> = l.iter().map(|x| format_verb(x, verb, spec)).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Map(m) => {
            if spec.sharp && verb == 'v' {
                return go_syntax(v);
            }
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    format!(
                        "{}:{}",
                        fmt_str(k, verb, spec).unwrap_or_else(|| bad_verb(&Value::string(k.as_str()), verb)),
                        format_verb(x, verb, spec)
                    )
                })
                .collect();
            format!("map[{}]", items.join(" "))
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad(o.display(), spec, false),
            _ => bad_verb(v, verb),
        },
    }
}

/// `%#v` (Go syntax) for decoded data.
fn go_syntax(v: &Value) -> String {
    match v {
        Value::Nil => "interface {}(nil)".into(),
        Value::String(s) => quote(s, false),
        Value::List(l) => {
            let items: Vec<String> = l.iter().map(go_syntax).collect();
            format!("[]interface {{}}{{{}}}", items.join(", "))
        }
        Value::Map(m) => {
            let items: Vec<String> =
                m.iter().map(|(k, x)| format!("{}:{}", quote(k, false), go_syntax(x))).collect();
            format!("map[string]interface {{}}{{{}}}", items.join(", "))
        }
        other => display(other),
    }
}

fn fmt_int(i: i64, verb: char, spec: &Spec) -> Option<String> {
    let neg = i < 0;
    let abs = i.unsigned_abs();
    let (mut digits, prefix) = match verb {
        'v' | 'd' => (abs.to_string(), ""),
        'b' => (format!("{abs:b}"), if spec.sharp { "0b" } else { "" }),
        'o' => (format!("{abs:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{abs:o}"), "0o"),
        'x' => (format!("{abs:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{abs:X}"), if spec.sharp { "0X" } else { "" }),
        'c' => {
            let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
            return Some(pad(c.to_string(), spec, false));
        }
        'q' => {
            let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
            return Some(pad(quote_rune(c), spec, false));
        }
        'U' => {
            let mut s = format!("U+{:04X}", abs);
            if spec.sharp
                && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
            {
                s.push_str(&format!(" '{c}'"));
            }
            return Some(pad(s, spec, false));
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => return None,
        _ => return None,
    };
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits = String::new();
        } else if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    Some(pad(format!("{sign}{prefix}{digits}"), spec, spec.prec.is_none()))
}

fn fmt_float(f: f64, verb: char, spec: &Spec) -> Option<String> {
    let body = match verb {
        'v' | 'g' => fmt_g(f, spec.prec, spec.sharp),
        'G' => fmt_g(f, spec.prec, spec.sharp).to_uppercase(),
        'e' => fmt_e(f, spec.prec.unwrap_or(6)),
        'E' => fmt_e(f, spec.prec.unwrap_or(6)).to_uppercase(),
        'f' | 'F' => fmt_f(f, spec.prec.unwrap_or(6)),
        _ => return None,
    };
    let body = if body.starts_with('-') || body.starts_with('+') {
        body
    } else if spec.plus {
        format!("+{body}")
    } else if spec.space {
        format!(" {body}")
    } else {
        body
    };
    let finite = f.is_finite();
    Some(pad(body, spec, finite))
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf".into() } else { "-Inf".into() })
    } else {
        None
    }
}

/// Decimal digits and decimal-point position of `f` (shortest when `sig` is None).
fn digits(f: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        None => format!("{:e}", f.abs()),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (d, exp + 1)
}

fn exp_suffix(exp: i32) -> String {
    let sign = if exp < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exp.abs())
}

fn fmt_e(f: f64, prec: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let s = format!("{:.*e}", prec, f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    format!("{mant}{}", exp_suffix(exp.parse().unwrap_or(0)))
}

fn fmt_f(f: f64, prec: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    format!("{:.*}", prec, f)
}

fn fmt_g(f: f64, prec: Option<usize>, sharp: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    let sig = prec.map(|p| p.max(1));
    let (mut d, dp) = if f == 0.0 { ("0".to_string(), 1) } else { digits(f, sig) };
    if !sharp {
        while d.len() > 1 && d.ends_with('0') {
            d.pop();
        }
    }
    let nd = d.len() as i32;
    let mut eprec = sig.map_or(6, |p| p as i32);
    if prec.is_some() && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let exp = dp - 1;
    let body = if exp < -4 || exp >= eprec {
        let mut m = d[..1].to_string();
        if d.len() > 1 {
            m.push('.');
            m.push_str(&d[1..]);
        }
        format!("{m}{}", exp_suffix(exp))
    } else if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), d)
    } else if dp as usize >= d.len() {
        format!("{}{}", d, "0".repeat(dp as usize - d.len()))
    } else {
        format!("{}.{}", &d[..dp as usize], &d[dp as usize..])
    };
    if neg { format!("-{body}") } else { body }
}

fn fmt_str(s: &str, verb: char, spec: &Spec) -> Option<String> {
    let truncated: String = match spec.prec {
        Some(p) if matches!(verb, 's' | 'v' | 'q') => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    Some(match verb {
        's' | 'v' => pad(truncated, spec, true),
        'q' => {
            if spec.sharp
                && !truncated.contains('`')
                && truncated.chars().all(|c| c == '\t' || !c.is_control())
            {
                pad(format!("`{truncated}`"), spec, false)
            } else {
                pad(quote(&truncated, spec.plus), spec, false)
            }
        }
        'x' | 'X' => {
            let bytes = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut out = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    out.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    out.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    out.push_str(&format!("{b:02x}"));
                } else {
                    out.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, spec, false)
        }
        _ => return None,
    })
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii`).
pub(crate) fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii);
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', false);
    out.push('\'');
    out
}

fn push_escaped(out: &mut String, c: char, q: char, ascii: bool) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if ascii && (c as u32) > 0x7e => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c if !is_printable(c) => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c as u32, 0x80..=0x9f | 0xad | 0x2028 | 0x2029 | 0xfeff | 0xfffd..=0xffff)
            && c != '\u{fffd}')
}
