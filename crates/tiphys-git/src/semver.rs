//! Semver constraints over tags, with the syntax and rules upstream accepts (it uses
//! Masterminds/semver v3): `1.2.*`, `1.2.x`, `~1.2`, `^1.2`, `>=1.0 <2.0`, `>=1.0, <2.0`,
//! `1.2 - 1.4`, `||` alternatives; versions may carry a `v` prefix or omit minor/patch.
//! Pre-release tags only satisfy constraints that themselves name a pre-release.

use std::cmp::Ordering;

/// A parsed version (`v1.2.3-rc.1+build`, `1.2`, `1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl Version {
    /// Parses a version the way upstream's loose parser does; `None` when it is not one.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let s = s.split_once('+').map_or(s, |(v, _)| v);
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, p.split('.').map(str::to_string).collect()),
            Some(_) => return None,
            None => (s, Vec::new()),
        };
        let nums: Vec<&str> = core.split('.').collect();
        if nums.is_empty()
            || nums.len() > 3
            || nums.iter().any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let n = |i: usize| nums.get(i).map_or(Some(0), |s| s.parse::<u64>().ok());
        Some(Version { major: n(0)?, minor: n(1)?, patch: n(2)?, pre })
    }

    fn cmp_pre(a: &[String], b: &[String]) -> Ordering {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        for (x, y) in a.iter().zip(b) {
            let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                (Ok(_), Err(_)) => Ordering::Less,
                (Err(_), Ok(_)) => Ordering::Greater,
                _ => x.cmp(y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| Version::cmp_pre(&self.pre, &o.pre))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Term {
    op: Op,
    con: Version,
    /// Which parts were missing or wildcards (`x`, `X`, `*`).
    major_dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

impl Term {
    fn dirty(&self) -> bool {
        self.major_dirty || self.minor_dirty || self.patch_dirty
    }

    fn parse(s: &str) -> Option<Term> {
        const OPS: [(&str, Op); 11] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            (">", Op::Greater),
            ("<", Op::Less),
            ("=", Op::TildeOrEqual),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ];
        let (op, rest) = OPS
            .iter()
            .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
            .unwrap_or((Op::TildeOrEqual, s));
        let rest = rest.trim();
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let (core, suffix) = match rest.find(['-', '+']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let is_x = |p: Option<&&str>| p.is_none_or(|p| matches!(*p, "x" | "X" | "*"));
        let major_dirty = is_x(parts.first());
        let minor_dirty = !major_dirty && is_x(parts.get(1));
        let patch_dirty = !major_dirty && !minor_dirty && is_x(parts.get(2));
        let concrete: Vec<&str> =
            parts.iter().take_while(|p| !matches!(**p, "x" | "X" | "*")).copied().collect();
        let base = if concrete.is_empty() { "0".to_string() } else { concrete.join(".") };
        let con = Version::parse(&format!("{base}{suffix}"))?;
        Some(Term { op, con, major_dirty, minor_dirty, patch_dirty })
    }

    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && self.con.pre.is_empty() {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual if self.dirty() => self.tilde(v),
            Op::TildeOrEqual => v == c,
            Op::NotEqual if self.dirty() => !self.tilde(v),
            Op::NotEqual => v != c,
            Op::Greater => {
                if !self.dirty() {
                    return v > c;
                }
                if self.major_dirty {
                    return false;
                }
                match v.major.cmp(&c.major) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal if self.minor_dirty => false,
                    Ordering::Equal => v.minor > c.minor,
                }
            }
            Op::Less => v < c,
            Op::GreaterEqual => v >= c,
            Op::LessEqual => {
                if !self.dirty() {
                    return v <= c;
                }
                if self.major_dirty {
                    return true;
                }
                match v.major.cmp(&c.major) {
                    Ordering::Less => true,
                    Ordering::Greater => false,
                    Ordering::Equal if self.minor_dirty => true,
                    Ordering::Equal => v.minor <= c.minor,
                }
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v < c {
                    return false;
                }
                if c.major > 0 || self.major_dirty {
                    return self.major_dirty || v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if self.minor_dirty {
                    return true;
                }
                if c.minor > 0 {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                self.patch_dirty || v.patch == c.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        if self.major_dirty {
            return true;
        }
        let c = &self.con;
        v >= c && v.major == c.major && (self.minor_dirty || v.minor == c.minor)
    }
}

/// A constraint: alternatives (`||`) of conjunctions.
#[derive(Debug, Clone)]
pub struct Constraint {
    groups: Vec<Vec<Term>>,
}

impl Constraint {
    /// Parses a constraint; `None` when the text is not one (a branch name, say).
    pub fn parse(s: &str) -> Option<Constraint> {
        // Compiled once: every refresh of a branch-tracking app asks whether its revision is
        // a constraint, and compiling these two took ~4 % of a 1,000-app refresh.
        static PATTERNS: std::sync::OnceLock<Option<(regex::Regex, regex::Regex)>> =
            std::sync::OnceLock::new();
        let (hyphen, op_space) = PATTERNS
            .get_or_init(|| {
                Some((
                    regex::Regex::new(r"(\S+)\s+-\s+(\S+)").ok()?,
                    regex::Regex::new(r"([<>=!~^]+)\s+").ok()?,
                ))
            })
            .as_ref()?;
        let mut groups = Vec::new();
        for group in s.split("||") {
            let group = hyphen.replace_all(group.trim(), ">=$1 <=$2");
            let group = op_space.replace_all(&group, "$1");
            let terms: Option<Vec<Term>> = group
                .split([',', ' '])
                .filter(|t| !t.trim().is_empty())
                .map(|t| Term::parse(t.trim()))
                .collect();
            let terms = terms?;
            if terms.is_empty() {
                return None;
            }
            groups.push(terms);
        }
        Some(Constraint { groups })
    }

    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups.iter().any(|g| g.iter().all(|t| t.matches(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c).unwrap().matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn wildcards_tilde_caret_ranges() {
        assert!(ok("1.2.*", "1.2.9") && !ok("1.2.*", "1.3.0") && !ok("1.2.*", "1.1.9"));
        assert!(ok("1.2.x", "v1.2.0"));
        assert!(ok("~1.2", "1.2.5") && !ok("~1.2", "1.3.0"));
        assert!(ok("~1.2.3", "1.2.4") && !ok("~1.2.3", "1.2.2"));
        assert!(ok("^1.2", "1.9.0") && !ok("^1.2", "2.0.0") && !ok("^1.2", "1.1.0"));
        assert!(ok("^0.2.3", "0.2.9") && !ok("^0.2.3", "0.3.0"));
        assert!(ok(">=1.0 <2.0", "1.5.0") && !ok(">=1.0 <2.0", "2.0.0"));
        assert!(ok(">= 1.0, < 2.0", "1.0.0"));
        assert!(ok("1.2 - 1.4.5", "1.4.5") && !ok("1.2 - 1.4.5", "1.4.6"));
        assert!(ok("<1.0 || >=3", "0.9.0") && ok("<1.0 || >=3", "3.1.0") && !ok("<1.0 || >=3", "2.0.0"));
        assert!(ok("*", "4.5.6") && !ok("*", "4.5.6-rc.1"));
        assert!(ok(">1.2", "1.3.0") && !ok(">1.2", "1.2.9"));
        assert!(ok("<=1.2", "1.2.9") && !ok("<=1.2", "1.3.0"));
        assert!(ok(">=1.0.0-0", "1.0.0-rc.1"));
        assert!(!ok(">=1.0", "1.5.0-rc.1"));
    }

    #[test]
    fn branch_names_are_not_constraints() {
        for name in ["main", "feature/x", "release-1.0", "HEAD"] {
            assert!(Constraint::parse(name).is_none(), "{name}");
        }
    }

    #[test]
    fn versions_order_with_prereleases() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
        assert!(v("1.0.0-alpha.1") < v("1.0.0-beta"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert!(v("1.10.0") > v("1.9.0"));
        assert_eq!(v("v1.2"), v("1.2.0"));
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,30}") {
            if let Some(c) = Constraint::parse(&s) {
                let _ = c.matches(&Version::parse("1.2.3").unwrap());
            }
            let _ = Version::parse(&s);
        }
    }
}
