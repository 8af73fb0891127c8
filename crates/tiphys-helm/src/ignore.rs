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

/// Go's `filepath.Match` on `/`-separated paths, as Helm matches `.helmignore` patterns.
pub use tiphys_resource::gopath::glob_match;

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
