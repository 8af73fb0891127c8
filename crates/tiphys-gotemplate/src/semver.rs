//! `semver` and `semverCompare` with Masterminds/semver v3 constraint rules (what Helm charts
//! use to gate on `.Capabilities.KubeVersion`).

use std::cmp::Ordering;
use std::sync::Arc;

use crate::{Context, Error, FuncMap, Object, Value};

/// A parsed semantic version (Masterminds `*semver.Version`).
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
    original: String,
}

impl Version {
    /// Parses leniently like `semver.NewVersion` (`v` prefix, missing minor/patch allowed).
    pub fn parse(s: &str) -> Option<Version> {
        let t = s.trim().strip_prefix('v').unwrap_or(s.trim());
        let (rest, meta) = t.split_once('+').unwrap_or((t, ""));
        let (core, pre) = rest.split_once('-').unwrap_or((rest, ""));
        let mut nums = core.split('.');
        let num = |p: Option<&str>| -> Option<u64> {
            match p {
                None => Some(0),
                Some(x) if !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()) => x.parse().ok(),
                _ => None,
            }
        };
        let major = num(Some(nums.next()?))?;
        let minor = num(nums.next())?;
        let patch = num(nums.next())?;
        if nums.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            meta: meta.to_string(),
            original: s.to_string(),
        })
    }

    fn cmp(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => Value::Int(self.major as i64),
            "Minor" => Value::Int(self.minor as i64),
            "Patch" => Value::Int(self.patch as i64),
            "Prerelease" => Value::string(self.pre.as_str()),
            "Metadata" => Value::string(self.meta.as_str()),
            "Original" => Value::string(self.original.as_str()),
            _ => return None,
        })
    }
    fn display(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One `op version` term; `wild` counts how many trailing parts were wildcards/missing.
struct Term {
    op: String,
    v: Version,
    parts: usize,
}

fn parse_term(t: &str) -> Option<Term> {
    let t = t.trim();
    let op_len = t.find(|c: char| c.is_ascii_alphanumeric() || c == '*').unwrap_or(t.len());
    let (op, ver) = t.split_at(op_len);
    let ver = ver.trim().strip_prefix('v').unwrap_or(ver.trim());
    let (core, suffix) = match ver.find(['-', '+']) {
        Some(i) => (&ver[..i], &ver[i..]),
        None => (ver, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let concrete = parts.iter().take_while(|p| !matches!(**p, "x" | "X" | "*")).count();
    let mut fixed: Vec<&str> = parts[..concrete].to_vec();
    while fixed.len() < 3 {
        fixed.push("0");
    }
    let v = Version::parse(&format!("{}{suffix}", fixed.join(".")))?;
    Some(Term { op: op.trim().to_string(), v, parts: concrete })
}

fn bump(v: &Version, level: usize) -> Version {
    let mut n = Version { pre: String::new(), meta: String::new(), ..v.clone() };
    match level {
        0 => {
            n.major += 1;
            n.minor = 0;
            n.patch = 0;
        }
        1 => {
            n.minor += 1;
            n.patch = 0;
        }
        _ => n.patch += 1,
    }
    n
}

fn term_matches(t: &Term, v: &Version) -> bool {
    if !v.pre.is_empty() && t.v.pre.is_empty() {
        return false;
    }
    let ge = v.cmp(&t.v) != Ordering::Less;
    let range = |upper_level: usize| ge && v.cmp(&bump(&t.v, upper_level)) == Ordering::Less;
    match t.op.as_str() {
        "" | "=" if t.parts < 3 => {
            if t.parts == 0 {
                true
            } else {
                range(t.parts - 1)
            }
        }
        "" | "=" => v.cmp(&t.v) == Ordering::Equal,
        "!=" => v.cmp(&t.v) != Ordering::Equal,
        ">" if t.parts < 3 && t.parts > 0 => v.cmp(&bump(&t.v, t.parts - 1)) != Ordering::Less,
        ">" => v.cmp(&t.v) == Ordering::Greater,
        ">=" | "=>" => ge,
        "<" => v.cmp(&t.v) == Ordering::Less,
        "<=" | "=<" if t.parts < 3 && t.parts > 0 => v.cmp(&bump(&t.v, t.parts - 1)) == Ordering::Less,
        "<=" | "=<" => v.cmp(&t.v) != Ordering::Greater,
        "~" | "~>" => range(if t.parts <= 1 { 0 } else { 1 }),
        "^" => {
            if t.v.major > 0 || t.parts <= 1 {
                range(0)
            } else if t.v.minor > 0 || t.parts == 2 {
                range(1)
            } else {
                range(2)
            }
        }
        _ => false,
    }
}

/// Evaluates a Masterminds constraint string against a version.
pub fn satisfies(constraint: &str, version: &str) -> Result<bool, Error> {
    let v = Version::parse(version).ok_or_else(|| Error::func("invalid semantic version"))?;
    for group in constraint.split("||") {
        let group = group.trim();
        // hyphen ranges: "1.2 - 1.4"
        let normalized = group.replace(" - ", " HYPHEN ");
        let mut terms = Vec::new();
        let toks: Vec<&str> = normalized.split([',', ' ']).filter(|s| !s.is_empty()).collect();
        let mut k = 0;
        while k < toks.len() {
            let mut tok = toks[k].to_string();
            // an operator separated from its version by spaces: ">= 1.2"
            if tok.chars().all(|c| "<>=!~^".contains(c)) && k + 1 < toks.len() {
                tok.push_str(toks[k + 1]);
                k += 1;
            }
            if toks.get(k + 1) == Some(&"HYPHEN") && k + 2 < toks.len() {
                terms.push(parse_term(&format!(">={tok}")).ok_or_else(|| bad(constraint))?);
                terms.push(parse_term(&format!("<={}", toks[k + 2])).ok_or_else(|| bad(constraint))?);
                k += 3;
                continue;
            }
            terms.push(parse_term(&tok).ok_or_else(|| bad(constraint))?);
            k += 1;
        }
        if terms.is_empty() {
            return Err(bad(constraint));
        }
        if terms.iter().all(|t| term_matches(t, &v)) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn bad(c: &str) -> Error {
    Error::func(format!("improper constraint: {c:?}"))
}

/// Registers `semver` and `semverCompare`.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert(
        "semverCompare".into(),
        Arc::new(|_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("semverCompare", a, 2)?;
            let (c, v) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
            satisfies(c, v).map(Value::Bool)
        }),
    );
    f.insert(
        "semver".into(),
        Arc::new(|_: &mut Context<'_>, a: &[Value]| {
            crate::builtins::want("semver", a, 1)?;
            let s = a[0].as_str().unwrap_or("");
            Version::parse(s).map(Value::object).ok_or_else(|| Error::func("invalid semantic version"))
        }),
    );
}
