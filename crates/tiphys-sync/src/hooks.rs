//! Hooks and waves as users annotate them: `argocd.argoproj.io/hook`,
//! `argocd.argoproj.io/hook-delete-policy`, `argocd.argoproj.io/sync-wave`, and Helm's
//! `helm.sh/hook*` annotations, which upstream maps onto Argo's (`pre-install`/`pre-upgrade`
//! → PreSync, `post-install`/`post-upgrade` → PostSync, `helm.sh/hook-weight` → wave;
//! the Argo annotation wins when both are present).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tiphys_resource::annotations::{
    HELM_HOOK, HELM_HOOK_DELETE_POLICY, HELM_HOOK_WEIGHT, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE,
};

/// A hook type from the `argocd.argoproj.io/hook` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookType {
    /// Before the Sync phase.
    PreSync,
    /// With the normal resources.
    Sync,
    /// After the Sync phase is healthy.
    PostSync,
    /// Only when the operation fails.
    SyncFail,
    /// Before the Application's resources are deleted.
    PreDelete,
    /// After the Application's resources are deleted.
    PostDelete,
    /// Never applied.
    Skip,
}

impl HookType {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "PreSync" => Self::PreSync,
            "Sync" => Self::Sync,
            "PostSync" => Self::PostSync,
            "SyncFail" => Self::SyncFail,
            "PreDelete" => Self::PreDelete,
            "PostDelete" => Self::PostDelete,
            "Skip" => Self::Skip,
            _ => return None,
        })
    }

    fn from_helm(text: &str) -> Option<Self> {
        Some(match text {
            "pre-install" | "pre-upgrade" => Self::PreSync,
            "post-install" | "post-upgrade" => Self::PostSync,
            "pre-delete" => Self::PreDelete,
            "post-delete" => Self::PostDelete,
            _ => return None,
        })
    }
}

/// When a hook object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookDeletePolicy {
    /// After it succeeded.
    HookSucceeded,
    /// After it failed.
    HookFailed,
    /// Before a new one is created (the default).
    BeforeHookCreation,
}

impl HookDeletePolicy {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "HookSucceeded" | "hook-succeeded" => Self::HookSucceeded,
            "HookFailed" | "hook-failed" => Self::HookFailed,
            "BeforeHookCreation" | "before-hook-creation" => Self::BeforeHookCreation,
            _ => return None,
        })
    }
}

/// An object's annotations, looked up once: planning reads several per object.
#[derive(Debug, Clone, Copy)]
pub struct Annotations<'a>(Option<&'a Map<String, Value>>);

impl<'a> Annotations<'a> {
    /// The annotations of `obj` (none when absent or malformed).
    pub fn of(obj: &'a Value) -> Self {
        Self(obj.get("metadata").and_then(|m| m.get("annotations")).and_then(Value::as_object))
    }

    /// One annotation's string value.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0?.get(name)?.as_str()
    }

    fn has(&self, name: &str) -> bool {
        self.0.is_some_and(|m| m.contains_key(name))
    }

    /// The trimmed, non-empty values of a comma-separated annotation.
    pub fn csv(&self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        self.get(name).unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty())
    }

    /// Hook types: Argo's annotation, or Helm's when Argo's names none.
    pub fn hook_types(&self) -> Vec<HookType> {
        let mut types: Vec<HookType> = self.csv(HOOK).filter_map(HookType::parse).collect();
        if types.is_empty() {
            types = self.csv(HELM_HOOK).filter_map(HookType::from_helm).collect();
        }
        types.dedup();
        types
    }

    /// `Skip` alone: the object is never applied.
    pub fn is_skip(&self) -> bool {
        let types = self.hook_types();
        types.contains(&HookType::Skip) && types.len() == 1
    }

    /// Whether the object is a hook (created fresh by each sync, never part of the app's status).
    pub fn is_hook(&self) -> bool {
        if self.has(HOOK) {
            return !self.is_skip();
        }
        self.csv(HELM_HOOK).any(|t| HookType::from_helm(t).is_some())
    }

    /// Delete policies of a hook; `BeforeHookCreation` when none is given.
    pub fn delete_policies(&self) -> Vec<HookDeletePolicy> {
        let mut out: Vec<HookDeletePolicy> = self
            .csv(HOOK_DELETE_POLICY)
            .chain(self.csv(HELM_HOOK_DELETE_POLICY))
            .filter_map(HookDeletePolicy::parse)
            .collect();
        if out.is_empty() {
            out.push(HookDeletePolicy::BeforeHookCreation);
        }
        out.sort();
        out.dedup();
        out
    }

    /// The sync wave: `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, else 0. An
    /// unparsable value counts as absent, as upstream's `strconv.Atoi` failure does.
    pub fn wave(&self) -> i32 {
        let read = |name: &str| self.get(name)?.trim().parse::<i32>().ok();
        read(SYNC_WAVE).or_else(|| read(HELM_HOOK_WEIGHT)).unwrap_or(0)
    }
}

/// Hook types of an object (see [`Annotations::hook_types`]).
pub fn hook_types(obj: &Value) -> Vec<HookType> {
    Annotations::of(obj).hook_types()
}

/// `Skip` alone (see [`Annotations::is_skip`]).
pub fn is_skip(obj: &Value) -> bool {
    Annotations::of(obj).is_skip()
}

/// Whether the object is a hook (see [`Annotations::is_hook`]).
pub fn is_hook(obj: &Value) -> bool {
    Annotations::of(obj).is_hook()
}

/// Delete policies of a hook (see [`Annotations::delete_policies`]).
pub fn delete_policies(obj: &Value) -> Vec<HookDeletePolicy> {
    Annotations::of(obj).delete_policies()
}

/// The sync wave (see [`Annotations::wave`]).
pub fn wave(obj: &Value) -> i32 {
    Annotations::of(obj).wave()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ann(pairs: &[(&str, &str)]) -> Value {
        let a: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        json!({"metadata": {"name": "x", "annotations": a}})
    }

    #[test]
    fn argo_hooks_and_csv() {
        assert_eq!(
            hook_types(&ann(&[(HOOK, "PreSync, PostSync")])),
            vec![HookType::PreSync, HookType::PostSync]
        );
        assert!(is_hook(&ann(&[(HOOK, "PreSync")])));
        assert!(!is_hook(&ann(&[])));
        assert!(
            is_hook(&ann(&[(HOOK, "Bogus")])),
            "an Argo hook annotation with unknown types is still a hook (upstream)"
        );
    }

    #[test]
    fn skip_alone_is_not_a_hook() {
        assert!(is_skip(&ann(&[(HOOK, "Skip")])));
        assert!(!is_hook(&ann(&[(HOOK, "Skip")])));
        assert!(!is_skip(&ann(&[(HOOK, "Skip,PreSync")])));
    }

    #[test]
    fn helm_hooks_map_to_argo_and_argo_wins() {
        assert_eq!(hook_types(&ann(&[(HELM_HOOK, "pre-install,pre-upgrade")])), vec![HookType::PreSync]);
        assert_eq!(hook_types(&ann(&[(HELM_HOOK, "post-upgrade")])), vec![HookType::PostSync]);
        assert_eq!(hook_types(&ann(&[(HELM_HOOK, "post-delete")])), vec![HookType::PostDelete]);
        assert!(!is_hook(&ann(&[(HELM_HOOK, "crd-install")])), "crd-install is not a hook");
        assert!(!is_hook(&ann(&[(HELM_HOOK, "test")])));
        assert_eq!(
            hook_types(&ann(&[(HELM_HOOK, "pre-install"), (HOOK, "PostSync")])),
            vec![HookType::PostSync]
        );
    }

    #[test]
    fn delete_policies_default_and_helm() {
        assert_eq!(delete_policies(&ann(&[])), vec![HookDeletePolicy::BeforeHookCreation]);
        assert_eq!(
            delete_policies(&ann(&[(HOOK_DELETE_POLICY, "HookSucceeded,BeforeHookCreation")])),
            vec![HookDeletePolicy::HookSucceeded, HookDeletePolicy::BeforeHookCreation]
        );
        assert_eq!(
            delete_policies(&ann(&[(HELM_HOOK_DELETE_POLICY, "hook-failed")])),
            vec![HookDeletePolicy::HookFailed]
        );
    }

    #[test]
    fn waves() {
        assert_eq!(wave(&ann(&[(SYNC_WAVE, "-1")])), -1);
        assert_eq!(wave(&ann(&[(SYNC_WAVE, "x"), (HELM_HOOK_WEIGHT, "5")])), 5);
        assert_eq!(wave(&ann(&[(SYNC_WAVE, "3"), (HELM_HOOK_WEIGHT, "5")])), 3);
        assert_eq!(wave(&ann(&[])), 0);
        assert_eq!(wave(&json!({"metadata": null})), 0);
    }
}
