//! Repository URLs compared the way upstream's `git.SameURL` does, in one place for every
//! layer: the Git cache and credential lookup (`tiphys-git`), AppProject `sourceRepos`
//! (`tiphys-policy`), and anything else that asks "is this the same repository?".

/// Normalises a repository URL for equality: trimmed, lower case, scp-like SSH
/// (`git@host:org/repo`) written as `ssh://git@host/org/repo`, no trailing `/`, no `.git`.
///
/// As upstream's `NormalizeGitURL`, a URL is scp-like SSH when it has no scheme and its
/// user-info (before the last `@`) holds no `/` or `:`; only then does the first `:` become
/// the path separator. Unlike upstream, the `ssh://` prefix is kept (upstream strips it from
/// both sides of every comparison, so equality is the same) and trailing slashes are dropped.
pub fn normalize(url: &str) -> String {
    let mut u = url.trim().to_lowercase();
    if !u.contains("://")
        && let Some((user, rest)) = u.rsplit_once('@')
        && !user.contains(['/', ':'])
        && !rest.is_empty()
    {
        u = format!("ssh://{}", u.replacen(':', "/", 1));
    }
    let u = u.trim_end_matches('/');
    u.strip_suffix(".git").unwrap_or(u).to_string()
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_repository_agree() {
        let want = "https://github.com/org/repo";
        for url in [
            "https://GitHub.com/Org/Repo.git/",
            " https://github.com/org/repo ",
            "https://github.com/org/repo/",
        ] {
            assert_eq!(normalize(url), want, "{url}");
        }
        let ssh = "ssh://git@github.com/org/repo";
        for url in ["git@github.com:org/repo.git", "ssh://git@github.com/org/repo", "GIT@github.com:Org/Repo"]
        {
            assert_eq!(normalize(url), ssh, "{url}");
        }
    }

    #[test]
    fn only_user_at_host_is_scp_like() {
        // No user: not SSH by upstream's rule, left alone.
        assert_eq!(normalize("github.com:org/repo"), "github.com:org/repo");
        // Credentials in an HTTPS URL are not an scp-like user.
        assert_eq!(normalize("https://bob@git.local/r.git"), "https://bob@git.local/r");
        // A port in ssh:// stays a port.
        assert_eq!(normalize("ssh://git@host:2222/r.git"), "ssh://git@host:2222/r");
        assert_eq!(normalize("git@host:/abs/r.git"), "ssh://git@host//abs/r");
    }

    proptest! {
        #[test]
        fn letter_case_and_a_git_suffix_never_matter(
            scheme in prop::sample::select(vec!["https://", "http://", "ssh://git@", "git@"]),
            host in "[a-zA-Z0-9-]{1,8}(\\.[a-z]{2,3})?",
            path in "[a-zA-Z0-9_-]{1,8}(/[a-zA-Z0-9_-]{1,8}){0,2}",
        ) {
            let sep = if scheme == "git@" { ":" } else { "/" };
            let url = format!("{scheme}{host}{sep}{path}");
            let base = normalize(&url);
            prop_assert_eq!(normalize(&url.to_uppercase()), base.clone());
            prop_assert_eq!(normalize(&format!("{url}.git")), base.clone());
            prop_assert_eq!(normalize(&format!("{url}/")), base.clone());
            prop_assert!(base.contains("://"), "{} has a scheme", base);
        }
    }
}
