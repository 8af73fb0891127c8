//! `targetRevision` → commit, from the refs `ls-remote` returned, as upstream resolves it.

use crate::semver::{Constraint, Version};

/// What a revision resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A full commit SHA.
    Commit(String),
    /// A hex prefix that matched no ref: a short commit SHA the fetched repository must
    /// expand.
    ShortSha(String),
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Resolves `revision` against `refs` (full ref name → SHA, as `git ls-remote` prints them,
/// including peeled `^{}` entries). Empty means `HEAD`; a 40-hex string is taken as is; a
/// semver constraint (not a plain version) picks the highest matching tag; otherwise a ref
/// name (full, or short with tags before branches); otherwise a 4–39 hex prefix is a short
/// SHA. Returns the reason when nothing matches.
pub fn resolve_revision(refs: &[(String, String)], revision: &str) -> Result<Resolved, String> {
    let revision = if revision.is_empty() { "HEAD" } else { revision };
    if revision.len() == 40 && is_hex(revision) {
        return Ok(Resolved::Commit(revision.to_lowercase()));
    }
    let peeled = |name: &str| {
        refs.iter()
            .find(|(r, _)| r.strip_suffix("^{}") == Some(name))
            .or_else(|| refs.iter().find(|(r, _)| r == name))
            .map(|(_, sha)| sha.clone())
    };
    if Version::parse(revision).is_none()
        && let Some(constraint) = Constraint::parse(revision)
    {
        let best = refs
            .iter()
            .filter_map(|(r, _)| r.strip_prefix("refs/tags/").filter(|t| !t.ends_with("^{}")))
            .filter_map(|tag| Version::parse(tag).map(|v| (v, tag)))
            .filter(|(v, _)| constraint.matches(v))
            .max_by(|a, b| a.0.cmp(&b.0));
        return match best {
            Some((_, tag)) => peeled(&format!("refs/tags/{tag}"))
                .map(Resolved::Commit)
                .ok_or_else(|| format!("tag {tag} vanished")),
            None => Err(format!("no tag satisfies the semver constraint {revision:?}")),
        };
    }
    let candidates =
        [revision.to_string(), format!("refs/tags/{revision}"), format!("refs/heads/{revision}")];
    if let Some(sha) = candidates.iter().find_map(|c| peeled(c)) {
        return Ok(Resolved::Commit(sha));
    }
    if (4..40).contains(&revision.len()) && is_hex(revision) {
        return Ok(Resolved::ShortSha(revision.to_lowercase()));
    }
    Err("it is not a branch, tag, commit SHA or semver constraint of this repository".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs() -> Vec<(String, String)> {
        [
            ("HEAD", "a".repeat(40)),
            ("refs/heads/main", "a".repeat(40)),
            ("refs/heads/dev", "b".repeat(40)),
            ("refs/heads/v2.0.0", "9".repeat(40)),
            ("refs/tags/v1.2.0", "c".repeat(40)),
            ("refs/tags/v1.2.3", "d".repeat(40)),
            ("refs/tags/v1.2.3^{}", "e".repeat(40)),
            ("refs/tags/v1.3.0-rc.1", "f".repeat(40)),
            ("refs/tags/v2.0.0", "1".repeat(40)),
            ("refs/tags/not-a-version", "2".repeat(40)),
        ]
        .into_iter()
        .map(|(r, s)| (r.to_string(), s))
        .collect()
    }

    fn commit(c: char) -> Result<Resolved, String> {
        Ok(Resolved::Commit(c.to_string().repeat(40)))
    }

    #[test]
    fn branches_tags_head_and_shas() {
        let r = refs();
        assert_eq!(resolve_revision(&r, ""), commit('a'));
        assert_eq!(resolve_revision(&r, "HEAD"), commit('a'));
        assert_eq!(resolve_revision(&r, "dev"), commit('b'));
        assert_eq!(resolve_revision(&r, "refs/heads/dev"), commit('b'));
        assert_eq!(
            resolve_revision(&r, "v1.2.3"),
            commit('e'),
            "annotated tags resolve to the peeled commit"
        );
        assert_eq!(resolve_revision(&r, "v2.0.0"), commit('1'), "a tag wins over a branch of the same name");
        assert_eq!(resolve_revision(&r, &"F".repeat(40)), commit('f'));
        assert_eq!(resolve_revision(&r, "abc1234"), Ok(Resolved::ShortSha("abc1234".into())));
        assert!(resolve_revision(&r, "nope").is_err());
    }

    #[test]
    fn semver_constraints_pick_the_highest_matching_tag() {
        let r = refs();
        assert_eq!(resolve_revision(&r, "1.2.*"), commit('e'));
        assert_eq!(resolve_revision(&r, ">=1.0 <2.0"), commit('e'), "pre-release 1.3.0-rc.1 is skipped");
        assert_eq!(resolve_revision(&r, "~1.2.0"), commit('e'));
        assert_eq!(resolve_revision(&r, "<1.2.3"), commit('c'));
        assert_eq!(resolve_revision(&r, "*"), commit('1'));
        assert!(resolve_revision(&r, ">=3.0").unwrap_err().contains("no tag satisfies"));
    }
}
