//! Identities of Kubernetes objects, independent of any client library.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a JSON value could not be identified (or marked for tracking) as a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// `apiVersion` is absent or not a string.
    #[error("the object has no apiVersion: add e.g. `apiVersion: v1`")]
    MissingApiVersion,
    /// `kind` is absent or not a string.
    #[error("the object has no kind: add e.g. `kind: ConfigMap`")]
    MissingKind,
    /// `apiVersion` has more than one `/` or an empty part.
    #[error("apiVersion {0:?} is malformed: write `version` or `group/version`")]
    BadApiVersion(String),
    /// The document is not a mapping.
    #[error("the document is not a mapping (found {0}): a Kubernetes object is a YAML map")]
    NotAnObject(&'static str),
    /// An app instance name cannot be cut to a valid 63-character tracking label value.
    #[error(
        "app instance name {0:?} cannot be cut to a valid label value (63 characters ending in a letter or digit): rename the Application or use application.resourceTrackingMethod: annotation"
    )]
    UntruncatableLabel(String),
}

/// `group` + `kind`: what upstream matches customizations, ignoreDifferences and sync
/// ordering on, because versions of one kind are the same resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

impl GroupKind {
    /// Builds a group/kind pair.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { group: group.into(), kind: kind.into() }
    }
}

impl fmt::Display for GroupKind {
    /// Prints `kind.group` for named groups and `kind` for the core group, as kubectl does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

/// A full `apiVersion` + `kind`, needed to address an object on an API server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct GroupVersionKind {
    /// API group; empty for the core group.
    pub group: String,
    /// API version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

impl GroupVersionKind {
    /// Splits an `apiVersion` (`v1` or `apps/v1`) and pairs it with `kind`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Result<Self, KeyError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        if version.is_empty() || version.contains('/') || (api_version.contains('/') && group.is_empty()) {
            return Err(KeyError::BadApiVersion(api_version.to_string()));
        }
        if kind.is_empty() {
            return Err(KeyError::MissingKind);
        }
        Ok(Self { group: group.to_string(), version: version.to_string(), kind: kind.to_string() })
    }

    /// Reads `apiVersion` and `kind` from an object.
    pub fn of(object: &Value) -> Result<Self, KeyError> {
        let map = object.as_object().ok_or(KeyError::NotAnObject(json_type_name(object)))?;
        let api_version = map.get("apiVersion").and_then(Value::as_str).ok_or(KeyError::MissingApiVersion)?;
        let kind = map.get("kind").and_then(Value::as_str).ok_or(KeyError::MissingKind)?;
        Self::from_api_version(api_version, kind)
    }

    /// The `apiVersion` string for this group and version.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Drops the version.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group.clone(), self.kind.clone())
    }
}

impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, Kind={}", self.api_version(), self.kind)
    }
}

/// The identity of one object in one cluster: what Argo CD's resource lists, diffs and sync
/// results are keyed by. The version is deliberately absent: `apps/v1` and `apps/v1beta2`
/// Deployments named alike are the same object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct ResourceKey {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects (or objects whose namespace is not set yet).
    pub namespace: String,
    /// `metadata.name` (or `metadata.generateName` for objects not yet created).
    pub name: String,
}

impl ResourceKey {
    /// Builds a key from its parts.
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self { group: group.into(), kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }

    /// Reads the key of an object; `name` falls back to `generateName` so hooks can be keyed.
    pub fn of(object: &Value) -> Result<Self, KeyError> {
        let gvk = GroupVersionKind::of(object)?;
        let meta = object.get("metadata");
        let field =
            |f: &str| meta.and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or_default().to_string();
        let name = match field("name") {
            n if n.is_empty() => field("generateName"),
            n => n,
        };
        Ok(Self { group: gvk.group, kind: gvk.kind, namespace: field("namespace"), name })
    }

    /// Group and kind of this key.
    pub fn group_kind(&self) -> GroupKind {
        GroupKind::new(self.group.clone(), self.kind.clone())
    }
}

impl fmt::Display for ResourceKey {
    /// `group/Kind/namespace/name`, the form Argo CD prints in sync results and logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.group, self.kind, self.namespace, self.name)
    }
}

/// A short name for a JSON value's type, for error messages.
pub(crate) fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_and_named_groups() {
        let gvk = GroupVersionKind::from_api_version("v1", "ConfigMap").unwrap();
        assert_eq!(gvk.group, "");
        assert_eq!(gvk.api_version(), "v1");
        let gvk = GroupVersionKind::from_api_version("apps/v1", "Deployment").unwrap();
        assert_eq!(gvk.group, "apps");
        assert_eq!(gvk.group_kind().to_string(), "Deployment.apps");
    }

    #[test]
    fn malformed_api_versions_are_rejected() {
        for bad in ["", "/v1", "apps/", "a/b/c"] {
            assert!(GroupVersionKind::from_api_version(bad, "X").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_falls_back_to_generate_name() {
        let obj = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-", "namespace": "ns"}});
        let key = ResourceKey::of(&obj).unwrap();
        assert_eq!(key.to_string(), "batch/Job/ns/migrate-");
    }

    #[test]
    fn non_objects_have_no_key() {
        assert_eq!(ResourceKey::of(&json!([1])), Err(KeyError::NotAnObject("a list")));
        assert_eq!(ResourceKey::of(&json!({"kind": "X"})), Err(KeyError::MissingApiVersion));
    }
}
