//! Rendered files → manifests and hooks, in the order and byte format `helm template` prints.

use std::collections::BTreeMap;

use serde_json::Value;
use tiphys_resource::annotations::{HELM_HOOK, HELM_HOOK_WEIGHT};

use crate::Error;
use crate::values::json_kind;

/// Helm's install order by kind; unknown kinds go last, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document of the rendered output.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template it came from, e.g. `mychart/templates/service.yaml`.
    pub source: String,
    /// The document text as Helm keeps it (leading blanks trimmed).
    pub content: String,
    /// `kind` of the document (empty when it has none).
    pub kind: String,
    /// Hook events (`pre-install`, `test`, ...) for hook documents, empty otherwise.
    pub hook_events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not an integer).
    pub hook_weight: i64,
}

impl Manifest {
    /// Whether this is a hook (Helm prints hooks after all other manifests).
    pub fn is_hook(&self) -> bool {
        !self.hook_events.is_empty()
    }

    /// Whether this is a test hook (`--skip-tests` drops these).
    pub fn is_test(&self) -> bool {
        self.hook_events.iter().any(|e| e == "test" || e == "test-success")
    }
}

/// Splits a rendered file into documents the way Helm does: at `---` at the start of a line
/// (plus any whitespace after it), dropping empty pieces and leading blanks of each piece.
pub fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim_start();
    let mut docs = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        if at_line_start && bytes[i..].starts_with(b"---") {
            docs.push(&text[start..i]);
            let mut j = i + 3;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
                j += 1;
            }
            start = j;
            i = j;
            continue;
        }
        i += 1;
    }
    docs.push(&text[start..]);
    docs.into_iter().filter(|d| !d.is_empty()).map(|d| d.trim_start().to_string()).collect()
}

/// Sorts rendered files (name → text) into manifests and hooks, each in install order.
/// Partials and blank files are skipped; a document that is not valid YAML fails with Helm's
/// `YAML parse error on FILE: ...`.
pub fn sort_manifests(files: &BTreeMap<String, String>) -> Result<(Vec<Manifest>, Vec<Manifest>), Error> {
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse_head(path, &doc)?;
            let manifest = Manifest {
                source: path.clone(),
                content: doc,
                kind: head.kind,
                hook_events: Vec::new(),
                hook_weight: 0,
            };
            let Some(hook) = head.annotations.get(HELM_HOOK) else {
                generic.push(manifest);
                continue;
            };
            let events: Vec<String> = hook.split(',').map(|e| e.trim().to_lowercase()).collect();
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                // Helm drops documents whose hook names it does not know.
                continue;
            }
            let weight = head.annotations.get(HELM_HOOK_WEIGHT).and_then(|w| w.parse().ok()).unwrap_or(0);
            hooks.push(Manifest { hook_events: events, hook_weight: weight, ..manifest });
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);
    Ok((generic, hooks))
}

fn sort_by_kind(list: &mut [Manifest]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    list.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

struct Head {
    kind: String,
    annotations: BTreeMap<String, String>,
}

/// The fields of a document the sorter needs; everything else is parsed (so invalid YAML is
/// still reported) but not built into values, which keeps sorting cheap.
#[derive(serde::Deserialize)]
struct RawHead {
    kind: Option<Value>,
    metadata: Option<Value>,
}

fn parse_head(path: &str, doc: &str) -> Result<Head, Error> {
    let fast = crate::values::parse_yaml::<RawHead>(doc).ok().flatten();
    let value = match fast {
        Some(raw) => {
            let mut m = serde_json::Map::new();
            if let Some(k) = raw.kind {
                m.insert("kind".into(), k);
            }
            if let Some(md) = raw.metadata {
                m.insert("metadata".into(), md);
            }
            Value::Object(m)
        }
        None => parse_full(path, doc)?,
    };
    head_from(path, &value)
}

fn parse_full(path: &str, doc: &str) -> Result<Value, Error> {
    crate::values::parse_yaml::<Value>(doc).map(|v| v.unwrap_or(Value::Null)).map_err(|e| Error::Yaml {
        file: path.to_string(),
        message: format!("error converting YAML to JSON: {e}"),
    })
}

fn head_from(path: &str, value: &Value) -> Result<Head, Error> {
    let obj = match value {
        Value::Object(m) => m,
        Value::Null => return Ok(Head { kind: String::new(), annotations: BTreeMap::new() }),
        other => {
            return Err(Error::Yaml {
                file: path.to_string(),
                message: format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                    json_kind(other)
                ),
            });
        }
    };
    // sigs.k8s.io/yaml converts scalars to strings where the target field is a string.
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let field_error = |what: &Value, field: &str, ty: &str| Error::Yaml {
        file: path.to_string(),
        message: format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field {field} of type {ty}",
            json_kind(what)
        ),
    };
    let kind = obj.get("kind").and_then(scalar).unwrap_or_default();
    let mut annotations = BTreeMap::new();
    match obj.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(md)) => match md.get("annotations") {
            None | Some(Value::Null) => {}
            Some(Value::Object(a)) => {
                annotations = a.iter().filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s))).collect();
            }
            Some(other) => return Err(field_error(other, ".metadata.annotations", "map[string]string")),
        },
        Some(other) => {
            return Err(field_error(
                other,
                ".metadata",
                "struct { Name string \"json:\\\"name\\\"\"; Annotations map[string]string \"json:\\\"annotations\\\"\" }",
            ));
        }
    }
    Ok(Head { kind, annotations })
}

/// Rewrites a YAML error in go-yaml's words and line conventions (what Helm users see):
/// scanner errors name the 1-based line where go-yaml noticed the problem, which for a
/// missing `:` is the start of the next token, and line 1 gets no prefix.
pub(crate) fn go_yaml_error(doc: &str, line: usize, message: &str) -> String {
    let detail = message.rsplit_once(": ").map_or(message, |(_, m)| m);
    let eof_line = doc.matches('\n').count() + 1 + usize::from(!doc.is_empty() && !doc.ends_with('\n'));
    // Scanner errors print the 1-based line and omit line 1; parser errors print go-yaml's
    // 0-based mark line and omit 0.
    let (line, text, parser) = if detail.contains("simple key expected ':'") {
        let next = doc.lines().enumerate().skip(line).find(|(_, l)| !l.trim().is_empty()).map(|(i, _)| i + 1);
        (next.unwrap_or(eof_line), "could not find expected ':'".to_string(), false)
    } else if detail.contains("did not find expected key") || detail.contains("invalid trailing content") {
        (line.saturating_sub(1), "did not find expected key".to_string(), true)
    } else if detail.contains("mapping values are not allowed") {
        (line, "mapping values are not allowed in this context".to_string(), false)
    } else if detail.contains("tabs disallowed") {
        (line, "found character that cannot start any token".to_string(), false)
    } else if detail.contains("unclosed bracket '['") {
        (doc.matches('\n').count(), "did not find expected ',' or ']'".to_string(), true)
    } else if detail.contains("unclosed bracket '{'") {
        (doc.matches('\n').count(), "did not find expected ',' or '}'".to_string(), true)
    } else if detail.contains("unclosed quote") {
        (doc.matches('\n').count() + 1, "found unexpected end of stream".to_string(), false)
    } else {
        (line, detail.to_string(), false)
    };
    let omitted = if parser { 0 } else { 1 };
    if line <= omitted { format!("yaml: {text}") } else { format!("yaml: line {line}: {text}") }
}

/// Options for assembling `helm template` output.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// Print `crds/` files first (`--include-crds`).
    pub include_crds: bool,
    /// Leave out test hooks (`--skip-tests`).
    pub skip_tests: bool,
    /// Leave out every hook (`--no-hooks`).
    pub no_hooks: bool,
    /// Only templates matching these globs (`--show-only`), in the given order.
    pub show_only: Vec<String>,
}

/// Assembles the text `helm template` prints from CRDs, manifests and hooks.
pub fn assemble(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Manifest],
    opts: &OutputOptions,
) -> Result<String, Error> {
    let mut release = String::new();
    if opts.include_crds {
        for (name, data) in crds {
            release.push_str(&format!("---\n# Source: {name}\n{data}\n"));
        }
    }
    for m in manifests {
        release.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.content));
    }
    let mut out = release.trim().to_string();
    out.push('\n');
    if !opts.no_hooks {
        for h in hooks {
            if opts.skip_tests && h.is_test() {
                continue;
            }
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.source, h.content));
        }
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    let docs = split_manifests(&out);
    let mut selected = String::new();
    for pattern in &opts.show_only {
        let mut missing = true;
        for doc in &docs {
            let Some(path) = source_path(doc) else { continue };
            if crate::ignore::glob_match(pattern, path) {
                selected.push_str(&format!("---\n{doc}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(Error::ShowOnly(pattern.clone()));
        }
    }
    Ok(selected)
}

/// The chart-relative path in a document's `# Source: chart/PATH` line.
fn source_path(doc: &str) -> Option<&str> {
    let idx = doc.find("# Source: ")?;
    let rest = &doc[idx + "# Source: ".len()..];
    let line = rest.split('\n').next()?;
    let (chart, path) = line.split_once('/')?;
    (!chart.is_empty() && !path.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_trailing_blank_lines_like_helm() {
        let docs =
            split_manifests("a: 1\n\n---   \n\n\nb: 2\n  \n--- # c\nc: 3\n---\n---\nd: 4\n  ---\ne: 5\n\n\n");
        assert_eq!(docs, vec!["a: 1\n\n", "b: 2\n  \n", "# c\nc: 3\n", "d: 4\n  ---\ne: 5\n\n\n"]);
    }

    #[test]
    fn kinds_sort_in_install_order_and_hooks_separate() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_string(),
            "kind: Deployment\n---\nkind: Zed\n---\nkind: Alpha\n".to_string(),
        );
        files.insert(
            "c/templates/b.yaml".to_string(),
            "kind: Namespace\n---\nkind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n---\nkind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: nonsense\n".to_string(),
        );
        files.insert("c/templates/_p.tpl".to_string(), "kind: Secret\n".to_string());
        let (generic, hooks) = sort_manifests(&files).unwrap_or_default();
        let kinds: Vec<&str> = generic.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, vec!["Namespace", "Deployment", "Alpha", "Zed"]);
        assert_eq!(hooks.len(), 1);
        assert!(hooks[0].is_test());
    }

    #[test]
    fn bad_yaml_names_the_file() {
        let mut files = BTreeMap::new();
        files.insert("c/templates/x.yaml".to_string(), "a: b\ninvalid\n".to_string());
        let err = sort_manifests(&files).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with(
                "YAML parse error on c/templates/x.yaml: error converting YAML to JSON: yaml: line "
            ),
            "{err}"
        );
    }

    #[test]
    fn yaml_errors_use_go_yaml_lines() {
        let cases = [
            ("a: 1\ninvalid\n", "yaml: line 3: could not find expected ':'"),
            ("a: 1\ninvalid", "yaml: line 3: could not find expected ':'"),
            ("a: 1\ninvalid\nb: 2\n", "yaml: line 3: could not find expected ':'"),
            ("a: 1\ninvalid\n\n\n", "yaml: line 5: could not find expected ':'"),
            ("a: 1\n b: 2\n", "yaml: line 2: mapping values are not allowed in this context"),
            ("a: [1\n", "yaml: line 1: did not find expected ',' or ']'"),
            ("a: {b\n", "yaml: line 1: did not find expected ',' or '}'"),
            ("a: b: c\n", "yaml: mapping values are not allowed in this context"),
            ("a:\n\tb: 1\n", "yaml: line 2: found character that cannot start any token"),
            ("a: \"x\n", "yaml: line 2: found unexpected end of stream"),
        ];
        for (doc, want) in cases {
            let err = parse_head("f", doc).err().map(|e| e.to_string()).unwrap_or_default();
            assert_eq!(
                err,
                format!("YAML parse error on f: error converting YAML to JSON: {want}"),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn show_only_missing_template_errors() {
        let m = Manifest {
            source: "c/templates/a.yaml".into(),
            content: "kind: A\n".into(),
            kind: "A".into(),
            hook_events: vec![],
            hook_weight: 0,
        };
        let opts = OutputOptions { show_only: vec!["templates/b.yaml".into()], ..OutputOptions::default() };
        assert_eq!(
            assemble(&[], std::slice::from_ref(&m), &[], &opts).err().map(|e| e.to_string()),
            Some("could not find template templates/b.yaml in chart".into())
        );
        let opts = OutputOptions { show_only: vec!["templates/*.yaml".into()], ..OutputOptions::default() };
        assert_eq!(
            assemble(&[], &[m], &[], &opts).ok(),
            Some("---\n# Source: c/templates/a.yaml\nkind: A\n\n".into())
        );
    }
}
