//! Which Applications a push affects, decided as upstream's webhook handler does.

use regex::Regex;
use tiphys_model::application::Application;
use tiphys_resource::annotations::MANIFEST_GENERATE_PATHS;
use tiphys_resource::gopath::{clean, glob_match, join};

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

    /// Whether the push must refresh `app`: some source names the pushed repository and
    /// follows the pushed ref, and the changed files touch the app's
    /// `manifest-generate-paths` (when annotated). For a source-hydrator app the sources are
    /// its dry source and its sync source (the dry repository at `syncSource.targetBranch`),
    /// as upstream checks both.
    pub fn affects(&self, app: &Application) -> bool {
        let mut candidates = sources(app);
        if let Some(dry) = app.spec.source_hydrator.as_ref().and_then(|h| h.dry_source.as_ref()) {
            candidates.push(SourceRef {
                repo: dry.repo_url.as_deref().unwrap_or_default(),
                revision: dry.target_revision.as_deref().unwrap_or_default(),
                path: dry.path.as_deref().unwrap_or_default(),
            });
        }
        let matched =
            candidates.iter().any(|s| self.revision_matches(s.revision) && self.repo_matches(s.repo));
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
/// is relative to the repository root, a relative one (including `.`) to each source's `path`
/// (a source-hydrator app's sync path).
/// Empty when the annotation is absent or empty (every change refreshes).
pub fn refresh_paths(app: &Application) -> Vec<String> {
    let Some(value) = app.metadata.annotations.as_ref().and_then(|a| a.get(MANIFEST_GENERATE_PATHS)) else {
        return Vec::new();
    };
    let sources = sources(app);
    let mut paths = Vec::new();
    for item in value.split(';').filter(|i| !i.is_empty()) {
        if let Some(from_root) = item.strip_prefix('/') {
            paths.push(from_root.to_string());
        } else {
            for source in &sources {
                paths.push(clean(&join(source.path, item)));
            }
        }
    }
    paths
}

/// The parts of a source the webhook looks at.
struct SourceRef<'a> {
    repo: &'a str,
    revision: &'a str,
    path: &'a str,
}

/// Upstream's `ApplicationSpec.GetSources`: for a source-hydrator app only its sync source
/// (the dry repository, `syncSource.targetBranch`, `syncSource.path`); otherwise `sources`
/// or the single `source`.
fn sources(app: &Application) -> Vec<SourceRef<'_>> {
    if let Some(hydrator) = &app.spec.source_hydrator {
        let dry = hydrator.dry_source.as_ref();
        let sync = hydrator.sync_source.as_ref();
        return vec![SourceRef {
            repo: dry.and_then(|d| d.repo_url.as_deref()).unwrap_or_default(),
            revision: sync.and_then(|s| s.target_branch.as_deref()).unwrap_or_default(),
            path: sync.and_then(|s| s.path.as_deref()).unwrap_or_default(),
        }];
    }
    app.spec
        .effective_sources()
        .into_iter()
        .map(|s| SourceRef {
            repo: s.repo_url.as_deref().unwrap_or_default(),
            revision: s.target_revision.as_deref().unwrap_or_default(),
            path: s.path.as_deref().unwrap_or_default(),
        })
        .collect()
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
