//! Glob patterns with the syntax Argo CD users write in projects and sync windows
//! (gobwas/glob as upstream uses it): `*` (any run of characters, or — when a separator is
//! given — any run not crossing it), `**` (any run, separators included), `?`, character
//! classes `[abc]`, `[a-z]`, `[!abc]`, alternatives `{a,b}` and `\` escapes.
//!
//! A malformed pattern matches nothing rather than erroring, as upstream's `glob.Match` does.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    Any,
    AnyDeep,
    One,
    Class { negated: bool, ranges: Vec<(char, char)> },
    Alternatives(Vec<Vec<Token>>),
}

fn parse(pattern: &[char], inside_alternative: bool) -> Option<(Vec<Token>, usize)> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        let c = pattern[i];
        match c {
            '*' if pattern.get(i + 1) == Some(&'*') => {
                tokens.push(Token::AnyDeep);
                i += 2;
                continue;
            }
            '*' => tokens.push(Token::Any),
            '?' => tokens.push(Token::One),
            '\\' => {
                i += 1;
                tokens.push(Token::Literal(*pattern.get(i)?));
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(pattern.get(j), Some('!') | Some('^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                while *pattern.get(j)? != ']' {
                    let lo = pattern[j];
                    if pattern.get(j + 1) == Some(&'-') && pattern.get(j + 2).is_some_and(|c| *c != ']') {
                        ranges.push((lo, pattern[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((lo, lo));
                        j += 1;
                    }
                }
                tokens.push(Token::Class { negated, ranges });
                i = j;
            }
            '{' => {
                let mut alternatives = Vec::new();
                let mut j = i + 1;
                loop {
                    let (alt, used) = parse(&pattern[j..], true)?;
                    alternatives.push(alt);
                    j += used;
                    match pattern.get(j)? {
                        ',' => j += 1,
                        '}' => break,
                        _ => return None,
                    }
                }
                tokens.push(Token::Alternatives(alternatives));
                i = j;
            }
            ',' | '}' if inside_alternative => return Some((tokens, i)),
            _ => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    if inside_alternative { None } else { Some((tokens, i)) }
}

fn matches_tokens(tokens: &[Token], text: &[char], separator: Option<char>) -> bool {
    let Some((first, rest)) = tokens.split_first() else { return text.is_empty() };
    match first {
        Token::Literal(c) => text.first() == Some(c) && matches_tokens(rest, &text[1..], separator),
        Token::One => {
            text.first().is_some_and(|c| Some(*c) != separator) && matches_tokens(rest, &text[1..], separator)
        }
        Token::Class { negated, ranges } => {
            text.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated && Some(*c) != separator
            }) && matches_tokens(rest, &text[1..], separator)
        }
        Token::Any | Token::AnyDeep => {
            let crosses = matches!(first, Token::AnyDeep) || separator.is_none();
            for skip in 0..=text.len() {
                if matches_tokens(rest, &text[skip..], separator) {
                    return true;
                }
                if skip < text.len() && !crosses && Some(text[skip]) == separator {
                    return false;
                }
            }
            false
        }
        Token::Alternatives(alts) => alts.iter().any(|alt| {
            let mut joined = alt.clone();
            joined.extend_from_slice(rest);
            matches_tokens(&joined, text, separator)
        }),
    }
}

/// Whether `text` matches `pattern`; with `separator`, `*` and `?` do not cross it.
pub fn matches(pattern: &str, text: &str, separator: Option<char>) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    match parse(&chars, false) {
        Some((tokens, _)) => matches_tokens(&tokens, &text.chars().collect::<Vec<_>>(), separator),
        None => false,
    }
}

/// Upstream's project matching: `*` alone matches everything; with `allow_negation`, a
/// pattern `!p` matches what `p` does not.
pub fn matches_with_negation(
    pattern: &str,
    text: &str,
    allow_negation: bool,
    separator: Option<char>,
) -> bool {
    if allow_negation && let Some(inner) = pattern.strip_prefix('!') {
        return !matches(inner, text, separator);
    }
    pattern == "*" || matches(pattern, text, separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("team-*", "team-a", None));
        assert!(matches("*", "", None));
        assert!(matches("a?c", "abc", None));
        assert!(!matches("a?c", "ac", None));
        assert!(matches("https://github.com/org/*", "https://github.com/org/repo", Some('/')));
        assert!(!matches("https://github.com/org/*", "https://github.com/org/sub/repo", Some('/')));
        assert!(matches("https://github.com/org/**", "https://github.com/org/sub/repo", Some('/')));
        assert!(matches("*", "a/b", None));
    }

    #[test]
    fn classes_alternatives_and_escapes() {
        assert!(matches("prod-[0-9]", "prod-7", None));
        assert!(!matches("prod-[!0-9]", "prod-7", None));
        assert!(matches("{dev,staging}-*", "staging-eu", None));
        assert!(!matches("{dev,staging}-*", "prod-eu", None));
        assert!(matches("a\\*b", "a*b", None));
        assert!(!matches("a\\*b", "axb", None));
    }

    #[test]
    fn malformed_patterns_match_nothing() {
        for bad in ["[abc", "{a,b", "a\\"] {
            assert!(!matches(bad, "a", None), "{bad}");
        }
    }

    #[test]
    fn negation() {
        assert!(matches_with_negation("!kube-system", "default", true, None));
        assert!(!matches_with_negation("!kube-system", "kube-system", true, None));
        assert!(!matches_with_negation("!kube-system", "default", false, None));
    }
}
