//! Sync options: app-level (`spec.syncPolicy.syncOptions`, plus the operation's own) and
//! per-resource (`argocd.argoproj.io/sync-options` annotation, comma separated). A resource's
//! annotation overrides the app-level value of the same option.

use serde_json::Value;
use tiphys_resource::annotations::SYNC_OPTIONS;

use crate::hooks::annotation_csv;

/// App-level options as `Name=value` strings, exactly as users list them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSyncOptions(pub Vec<String>);

fn lookup<'a>(options: impl Iterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    let mut found = None;
    for opt in options {
        if let Some((k, v)) = opt.split_once('=')
            && k.trim() == name
        {
            found = Some(v.trim());
        }
    }
    found
}

impl AppSyncOptions {
    /// The app-level value of an option.
    pub fn get(&self, name: &str) -> Option<&str> {
        lookup(self.0.iter().map(String::as_str), name)
    }

    /// The value for one object: its annotation first, then the app level.
    pub fn for_object<'a>(&'a self, obj: Option<&'a Value>, name: &str) -> Option<&'a str> {
        obj.and_then(|o| lookup(annotation_csv(o, SYNC_OPTIONS), name)).or_else(|| self.get(name))
    }

    /// Whether an option is `true` for this object.
    pub fn is_true(&self, obj: Option<&Value>, name: &str) -> bool {
        self.for_object(obj, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resource_annotation_overrides_app_level() {
        let app = AppSyncOptions(vec!["ServerSideApply=true".into(), "PruneLast=true".into()]);
        let obj = json!({"metadata": {"annotations": {SYNC_OPTIONS: "ServerSideApply=false, Replace=true"}}});
        assert!(!app.is_true(Some(&obj), "ServerSideApply"));
        assert!(app.is_true(Some(&obj), "Replace"));
        assert!(app.is_true(Some(&obj), "PruneLast"));
        assert!(app.is_true(None, "ServerSideApply"));
        assert_eq!(app.for_object(None, "Missing"), None);
    }
}
