//! Directory sources: YAML/JSON manifests and Jsonnet files under the source path.
//!
//! Follows upstream's rules: only `*.yaml`, `*.yml`, `*.json` and `*.jsonnet` are read
//! (every file, as YAML, with `disableExtensionFilter`);
//! sub-directories only with `recurse`; `exclude` wins over `include`, both globs over the path
//! relative to the source directory where `*` also crosses `/` and `{a,b}` lists
//! alternatives; a YAML file that does not parse into objects and does not look like a manifest
//! (no `apiVersion:`, `kind:` and `metadata:`) is ignored as a non-manifest file.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde_json::Value;

use crate::buildenv::AppContext;
use crate::confine::RepoRoot;
use crate::spec::{ApplicationSourceDirectory, ApplicationSourceJsonnet};
use crate::{Limits, RenderError, jsonnet};

fn compile(field: &str, pattern: &str) -> Result<Option<GlobMatcher>, RenderError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Glob::new(pattern).map(|g| Some(g.compile_matcher())).map_err(|e| RenderError::InvalidOption {
        field: format!("directory.{field}"),
        message: e.to_string(),
    })
}

/// Which kind of file a name is, by extension; `None` for files that are not read.
fn file_kind(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "yaml" | "yml" => Some("yaml"),
        "json" => Some("json"),
        "jsonnet" => Some("jsonnet"),
        _ => None,
    }
}

struct Walk<'a> {
    root: &'a RepoRoot,
    app_dir: &'a Path,
    options: &'a ApplicationSourceDirectory,
    app: &'a AppContext,
    limits: &'a Limits,
    jsonnet: ApplicationSourceJsonnet,
    include: Option<GlobMatcher>,
    exclude: Option<GlobMatcher>,
    total_bytes: u64,
    out: Vec<Value>,
}

/// Renders a directory source rooted at `app_dir` (already confined to `root`).
pub(crate) fn render(
    root: &RepoRoot,
    app_dir: &Path,
    options: &ApplicationSourceDirectory,
    app: &AppContext,
    limits: &Limits,
) -> Result<Vec<Value>, RenderError> {
    let mut walk = Walk {
        root,
        app_dir,
        options,
        app,
        limits,
        include: compile("include", options.include.as_deref().unwrap_or_default())?,
        exclude: compile("exclude", options.exclude.as_deref().unwrap_or_default())?,
        jsonnet: options.jsonnet.clone().unwrap_or_default(),
        total_bytes: 0,
        out: Vec::new(),
    };
    walk.dir(app_dir)?;
    Ok(walk.out)
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> Result<(), RenderError> {
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| RenderError::io(dir, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RenderError::io(dir, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|e| RenderError::io(&path, e))?;
            if kind.is_dir() {
                if self.options.recurse == Some(true) && name != ".git" {
                    self.dir(&path)?;
                }
                continue;
            }
            let shown = self.root.relative(&path);
            // A symlink anywhere in the source that leaves the repository is refused, as
            // upstream does, even if its name would not be read; inside ones are followed.
            let real = if kind.is_symlink() { self.root.check_inside(&path, &shown)? } else { path.clone() };
            if real.is_dir() {
                continue;
            }
            let any_file = self.options.disable_extension_filter == Some(true);
            let Some(file_kind) = file_kind(&name).or(any_file.then_some("yaml")) else { continue };
            let rel = path.strip_prefix(self.app_dir).unwrap_or(&path).to_string_lossy().into_owned();
            if self.exclude.as_ref().is_some_and(|g| g.is_match(&rel)) {
                continue;
            }
            if self.include.as_ref().is_some_and(|g| !g.is_match(&rel)) {
                continue;
            }
            self.file(&real, &shown, file_kind)?;
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, shown: &str, kind: &str) -> Result<(), RenderError> {
        let size = std::fs::metadata(path).map_err(|e| RenderError::io(path, e))?.len();
        if size > self.limits.max_file_bytes {
            return Err(RenderError::Limit {
                what: format!("{shown} ({size} bytes)"),
                limit: self.limits.max_file_bytes,
            });
        }
        self.total_bytes += size;
        if self.total_bytes > self.limits.max_total_bytes {
            return Err(RenderError::Limit {
                what: format!("the directory's manifests ({} bytes so far)", self.total_bytes),
                limit: self.limits.max_total_bytes,
            });
        }
        let objects = match kind {
            "jsonnet" => from_jsonnet(
                jsonnet::evaluate(self.root, path, &self.jsonnet, self.app, self.limits)?,
                shown,
            )?,
            _ => {
                let text = std::fs::read_to_string(path).map_err(|e| RenderError::io(path, e))?;
                if kind == "json" { from_json(&text, shown)? } else { from_yaml(&text, shown)? }
            }
        };
        self.out.extend(objects);
        if self.out.len() as u64 > self.limits.max_manifests {
            return Err(RenderError::Limit {
                what: format!("number of manifests (at {shown})"),
                limit: self.limits.max_manifests,
            });
        }
        Ok(())
    }
}

/// Whether a parsed document is a Kubernetes object (a mapping with a non-empty `kind`).
fn object_problem(value: &Value) -> Option<&'static str> {
    match value {
        Value::Object(map) => match map.get("kind") {
            Some(Value::String(k)) if !k.is_empty() => None,
            _ => Some("object has no kind"),
        },
        _ => Some("document is not a mapping"),
    }
}

fn from_json(text: &str, shown: &str) -> Result<Vec<Value>, RenderError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| RenderError::Parse { file: shown.to_string(), message: format!("invalid JSON: {e}") })?;
    if let Some(problem) = object_problem(&value) {
        return Err(RenderError::NotAnObject { file: shown.to_string(), message: problem.to_string() });
    }
    Ok(vec![value])
}

fn looks_like_manifest(text: &str) -> bool {
    text.contains("apiVersion:") && text.contains("kind:") && text.contains("metadata:")
}

fn from_yaml(text: &str, shown: &str) -> Result<Vec<Value>, RenderError> {
    let mut out = Vec::new();
    for doc in tiphys_resource::yaml::parse_stream_lenient(text) {
        let problem = match doc {
            Ok(doc) if doc.value.is_null() => continue,
            Ok(doc) => match object_problem(&doc.value) {
                None => {
                    out.push(doc.value);
                    continue;
                }
                Some(p) => format!("document {} (line {}): {p}", doc.index, doc.line),
            },
            Err(e) => e.to_string(),
        };
        // Upstream: a file that yielded objects before the bad document, or that looks like a
        // manifest, is an error; anything else (values files, CI config) is not a manifest.
        if !out.is_empty() || looks_like_manifest(text) {
            return Err(RenderError::Parse { file: shown.to_string(), message: problem });
        }
        return Ok(Vec::new());
    }
    Ok(out)
}

fn from_jsonnet(value: Value, shown: &str) -> Result<Vec<Value>, RenderError> {
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if item.is_null() {
            continue;
        }
        if let Some(problem) = object_problem(&item) {
            return Err(RenderError::NotAnObject {
                file: shown.to_string(),
                message: format!("output item {i}: {problem}"),
            });
        }
        out.push(item);
    }
    Ok(out)
}

/// Expands `kind: *List` objects with an `items` array into their items, one level deep, as
/// upstream does before comparing. Upstream expands any object with an `items` array; we
/// require the kind to end in `List` so that custom resources with an `items` field survive.
pub fn flatten_lists(objects: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        let is_list = obj.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
            && obj.get("items").is_some_and(Value::is_array);
        match obj {
            Value::Object(mut map) if is_list => {
                if let Some(Value::Array(items)) = map.remove("items") {
                    out.extend(items.into_iter().filter(|i| !i.is_null()));
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_kinds_follow_upstream_extensions() {
        assert_eq!(file_kind("a.yaml"), Some("yaml"));
        assert_eq!(file_kind("a.yml"), Some("yaml"));
        assert_eq!(file_kind("a.json"), Some("json"));
        assert_eq!(file_kind("a.jsonnet"), Some("jsonnet"));
        assert_eq!(file_kind("a.libsonnet"), None);
        assert_eq!(file_kind("README.md"), None);
        assert_eq!(file_kind("a.YAML"), None);
    }

    #[test]
    fn non_manifest_yaml_is_ignored_but_broken_manifests_are_errors() {
        assert!(from_yaml("replicas: 3\nimage: x\n", "values.yaml").unwrap().is_empty());
        assert!(from_yaml("a: [\n", "broken.yaml").unwrap().is_empty());
        let err = from_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: [\n", "cm.yaml")
            .unwrap_err();
        assert!(err.to_string().starts_with("cm.yaml: document 1"), "{err}");
        let err = from_yaml("apiVersion: v1\nmetadata: {name: a}\nkind: [\n", "bad.yaml").unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }

    #[test]
    fn lists_are_flattened_one_level() {
        let objs = vec![
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [{"kind": "A"}, {"kind": "B"}]}),
            serde_json::json!({"apiVersion": "x/v1", "kind": "Thing", "items": [1]}),
        ];
        let flat = flatten_lists(objs);
        assert_eq!(flat.len(), 3);
        assert_eq!(flat[1]["kind"], "B");
        assert_eq!(flat[2]["kind"], "Thing");
    }

    proptest::proptest! {
        #[test]
        fn yaml_files_never_panic(s in "\\PC{0,200}") {
            let _ = from_yaml(&s, "f.yaml");
            let _ = from_json(&s, "f.json");
        }
    }
}
