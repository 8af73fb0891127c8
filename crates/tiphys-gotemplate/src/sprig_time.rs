//! Sprig's date functions over a caller-supplied clock, with Go's reference-time layouts.

use std::sync::Arc;

use jiff::Zoned;

use crate::{Context, Error, FuncMap, Object, Value};

/// A Go `time.Time` value as templates see it.
#[derive(Debug, Clone)]
pub struct Time(pub Zoned);

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Year" => Some(Value::Int(i64::from(self.0.year()))),
            "Unix" => Some(Value::Int(self.0.timestamp().as_second())),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format_go(&self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn to_time(v: &Value, now: &Zoned) -> Zoned {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<Time>().map_or_else(|| now.clone(), |t| t.0.clone()),
        Value::Int(secs) => jiff::Timestamp::from_second(*secs)
            .map(|t| t.to_zoned(now.time_zone().clone()))
            .unwrap_or_else(|_| now.clone()),
        Value::Float(secs) => jiff::Timestamp::from_second(*secs as i64)
            .map(|t| t.to_zoned(now.time_zone().clone()))
            .unwrap_or_else(|_| now.clone()),
        _ => now.clone(),
    }
}

/// Formats with a Go layout (`2006-01-02T15:04:05Z07:00`).
pub fn format_go(t: &Zoned, layout: &str) -> String {
    const TOKENS: &[&str] = &[
        "January",
        "Monday",
        "Jan",
        "Mon",
        "MST",
        "2006",
        "-07:00:00",
        "-0700",
        "-07:00",
        "-07",
        "Z07:00",
        "Z0700",
        "Z07",
        ".000000000",
        ".999999999",
        ".000000",
        ".999999",
        ".000",
        ".999",
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "15",
        "_2",
        "PM",
        "pm",
        "1",
        "2",
        "3",
        "4",
        "5",
    ];
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for tok in TOKENS {
            if let Some(r) = rest.strip_prefix(tok) {
                out.push_str(&token(t, tok));
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn token(t: &Zoned, tok: &str) -> String {
    let off = t.offset().seconds();
    let (sign, h, m) = (if off < 0 { '-' } else { '+' }, off.abs() / 3600, (off.abs() % 3600) / 60);
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let nanos = t.subsec_nanosecond();
    let frac = |n: usize, trim: bool| {
        let s = format!("{:09}", nanos);
        let s = &s[..n];
        if trim {
            let tr = s.trim_end_matches('0');
            if tr.is_empty() { String::new() } else { format!(".{tr}") }
        } else {
            format!(".{s}")
        }
    };
    match tok {
        "January" => t.strftime("%B").to_string(),
        "Jan" => t.strftime("%b").to_string(),
        "Monday" => t.strftime("%A").to_string(),
        "Mon" => t.strftime("%a").to_string(),
        "MST" => t.time_zone().iana_name().map_or_else(
            || if off == 0 { "UTC".to_string() } else { format!("{sign}{h:02}{m:02}") },
            |n| if n == "UTC" || n == "Etc/UTC" { "UTC".to_string() } else { t.strftime("%Z").to_string() },
        ),
        "2006" => format!("{:04}", t.year()),
        "06" => format!("{:02}", t.year() % 100),
        "01" => format!("{:02}", t.month()),
        "1" => t.month().to_string(),
        "02" => format!("{:02}", t.day()),
        "2" => t.day().to_string(),
        "_2" => format!("{:>2}", t.day()),
        "15" => format!("{:02}", t.hour()),
        "03" => format!("{hour12:02}"),
        "3" => hour12.to_string(),
        "04" => format!("{:02}", t.minute()),
        "4" => t.minute().to_string(),
        "05" => format!("{:02}", t.second()),
        "5" => t.second().to_string(),
        "PM" => (if t.hour() >= 12 { "PM" } else { "AM" }).to_string(),
        "pm" => (if t.hour() >= 12 { "pm" } else { "am" }).to_string(),
        "-0700" => format!("{sign}{h:02}{m:02}"),
        "-07:00" => format!("{sign}{h:02}:{m:02}"),
        "-07:00:00" => format!("{sign}{h:02}:{m:02}:{:02}", off.abs() % 60),
        "-07" => format!("{sign}{h:02}"),
        "Z07:00" if off == 0 => "Z".into(),
        "Z07:00" => format!("{sign}{h:02}:{m:02}"),
        "Z0700" if off == 0 => "Z".into(),
        "Z0700" => format!("{sign}{h:02}{m:02}"),
        "Z07" if off == 0 => "Z".into(),
        "Z07" => format!("{sign}{h:02}"),
        ".000" => frac(3, false),
        ".000000" => frac(6, false),
        ".000000000" => frac(9, false),
        ".999" => frac(3, true),
        ".999999" => frac(6, true),
        ".999999999" => frac(9, true),
        other => other.to_string(),
    }
}

fn layout_arg(v: &Value) -> Result<&str, Error> {
    v.as_str()
        .ok_or_else(|| Error::arg(format!("wrong type for value; expected string; got {}", v.type_name())))
}

/// Registers `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`, `unixEpoch`, `toDate`,
/// `mustToDate`, `dateModify`, `ago`, `duration`.
pub(crate) fn register(f: &mut FuncMap, now: Zoned) {
    let n = now.clone();
    f.insert(
        "now".into(),
        Arc::new(move |_: &mut Context<'_>, _: &[Value]| Ok(Value::object(Time(n.clone())))),
    );
    let n = now.clone();
    f.insert(
        "date".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("date", a, 2)?;
            Ok(Value::string(format_go(&to_time(&a[1], &n), layout_arg(&a[0])?)))
        }),
    );
    let n = now.clone();
    f.insert(
        "htmlDate".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("htmlDate", a, 1)?;
            Ok(Value::string(format_go(&to_time(&a[0], &n), "2006-01-02")))
        }),
    );
    for name in ["dateInZone", "date_in_zone"] {
        let n = now.clone();
        f.insert(
            name.into(),
            Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
                crate::builtins::want(name, a, 3)?;
                let zone = layout_arg(&a[2])?;
                let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
                let t = to_time(&a[1], &n).with_time_zone(tz);
                Ok(Value::string(format_go(&t, layout_arg(&a[0])?)))
            }),
        );
    }
    let n = now.clone();
    f.insert(
        "unixEpoch".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("unixEpoch", a, 1)?;
            Ok(Value::string(to_time(&a[0], &n).timestamp().as_second().to_string()))
        }),
    );
    for name in ["toDate", "mustToDate"] {
        let n = now.clone();
        f.insert(
            name.into(),
            Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
                crate::builtins::want(name, a, 2)?;
                let (layout, text) = (layout_arg(&a[0])?, layout_arg(&a[1])?);
                match parse_go(layout, text, n.time_zone()) {
                    Some(t) => Ok(Value::object(Time(t))),
                    None if name == "toDate" => Ok(Value::object(Time(zero_time()))),
                    None => Err(Error::func(format!(
                        "parsing time {text:?} as {layout:?}: cannot parse {text:?} as {:?}",
                        first_layout_element(layout)
                    ))),
                }
            }),
        );
    }
    for name in ["dateModify", "date_modify", "mustDateModify", "must_date_modify"] {
        let strict = name.starts_with("must");
        f.insert(
            name.into(),
            Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
                crate::builtins::want(name, a, 2)?;
                let t = match &a[1] {
                    Value::Object(o) => o.as_any().downcast_ref::<Time>().map(|t| t.0.clone()),
                    _ => None,
                }
                .ok_or(Error::ArgType { index: 1, expected: "time.Time".into() })?;
                match parse_go_duration(layout_arg(&a[0])?) {
                    Some(nanos) => Ok(Value::object(Time(
                        t.checked_add(jiff::SignedDuration::from_nanos(nanos)).unwrap_or(t),
                    ))),
                    None if strict => {
                        Err(Error::func(format!("time: invalid duration {:?}", layout_arg(&a[0])?)))
                    }
                    None => Ok(Value::object(Time(t))),
                }
            }),
        );
    }
    let n = now.clone();
    f.insert(
        "htmlDateInZone".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("htmlDateInZone", a, 2)?;
            let tz = jiff::tz::TimeZone::get(layout_arg(&a[1])?).unwrap_or(jiff::tz::TimeZone::UTC);
            Ok(Value::string(format_go(&to_time(&a[0], &n).with_time_zone(tz), "2006-01-02")))
        }),
    );
    let n = now.clone();
    f.insert(
        "durationRound".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("durationRound", a, 1)?;
            let nanos: i128 = match &a[0] {
                Value::String(s) => i128::from(parse_go_duration(s).unwrap_or(0)),
                Value::Object(o) => o
                    .as_any()
                    .downcast_ref::<Time>()
                    .map_or(0, |t| (n.timestamp().as_nanosecond() - t.0.timestamp().as_nanosecond()).max(0)),
                _ => 0,
            };
            Ok(Value::string(round_duration(nanos.unsigned_abs())))
        }),
    );
    let n = now;
    f.insert(
        "ago".into(),
        Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("ago", a, 1)?;
            let secs = n.timestamp().as_second() - to_time(&a[0], &n).timestamp().as_second();
            Ok(Value::string(go_duration(secs)))
        }),
    );
    f.insert(
        "duration".into(),
        Arc::new(|_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("duration", a, 1)?;
            let secs = match &a[0] {
                Value::String(s) => s.parse::<i64>().unwrap_or(0),
                // Sprig only accepts int64 and strings; template ints and YAML floats give 0
                _ => 0,
            };
            Ok(Value::string(go_duration(secs)))
        }),
    );
}

/// Go's `time.Duration.String()` for whole seconds.
fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

/// Parses `text` with a Go layout by translating the layout to strptime directives.
fn parse_go(layout: &str, text: &str, tz: &jiff::tz::TimeZone) -> Option<Zoned> {
    const MAP: &[(&str, &str)] = &[
        ("2006", "%Y"),
        ("01", "%m"),
        ("02", "%d"),
        ("15", "%H"),
        ("04", "%M"),
        ("05", "%S"),
        ("Z07:00", "%:z"),
        ("-07:00", "%:z"),
        ("-0700", "%z"),
        ("Jan", "%b"),
        ("MST", "%Z"),
    ];
    let mut fmt = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, st) in MAP {
            if let Some(r) = rest.strip_prefix(go) {
                fmt.push_str(st);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next()?;
        fmt.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if let Ok(z) = jiff::fmt::strtime::parse(&fmt, text).and_then(|p| p.to_zoned()) {
        return Some(z);
    }
    let text = match text.strip_suffix('Z') {
        Some(t) => format!("{t}+00:00"),
        None => text.to_string(),
    };
    let fmt = fmt.replace("%:z", "");
    let text_no_tz = text.split('+').next().unwrap_or(&text);
    if let Ok(dt) = jiff::fmt::strtime::parse(&fmt, text_no_tz).and_then(|p| p.to_datetime()) {
        return dt.to_zoned(tz.clone()).ok();
    }
    jiff::fmt::strtime::parse(&fmt, &text)
        .and_then(|p| p.to_date())
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num * mult;
    }
    let total = if neg { -total } else { total };
    (total.abs() < 9.2e18).then_some(total as i64)
}

/// Sprig's `durationRound`: the largest whole unit, truncated.
fn round_duration(u: u128) -> String {
    const SECOND: u128 = 1_000_000_000;
    const MINUTE: u128 = 60 * SECOND;
    const HOUR: u128 = 60 * MINUTE;
    const DAY: u128 = 24 * HOUR;
    const MONTH: u128 = 30 * DAY;
    const YEAR: u128 = 365 * DAY;
    for (size, unit) in [(YEAR, "y"), (MONTH, "mo"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")] {
        if u > size {
            return format!("{}{unit}", u / size);
        }
    }
    "0s".into()
}

/// Go's zero `time.Time` (what `toDate` returns for unparsable input).
fn zero_time() -> Zoned {
    jiff::civil::date(1, 1, 1).at(0, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).unwrap_or_default()
}

/// The first element of a Go layout (`2006` of `2006-01-02`), for Go's parse error text.
fn first_layout_element(layout: &str) -> &str {
    const ELEMENTS: &[&str] = &[
        "January", "Monday", "2006", "Jan", "Mon", "MST", "-07:00", "-0700", "Z07:00", "01", "02", "03",
        "04", "05", "06", "15", "_2", "PM", "pm", "1", "2", "3", "4", "5",
    ];
    ELEMENTS.iter().copied().find(|e| layout.starts_with(e)).unwrap_or_else(|| layout.get(..1).unwrap_or(""))
}
