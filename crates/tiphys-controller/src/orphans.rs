//! Orphaned resources: top-level objects in an app's destination namespace that no app tracks,
//! reported as an `OrphanedResourceWarning` when the project asks
//! (`spec.orphanedResources`, with `warn` defaulting to true as upstream's `IsWarn`).

use tiphys_model::project::{AppProject, OrphanedResourceKey};
use tiphys_policy::glob;
use tiphys_resource::ResourceKey;

use crate::destinations::Destination;

/// Objects every namespace has, never reported (upstream skips them too).
fn always_there(key: &ResourceKey) -> bool {
    matches!(
        (key.group.as_str(), key.kind.as_str(), key.name.as_str()),
        ("", "ServiceAccount", "default")
            | ("", "ConfigMap", "kube-root-ca.crt")
            | ("", "Endpoints", "kubernetes")
    )
}

fn ignored(rules: &[OrphanedResourceKey], key: &ResourceKey) -> bool {
    let field = |pattern: &Option<String>, value: &str| {
        pattern.as_deref().filter(|p| !p.is_empty()).is_none_or(|p| glob::matches(p, value, None))
    };
    rules
        .iter()
        .any(|r| field(&r.group, &key.group) && field(&r.kind, &key.kind) && field(&r.name, &key.name))
}

/// Counts orphans in `namespace` of `destination`.
pub fn count(destination: &Destination, namespace: &str, ignore: &[OrphanedResourceKey]) -> usize {
    if namespace.is_empty() {
        return 0;
    }
    let index = destination.cache.index();
    index
        .iter()
        .filter(|o| o.key().namespace == namespace && o.owners().is_empty() && o.claimed_apps().is_empty())
        .filter(|o| !always_there(o.key()) && !ignored(ignore, o.key()))
        .count()
}

/// The warning for an app, when its project monitors orphans and there are some.
pub fn warning(project: &AppProject, destination: &Destination, namespace: &str) -> Option<String> {
    let settings = project.spec.orphaned_resources.as_ref()?;
    if settings.warn == Some(false) {
        return None;
    }
    let n = count(destination, namespace, settings.ignore.as_deref().unwrap_or_default());
    (n > 0).then(|| format!("Application has {n} orphaned resources"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_rules_glob_each_given_field_and_known_objects_are_skipped() {
        let rule = OrphanedResourceKey {
            kind: Some("Config*".into()),
            name: Some("keep-*".into()),
            ..Default::default()
        };
        let key = |kind: &str, name: &str| ResourceKey::new("", kind, "ns", name);
        assert!(ignored(std::slice::from_ref(&rule), &key("ConfigMap", "keep-me")));
        assert!(!ignored(std::slice::from_ref(&rule), &key("ConfigMap", "other")));
        assert!(!ignored(&[rule], &key("Secret", "keep-me")));
        assert!(always_there(&key("ServiceAccount", "default")));
        assert!(!always_there(&key("ServiceAccount", "builder")));
    }
}
