//! The SemVer subset Helm uses for chart versions, dependency `version` ranges and
//! `kubeVersion` constraints (Masterminds/semver semantics: lenient versions, `^ ~ >= < != =`,
//! wildcards, hyphen ranges, `,`/space for AND, `||` for OR).

use std::cmp::Ordering;

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl Version {
    /// Parses leniently like Masterminds `NewVersion`: optional `v`, missing minor/patch are 0,
    /// build metadata ignored.
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let t = t.split('+').next().unwrap_or(t);
        let (core, pre) = match t.split_once('-') {
            Some((c, p)) => (c, p.to_string()),
            None => (t, String::new()),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty()
            || nums.len() > 3
            || nums.iter().any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let get = |i: usize| nums.get(i).map_or(Some(0), |n| n.parse::<u64>().ok());
        if !pre.is_empty()
            && !pre
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return None;
        }
        Some(Version { major: get(0)?, minor: get(1)?, patch: get(2)?, pre })
    }

    fn cmp_pre(&self, other: &Version) -> Ordering {
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let a: Vec<&str> = self.pre.split('.').collect();
                let b: Vec<&str> = other.pre.split('.').collect();
                for (x, y) in a.iter().zip(b.iter()) {
                    let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(i), Ok(j)) => i.cmp(&j),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                a.len().cmp(&b.len())
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| self.cmp_pre(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Term {
    op: Op,
    version: Version,
    /// How many of major/minor/patch were given without wildcards (3 = exact).
    given: usize,
}

/// Whether `version` satisfies `constraint` (Helm's `IsCompatibleRange`); an unparsable
/// constraint or version is "not compatible".
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Some(v) = Version::parse(version) else { return false };
    let Some(groups) = parse_constraint(constraint) else { return false };
    groups.iter().any(|terms| terms.iter().all(|t| t.matches(&v)) && prerelease_allowed(terms, &v))
}

fn prerelease_allowed(terms: &[Term], v: &Version) -> bool {
    v.pre.is_empty() || terms.iter().any(|t| !t.version.pre.is_empty())
}

fn parse_constraint(text: &str) -> Option<Vec<Vec<Term>>> {
    if text.trim().is_empty() {
        return None;
    }
    let mut groups = Vec::new();
    for alt in text.split("||") {
        let mut terms = Vec::new();
        let normalized = alt.replace(',', " ");
        let tokens: Vec<&str> = normalized.split_whitespace().collect();
        let mut i = 0;
        while i < tokens.len() {
            let mut tok = tokens[i].to_string();
            // Operators separated from their version by a space (`>= 1.2`).
            if tok.chars().all(|c| "<>=!~^".contains(c)) && i + 1 < tokens.len() {
                tok.push_str(tokens[i + 1]);
                i += 1;
            }
            if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                let lo = parse_term(&format!(">={tok}"))?;
                let hi = parse_term(&format!("<={}", tokens[i + 2]))?;
                terms.push(lo);
                terms.push(hi);
                i += 3;
                continue;
            }
            terms.push(parse_term(&tok)?);
            i += 1;
        }
        if terms.is_empty() {
            return None;
        }
        groups.push(terms);
    }
    Some(groups)
}

fn parse_term(tok: &str) -> Option<Term> {
    let ops = [
        ("~>", Op::Tilde),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let (op, rest) =
        ops.iter().find_map(|(p, op)| tok.strip_prefix(p).map(|r| (*op, r))).unwrap_or((Op::Eq, tok));
    let rest = rest.trim();
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let mut nums = [0u64; 3];
    let mut given = 0;
    for (i, p) in parts.iter().enumerate().take(3) {
        if matches!(*p, "x" | "X" | "*") {
            break;
        }
        nums[i] = p.parse().ok()?;
        given = i + 1;
    }
    if parts.len() > 3 {
        return None;
    }
    let mut version = Version { major: nums[0], minor: nums[1], patch: nums[2], pre: String::new() };
    if let Some(p) = pre {
        version.pre = p.to_string();
    }
    Some(Term { op, version, given })
}

impl Term {
    fn upper_wildcard(&self) -> Version {
        let v = &self.version;
        match self.given {
            0 => Version { major: u64::MAX, minor: 0, patch: 0, pre: String::new() },
            1 => Version { major: v.major + 1, minor: 0, patch: 0, pre: String::new() },
            _ => Version { major: v.major, minor: v.minor + 1, patch: 0, pre: String::new() },
        }
    }

    fn matches(&self, v: &Version) -> bool {
        let c = &self.version;
        let base = Version { pre: String::new(), ..v.clone() };
        match self.op {
            Op::Eq if self.given < 3 => {
                base >= Version { pre: String::new(), ..c.clone() } && base < self.upper_wildcard()
            }
            Op::Eq => v == c,
            Op::Ne if self.given < 3 => {
                !(base >= Version { pre: String::new(), ..c.clone() } && base < self.upper_wildcard())
            }
            Op::Ne => v != c,
            Op::Gt if self.given < 3 => base >= self.upper_wildcard(),
            Op::Gt => v > c,
            Op::Ge => v >= c,
            Op::Lt => v < c,
            Op::Le if self.given < 3 => base < self.upper_wildcard(),
            Op::Le => v <= c,
            Op::Tilde => {
                let hi = if self.given <= 1 {
                    Version { major: c.major + 1, minor: 0, patch: 0, pre: String::new() }
                } else {
                    Version { major: c.major, minor: c.minor + 1, patch: 0, pre: String::new() }
                };
                v >= c && base < hi
            }
            Op::Caret => {
                let hi = if c.major > 0 || self.given <= 1 {
                    Version { major: c.major + 1, minor: 0, patch: 0, pre: String::new() }
                } else if c.minor > 0 || self.given == 2 {
                    Version { major: 0, minor: c.minor + 1, patch: 0, pre: String::new() }
                } else {
                    Version { major: 0, minor: 0, patch: c.patch + 1, pre: String::new() }
                };
                v >= c && base < hi
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(is_compatible_range("0.1.0", "0.1.0"));
        assert!(!is_compatible_range("0.1.0", "0.1.1"));
        assert!(is_compatible_range("^1.2.0", "1.9.0"));
        assert!(!is_compatible_range("^1.2.0", "2.0.0"));
        assert!(is_compatible_range("~1.2.0", "1.2.9"));
        assert!(!is_compatible_range("~1.2.0", "1.3.0"));
        assert!(is_compatible_range(">=1.20.0-0", "v1.20.0"));
        assert!(is_compatible_range(">= 1.16.0, < 1.30.0", "1.20.0"));
        assert!(is_compatible_range("1.x", "1.4.2"));
        assert!(is_compatible_range("*", "3.0.0"));
        assert!(is_compatible_range("<1.0.0 || >=2.0.0", "2.1.0"));
        assert!(!is_compatible_range(">=1.0.0", "1.1.0-beta.1"));
        assert!(!is_compatible_range("", "1.0.0"));
        assert!(is_compatible_range("1.2 - 1.4.5", "1.3.0"));
    }

    #[test]
    fn versions_parse_leniently() {
        assert!(Version::parse("v1.2").is_some());
        assert!(Version::parse("1.2.3-rc.1+build").is_some());
        assert!(Version::parse("one").is_none());
    }
}
