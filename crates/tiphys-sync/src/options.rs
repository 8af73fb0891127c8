//! Sync options: app-level (`spec.syncPolicy.syncOptions`, plus the operation's own) and
//! per-resource (`argocd.argoproj.io/sync-options` annotation, comma separated). A resource's
//! annotation overrides the app-level value of the same option.

use serde_json::Value;
use tiphys_resource::annotations::SYNC_OPTIONS;

use crate::hooks::Annotations;

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

    /// The options as they apply to one object; reads its annotation once.
    pub fn view<'a>(&'a self, obj: Option<&'a Value>) -> ObjectOptions<'a> {
        self.view_of(obj.map(Annotations::of))
    }

    /// The options for an object whose annotations were already looked up.
    pub fn view_of<'a>(&'a self, annotations: Option<Annotations<'a>>) -> ObjectOptions<'a> {
        ObjectOptions { annotation: annotations.and_then(|a| a.get(SYNC_OPTIONS)), app: self }
    }

    /// The value for one object: its annotation first, then the app level.
    pub fn for_object<'a>(&'a self, obj: Option<&'a Value>, name: &str) -> Option<&'a str> {
        self.view(obj).get(name)
    }

    /// Whether an option is `true` for this object.
    pub fn is_true(&self, obj: Option<&Value>, name: &str) -> bool {
        self.view(obj).is_true(name)
    }
}

/// The sync options of one object (annotation over app level).
#[derive(Debug, Clone, Copy)]
pub struct ObjectOptions<'a> {
    annotation: Option<&'a str>,
    app: &'a AppSyncOptions,
}

impl<'a> ObjectOptions<'a> {
    /// The value of an option.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.annotation
            .and_then(|a| lookup(a.split(',').map(str::trim).filter(|s| !s.is_empty()), name))
            .or_else(|| self.app.get(name))
    }

    /// Whether an option is `true` (case-insensitive).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Whether an option is `false` (case-insensitive).
    pub fn is_false(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.eq_ignore_ascii_case("false"))
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
