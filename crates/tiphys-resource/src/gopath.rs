//! Go's `path` rules on `/`-separated paths (`Clean`, `Join`, `filepath.Match`), which the file
//! rules users write for Argo CD and Helm are defined against: `.helmignore` patterns, Sprig's
//! path functions, `manifest-generate-paths`. One implementation so they agree.

/// Go's `path.Join` for two elements: empty elements are skipped, the result is cleaned.
pub fn join(base: &str, item: &str) -> String {
    match (base.is_empty(), item.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(item),
        (false, true) => clean(base),
        (false, false) => clean(&format!("{base}/{item}")),
    }
}

/// Go's lexical `path.Clean`: collapse `//`, drop `.`, resolve `..` (not above a leading `/`).
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Match` on `/`-separated paths: `*` matches any run of non-`/` characters,
/// `?` one non-`/` character, `[...]` a class (`^` negates, `a-z` ranges, `\` escapes). A
/// malformed pattern matches nothing, as upstream ignores the error.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut pattern, mut name) = (pattern.as_slice(), name.as_slice());
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return !name.contains(&'/');
        }
        match match_chunk(chunk, name) {
            Err(()) => return false,
            Ok(Some(after)) if after.is_empty() || !pattern.is_empty() => {
                name = after;
                continue;
            }
            Ok(_) => {}
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != '/' {
                match match_chunk(chunk, &name[i + 1..]) {
                    Err(()) => return false,
                    Ok(Some(after)) if pattern.is_empty() && !after.is_empty() => {}
                    Ok(Some(after)) => {
                        name = after;
                        continue 'chunks;
                    }
                    Ok(None) => {}
                }
                i += 1;
            }
        }
        return false;
    }
    name.is_empty()
}

/// Splits off leading stars and the literal/class chunk up to the next unbracketed `*`.
fn scan_chunk(pattern: &[char]) -> (bool, &[char], &[char]) {
    let mut start = 0;
    while start < pattern.len() && pattern[start] == '*' {
        start += 1;
    }
    let pattern = &pattern[start..];
    let (mut i, mut in_class) = (0, false);
    while i < pattern.len() {
        match pattern[i] {
            '\\' => i += 1,
            '[' => in_class = true,
            ']' => in_class = false,
            '*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    let i = i.min(pattern.len());
    (start > 0, &pattern[..i], &pattern[i..])
}

/// Matches one chunk at the start of `name`: `Ok(Some(rest))` on a match, `Ok(None)` on a
/// mismatch, `Err(())` for a malformed pattern.
fn match_chunk<'n>(chunk: &[char], mut name: &'n [char]) -> Result<Option<&'n [char]>, ()> {
    let mut chunk = chunk;
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && name.is_empty() {
            failed = true;
        }
        match c {
            '[' => {
                let r = name.first().copied();
                if !failed {
                    name = &name[1..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&'-') {
                        let (h, rest) = class_char(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if r.is_some_and(|r| lo <= r && r <= hi) {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    if name[0] == '/' {
                        failed = true;
                    }
                    name = &name[1..];
                }
                chunk = &chunk[1..];
            }
            '\\' => {
                chunk = &chunk[1..];
                let Some(&literal) = chunk.first() else { return Err(()) };
                if !failed {
                    if name[0] != literal {
                        failed = true;
                    }
                    name = &name[1..];
                }
                chunk = &chunk[1..];
            }
            literal => {
                if !failed {
                    if name[0] != literal {
                        failed = true;
                    }
                    name = &name[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(name) })
}

/// One (possibly escaped) character of a class; a class may not end or hold a bare `-`/`]`.
fn class_char(chunk: &[char]) -> Result<(char, &[char]), ()> {
    match chunk {
        [] | ['-' | ']', ..] => Err(()),
        ['\\', c, rest @ ..] => Ok((*c, rest)),
        ['\\'] => Err(()),
        [c, rest @ ..] => Ok((*c, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_and_join_follow_go() {
        assert_eq!(clean("a/./b/../c//d/"), "a/c/d");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(join("", "."), ".");
        assert_eq!(join("guestbook", "."), "guestbook");
        assert_eq!(join("apps/web", "../shared"), "apps/shared");
    }

    #[test]
    fn go_glob_semantics() {
        assert!(glob_match("/apps/*.yaml", "/apps/deploy.yaml"));
        assert!(!glob_match("/apps/*.yaml", "/apps/sub/deploy.yaml"));
        assert!(glob_match("/apps/*/values.yaml", "/apps/web/values.yaml"));
        assert!(glob_match("/a?c", "/abc"));
        assert!(!glob_match("/a?c", "/a/c"));
        assert!(glob_match("/v[0-9]", "/v7"));
        assert!(!glob_match("/v[^0-9]", "/v7"));
        assert!(glob_match("/a\\*b", "/a*b"));
        assert!(!glob_match("/a[", "/a["), "a malformed class matches nothing");
        assert!(glob_match("/*", "/x"));
        assert!(!glob_match("/*", "/x/y"));
        assert!(glob_match("templates/.?*", "templates/.hidden"));
        assert!(!glob_match("templates/.?*", "templates/."));
        assert!(glob_match("*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
        assert!(!glob_match("*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }

    proptest::proptest! {
        #[test]
        fn glob_match_never_panics(pattern in "[a-c/*?\\[\\]^!\\\\-]{0,12}", name in "[a-c/.\\]\\[-]{0,12}") {
            let _ = glob_match(&pattern, &name);
            let _ = clean(&join(&pattern, &name));
        }
    }
}
