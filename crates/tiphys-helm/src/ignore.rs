//! `.helmignore`: which files of a chart directory Helm leaves out.
//!
//! Semantics follow Helm's ignore package: one shell-glob pattern per line, `#` comments,
//! `!` negates, a trailing `/` matches directories only, a pattern with a `/` matches the
//! whole relative path and one without matches the base name; `**` is rejected. Helm always
//! ignores hidden files under `templates/`.

use crate::Error;

#[derive(Debug, Clone)]
struct Pattern {
    glob: String,
    negate: bool,
    must_dir: bool,
    whole_path: bool,
}

/// Parsed `.helmignore` rules plus Helm's defaults.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl Default for IgnoreRules {
    fn default() -> Self {
        let mut rules = IgnoreRules { patterns: Vec::new() };
        rules.add_defaults();
        rules
    }
}

impl IgnoreRules {
    /// Parses the text of a `.helmignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, Error> {
        let mut rules = IgnoreRules { patterns: Vec::new() };
        for line in text.lines() {
            let rule = line.trim();
            if rule.is_empty() || rule.starts_with('#') {
                continue;
            }
            if rule.contains("**") {
                return Err(Error::Load {
                    file: ".helmignore".into(),
                    message: "double-star (**) syntax is not supported".into(),
                });
            }
            rules.patterns.push(parse_rule(rule));
        }
        rules.add_defaults();
        Ok(rules)
    }

    fn add_defaults(&mut self) {
        self.patterns.push(parse_rule("templates/.?*"));
    }

    /// Whether a file (or any directory above it) is ignored.
    pub fn ignores_file(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..parts.len() {
            if self.ignores(&parts[..i].join("/"), true) {
                return true;
            }
        }
        self.ignores(path, false)
    }

    fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let target = if p.whole_path { path } else { path.rsplit('/').next().unwrap_or(path) };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !glob_match(&p.glob, target) {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if glob_match(&p.glob, target) {
                return true;
            }
        }
        false
    }
}

fn parse_rule(rule: &str) -> Pattern {
    let (negate, rest) = match rule.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, rule),
    };
    let (must_dir, rest) = match rest.strip_suffix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (anchored, rest) = match rest.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    Pattern { glob: rest.to_string(), negate, must_dir, whole_path: anchored || rest.contains('/') }
}

/// Go's `filepath.Match` on `/`-separated paths: `*` and `?` never cross `/`, `[...]` classes
/// with ranges and `^`/`!` negation, `\` escapes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let Some((&first, rest)) = p.split_first() else {
        return n.is_empty();
    };
    match first {
        '*' => {
            for i in 0..=n.len() {
                if match_from(rest, &n[i..]) {
                    return true;
                }
                if i < n.len() && n[i] == '/' {
                    break;
                }
            }
            false
        }
        '?' => matches!(n.first(), Some(c) if *c != '/') && match_from(rest, &n[1..]),
        '[' => {
            let Some((&c, after)) = n.split_first() else { return false };
            match class_match(rest, c) {
                Some((true, consumed)) => match_from(&rest[consumed..], after),
                _ => false,
            }
        }
        '\\' => match rest.split_first() {
            Some((&esc, rest2)) => n.first() == Some(&esc) && match_from(rest2, &n[1..]),
            None => false,
        },
        c => n.first() == Some(&c) && match_from(rest, &n[1..]),
    }
}

/// Matches `c` against a class body (after `[`); returns whether it matched and how many
/// pattern chars the class used (including the closing `]`).
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let mut lo = p[i];
        if lo == '\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        let mut hi = lo;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|c| *c != ']') {
            hi = p[i + 2];
            if hi == '\\' {
                hi = *p.get(i + 3)?;
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi && c != '/' {
            matched = true;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_go_filepath_match() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "d/a.txt"));
        assert!(glob_match("d/*.txt", "d/a.txt"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[^a-c]x", "bx"));
        assert!(glob_match("templates/.?*", "templates/.hidden"));
        assert!(!glob_match("templates/.?*", "templates/."));
    }

    #[test]
    fn helmignore_rules() {
        let rules = IgnoreRules::parse("# c\n*.bak\nsecret/\n/top.txt\n").unwrap_or_default();
        assert!(rules.ignores_file("x/other.bak"));
        assert!(rules.ignores_file("secret/a.yaml"));
        assert!(rules.ignores_file("top.txt"));
        assert!(!rules.ignores_file("x/top.txt"));
        assert!(rules.ignores_file("templates/.swp"));
        assert!(!rules.ignores_file("templates/a.yaml"));
    }

    #[test]
    fn negation_ignores_everything_else_like_helm() {
        let rules = IgnoreRules::parse("!keep.txt\n").unwrap_or_default();
        assert!(!rules.ignores_file("keep.txt"));
        assert!(rules.ignores_file("other.txt"));
    }

    #[test]
    fn double_star_is_rejected() {
        assert!(IgnoreRules::parse("**/x").is_err());
    }
}
