//! Sprig's path (`base`, `dir`, `clean`, `ext`, `isAbs` and the `os*` variants, identical on
//! Linux) and URL (`urlParse`, `urlJoin`) functions, with Go's `path` and `net/url` rules.

use std::sync::Arc;

use crate::{Context, Error, FuncMap, Map, Value};

/// Go's `path.Clean` (shared with Helm's and Argo CD's path rules).
pub(crate) use tiphys_resource::gopath::clean;

fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

fn ext(p: &str) -> String {
    let last = p.rsplit('/').next().unwrap_or(p);
    match last.rfind('.') {
        Some(i) => last[i..].to_string(),
        None => String::new(),
    }
}

fn path_fn(f: &mut FuncMap, names: [&'static str; 2], op: fn(&str) -> Value) {
    for name in names {
        f.insert(
            name.into(),
            Arc::new(move |_: &mut Context<'_>, a: &[Value]| {
                crate::builtins::want(name, a, 1)?;
                match &a[0] {
                    Value::String(s) => Ok(op(s)),
                    _ => Err(Error::ArgType { index: 0, expected: "string".into() }),
                }
            }),
        );
    }
}

/// Registers the path and URL functions.
pub(crate) fn register(f: &mut FuncMap) {
    path_fn(f, ["base", "osBase"], |p| Value::from(base(p)));
    path_fn(f, ["dir", "osDir"], |p| Value::from(dir(p)));
    path_fn(f, ["clean", "osClean"], |p| Value::from(clean(p)));
    path_fn(f, ["ext", "osExt"], |p| Value::from(ext(p)));
    path_fn(f, ["isAbs", "osIsAbs"], |p| Value::Bool(p.starts_with('/')));
    f.insert(
        "urlParse".into(),
        Arc::new(|_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("urlParse", a, 1)?;
            let s = crate::sprig::strval(&a[0]);
            Ok(Value::map(parse_url(&s)))
        }),
    );
    f.insert(
        "urlJoin".into(),
        Arc::new(|_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("urlJoin", a, 1)?;
            let Value::Map(m) = &a[0] else {
                return Err(Error::ArgType { index: 0, expected: "map[string]interface {}".into() });
            };
            Ok(Value::from(join_url(m)))
        }),
    );
}

fn parse_url(s: &str) -> Map {
    let mut m = Map::new();
    let (rest, fragment) = s.split_once('#').unwrap_or((s, ""));
    let (scheme, rest) = match rest.split_once(':') {
        Some((sc, r))
            if !sc.is_empty() && sc.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (sc.to_ascii_lowercase(), r)
        }
        _ => (String::new(), rest),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path, opaque) = if let Some(r) = rest.strip_prefix("//") {
        match r.find('/') {
            Some(i) => (&r[..i], &r[i..], ""),
            None => (r, "", ""),
        }
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        ("", "", rest)
    } else {
        ("", rest, "")
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (u, h),
        None => ("", authority),
    };
    let hostname = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or("")
    };
    for (k, v) in [
        ("scheme", scheme.as_str()),
        ("host", host),
        ("hostname", hostname),
        ("path", path),
        ("query", query),
        ("opaque", opaque),
        ("fragment", fragment),
        ("userinfo", userinfo),
    ] {
        m.insert(k.into(), Value::from(v));
    }
    m
}

fn join_url(m: &Map) -> String {
    let get = |k: &str| m.get(k).map(crate::sprig::strval).unwrap_or_default();
    let mut out = String::new();
    let scheme = get("scheme");
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    let opaque = get("opaque");
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        let host = get("host");
        let userinfo = get("userinfo");
        if !host.is_empty() || !userinfo.is_empty() || !scheme.is_empty() {
            out.push_str("//");
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        let path = get("path");
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    let query = get("query");
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    let fragment = get("fragment");
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}
