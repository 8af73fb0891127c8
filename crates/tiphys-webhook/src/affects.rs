//! Which Applications a push affects, decided as upstream's webhook handler does.

use regex::Regex;
use tiphys_model::application::Application;
use tiphys_resource::annotations::MANIFEST_GENERATE_PATHS;

use crate::parse::{PushEvent, parse_revision};

/// A push prepared for matching many Applications: the repository patterns are compiled once.
/// Build one per event and ask [`EventMatcher::affects`] for each Application.
#[derive(Debug)]
pub struct EventMatcher<'e> {
    event: &'e PushEvent,
    repos: Vec<Regex>,
}

/// A user name in a repository URL, as upstream accepts it (RFC 3986 user-info restricted to
/// what shadow's `chkname` allows), ASCII only as in Go's RE2.
const USERNAME: &str = r"[0-9A-Za-z_.][0-9A-Za-z_.-]{0,30}[0-9A-Za-z_.$-]?";

impl<'e> EventMatcher<'e> {
    /// Compiles, for every repository URL of the event, the pattern upstream builds from the
    /// payload's web URL: optional `http(s)://`/`ssh://`, optional user, optional `ssh.` or
    /// `altssh.` host prefix, the host, optional port, `:` or `/`, the path, optional `.git`,
    /// all case-insensitive. Clone URLs (with `.git`, scp-like `git@host:path`) give the
    /// same pattern as the web URL, so any of them identifies the repository.
    pub fn new(event: &'e PushEvent) -> Self {
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut repos = Vec::new();
        for url in &event.repo_urls {
            let Some((host, path)) = host_and_path(url) else { continue };
            let key = (host.to_ascii_lowercase(), path.to_ascii_lowercase());
            if seen.contains(&key) {
                continue;
            }
            let pattern = format!(
                r"(?i)^((https?|ssh)://)?({USERNAME}@)?((alt)?ssh\.)?{}(:[0-9]+)?[:/]{}(\.git)?$",
                regex::escape(&host),
                regex::escape(&path)
            );
            // Escaped literals inside a fixed pattern always compile; a failure would only
            // drop this URL form, never panic.
            if let Ok(re) = Regex::new(&pattern) {
                repos.push(re);
                seen.push(key);
            }
        }
        EventMatcher { event, repos }
    }

    /// Whether the push must refresh `app`: some source (or the source hydrator's dry source)
    /// names the pushed repository and follows the pushed ref, and the changed files touch
    /// the app's `manifest-generate-paths` (when annotated).
    pub fn affects(&self, app: &Application) -> bool {
        let mut sources: Vec<(Option<&str>, Option<&str>)> = app
            .spec
            .effective_sources()
            .into_iter()
            .map(|s| (s.repo_url.as_deref(), s.target_revision.as_deref()))
            .collect();
        if let Some(dry) = app.spec.source_hydrator.as_ref().and_then(|h| h.dry_source.as_ref()) {
            sources.push((dry.repo_url.as_deref(), dry.target_revision.as_deref()));
        }
        let matched = sources.iter().any(|(repo, target)| {
            self.revision_matches(target.unwrap_or_default()) && self.repo_matches(repo.unwrap_or_default())
        });
        matched && files_have_changed(&refresh_paths(app), &self.event.changed_files)
    }

    fn repo_matches(&self, repo_url: &str) -> bool {
        self.repos.iter().any(|re| re.is_match(repo_url))
    }

    /// Upstream's rule: `HEAD` or empty follows the default branch; `refs/heads/x` and
    /// `refs/tags/x` match a push of `x` (branch or tag alike, as upstream documents); any
    /// other value must equal the pushed name.
    fn revision_matches(&self, target: &str) -> bool {
        let short = parse_revision(target);
        if short == "HEAD" || short.is_empty() {
            return self.event.touched_head();
        }
        if target.starts_with("refs/heads/") || target.starts_with("refs/tags/") {
            return self.event.revision == short;
        }
        target == self.event.revision
    }
}

/// Whether `event` must refresh `app`. For many Applications build one [`EventMatcher`].
pub fn affects(app: &Application, event: &PushEvent) -> bool {
    EventMatcher::new(event).affects(app)
}

/// The repository paths whose changes refresh `app`, from its
/// `argocd.argoproj.io/manifest-generate-paths` annotation (`;`-separated): an absolute entry
/// is relative to the repository root, a relative one (including `.`) to each source's `path`.
/// Empty when the annotation is absent or empty (every change refreshes).
pub fn refresh_paths(app: &Application) -> Vec<String> {
    let Some(value) = app.metadata.annotations.as_ref().and_then(|a| a.get(MANIFEST_GENERATE_PATHS)) else {
        return Vec::new();
    };
    let sources = app.spec.effective_sources();
    let mut paths = Vec::new();
    for item in value.split(';').filter(|i| !i.is_empty()) {
        if let Some(from_root) = item.strip_prefix('/') {
            paths.push(from_root.to_string());
        } else {
            for source in &sources {
                paths.push(clean(&join(source.path.as_deref().unwrap_or_default(), item)));
            }
        }
    }
    paths
}

/// Upstream's `AppFilesHaveChanged`: no listed files or no refresh paths means "refresh";
/// otherwise some changed file must equal a refresh path, lie in or under it, or match it as
/// a glob (`*`, `?`, `[...]`, not crossing `/`).
fn files_have_changed(refresh_paths: &[String], changed_files: &[String]) -> bool {
    if changed_files.is_empty() || refresh_paths.is_empty() {
        return true;
    }
    changed_files.iter().any(|file| {
        let file = absolute(file);
        refresh_paths.iter().any(|item| {
            let item = absolute(item);
            file == item || dir_is_under(&item, &file) || glob_match(&item, &file)
        })
    })
}

fn absolute(path: &str) -> String {
    if path.starts_with('/') { path.to_string() } else { format!("/{path}") }
}

/// Whether the directory of `file` is `root` or below it (upstream's
/// `EnforceToCurrentRoot`). A root of `/` (from `.` at the repository root) covers all.
fn dir_is_under(root: &str, file: &str) -> bool {
    let root = clean(root);
    let dir = clean(file.rsplit_once('/').map_or(".", |(d, _)| if d.is_empty() { "/" } else { d }));
    if root == "/" || root == dir {
        return true;
    }
    let with_slash = |s: String| if s.ends_with('/') { s } else { s + "/" };
    with_slash(dir).starts_with(&with_slash(root))
}

/// Go's `path.Join` for two elements: empty elements are skipped, the result is cleaned.
fn join(base: &str, item: &str) -> String {
    match (base.is_empty(), item.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(item),
        (false, true) => clean(base),
        (false, false) => clean(&format!("{base}/{item}")),
    }
}

/// Go's lexical `path.Clean`: collapse `//`, drop `.`, resolve `..` (not above a leading `/`).
fn clean(path: &str) -> String {
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
fn glob_match(pattern: &str, name: &str) -> bool {
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

/// Host and path (no leading `/`, no trailing `/` or `.git`) of a repository URL in any of the
/// forms a payload uses: `https://host[:port]/path`, `ssh://user@host[:port]/path` or
/// scp-like `user@host:path`.
fn host_and_path(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split_once(']')?.0,
            None => host_port.split(':').next().unwrap_or_default(),
        };
        (host, path)
    } else {
        let (user_host, path) = url.split_once(':')?;
        if user_host.contains('/') {
            return None;
        }
        (user_host.rsplit_once('@').map_or(user_host, |(_, h)| h), path.trim_start_matches('/'))
    };
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some((host.to_string(), path.to_string()))
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
    }

    #[test]
    fn directories_cover_their_files() {
        assert!(dir_is_under("/guestbook", "/guestbook/deploy.yaml"));
        assert!(dir_is_under("/guestbook", "/guestbook/sub/deploy.yaml"));
        assert!(!dir_is_under("/guestbook", "/guestbook-other/deploy.yaml"));
        assert!(dir_is_under("/.", "/anything/at/all.yaml"));
        assert!(!dir_is_under("/guestbook/values.yaml", "/guestbook/other.yaml"));
    }

    #[test]
    fn host_and_path_reads_every_url_form() {
        let want = Some(("github.com".to_string(), "org/repo".to_string()));
        assert_eq!(host_and_path("https://github.com/org/repo"), want);
        assert_eq!(host_and_path("https://github.com/org/repo.git"), want);
        assert_eq!(host_and_path("git@github.com:org/repo.git"), want);
        assert_eq!(host_and_path("ssh://git@github.com:22/org/repo.git"), want);
        assert_eq!(host_and_path("git://github.com/org/repo.git"), want);
        assert_eq!(host_and_path("https://github.com"), None);
        assert_eq!(host_and_path("not a url"), None);
    }
}
