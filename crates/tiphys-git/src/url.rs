//! Repository URLs: normalised for cache keys and credential matching, redacted for messages.

/// Repository URL normalisation for cache keys and credential matching; the rule lives in
/// `tiphys-resource` so policy and webhook code compare URLs the same way.
pub use tiphys_resource::repo_url::normalize;

/// The URL with any password in its user-info replaced by `***`, for logs and errors.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_string() };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let sep = if path.is_empty() && !rest.contains('/') { "" } else { "/" };
    if userinfo.contains(':') {
        format!("{scheme}://{user}:***@{host}{sep}{path}")
    } else {
        format!("{scheme}://{user}@{host}{sep}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_upstream() {
        assert_eq!(normalize("https://GitHub.com/Org/Repo.git/"), "https://github.com/org/repo");
        assert_eq!(normalize("git@github.com:org/repo.git"), "ssh://git@github.com/org/repo");
        assert_eq!(normalize("ssh://git@github.com/org/repo"), "ssh://git@github.com/org/repo");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("https://bob:hunter2@git.local/r.git"), "https://bob:***@git.local/r.git");
        assert_eq!(redact("https://git.local/r.git"), "https://git.local/r.git");
        assert_eq!(redact("ssh://git@host/r"), "ssh://git@host/r");
    }
}
