//! `ignoreDifferences`: fields a user tells Argo CD not to compare, from the Application
//! (`spec.ignoreDifferences`) and from `argocd-cm`.
//!
//! Matching follows upstream: `group` and `kind` are globs (`*` matches anything, an empty
//! group matches only the core group), `name` and `namespace` match exactly or, when empty,
//! anything. Each JSON pointer is removed independently (a pointer that does not resolve is
//! skipped, as upstream skips a failed patch), and each jq expression runs on its own as
//! `del(<expr>)`; an expression that errors at run time leaves the object unchanged.

use globset::{Glob, GlobMatcher};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Native, Vars, compile::Filter, data::JustLut};
use jaq_json::Val;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::DiffError;
use crate::managed_fields;

/// One `ignoreDifferences` entry exactly as users write it (upstream's
/// `ResourceIgnoreDifferences`, same JSON field names), so Application and argocd-cm YAML
/// deserialize into it unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group glob; empty means the core group.
    #[serde(default)]
    pub group: String,
    /// Kind glob.
    #[serde(default)]
    pub kind: String,
    /// Exact name; empty matches any.
    #[serde(default)]
    pub name: String,
    /// Exact namespace; empty matches any.
    #[serde(default)]
    pub namespace: String,
    /// RFC 6901 pointers to remove before comparing.
    #[serde(default, rename = "jsonPointers")]
    pub json_pointers: Vec<String>,
    /// jq path expressions to delete before comparing.
    #[serde(default, rename = "jqPathExpressions")]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields (per `metadata.managedFields`) are not compared.
    #[serde(default, rename = "managedFieldsManagers")]
    pub managed_fields_managers: Vec<String>,
}

impl From<&tiphys_model::application::ResourceIgnoreDifferences> for ResourceIgnoreDifferences {
    /// An Application's `spec.ignoreDifferences` entry (absent fields are empty).
    fn from(m: &tiphys_model::application::ResourceIgnoreDifferences) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        Self {
            group: text(&m.group),
            kind: text(&m.kind),
            name: text(&m.name),
            namespace: text(&m.namespace),
            json_pointers: list(&m.json_pointers),
            jq_path_expressions: list(&m.jq_path_expressions),
            managed_fields_managers: list(&m.managed_fields_managers),
        }
    }
}

impl ResourceIgnoreDifferences {
    fn describe(&self) -> String {
        let mut s = format!("{}/{}", self.group, self.kind);
        if !self.namespace.is_empty() || !self.name.is_empty() {
            s.push_str(&format!("/{}/{}", self.namespace, self.name));
        }
        s
    }
}

/// Words that can make a jq program run without bound. Upstream stops jq after a timeout; an
/// L1 crate has no clock, so programs that could loop are refused when the rule is compiled.
const UNBOUNDED_JQ: &[&str] =
    &["def", "repeat", "while", "until", "range", "recurse", "input", "inputs", "debug", "stderr"];

/// jaq natives that read the clock or the environment.
const NONDETERMINISTIC_JQ: &[&str] = &["now", "env"];

type JqFilter = Filter<Native<JustLut<Val>>>;

/// A compiled jq deletion, run on its own per object.
struct JqDeletion {
    expression: String,
    filter: JqFilter,
}

impl std::fmt::Debug for JqDeletion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JqDeletion").field("expression", &self.expression).finish()
    }
}

/// A compiled rule: patterns and jq programs are checked once, up front, so a bad rule is an
/// error naming the rule instead of a silent no-op on every reconcile.
#[derive(Debug)]
pub struct IgnoreRule {
    source: ResourceIgnoreDifferences,
    group: GlobMatcher,
    kind: GlobMatcher,
    jq: Vec<JqDeletion>,
}

fn glob(pattern: &str) -> Result<GlobMatcher, DiffError> {
    Glob::new(pattern).map(|g| g.compile_matcher()).map_err(|e| DiffError::InvalidPattern {
        pattern: pattern.to_string(),
        message: e.kind().to_string(),
    })
}

fn compile_jq(rule: &str, expression: &str) -> Result<JqFilter, DiffError> {
    let err = |message: String| DiffError::InvalidJq {
        rule: rule.to_string(),
        expression: expression.to_string(),
        message,
    };
    if let Some(word) = unbounded_word(expression) {
        return Err(err(format!("`{word}` can run without bound and is not allowed in a path expression")));
    }
    // Parenthesized so that a pipe inside the expression binds inside del() (crate-notes gotcha 6).
    let code = format!("del(({expression}))");
    let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    // Deterministic: the clock and the process environment are not reachable from a rule.
    let funs = jaq_core::funs()
        .chain(jaq_std::funs().filter(|(name, ..)| !NONDETERMINISTIC_JQ.contains(name)))
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(&arena, File { code: code.as_str(), path: () })
        .map_err(|e| err(format!("does not parse ({} error(s))", e.len())))?;
    Compiler::default().with_funs(funs).compile(modules).map_err(|e| {
        err(format!(
            "does not compile: {:?}",
            e.iter()
                .map(|(_, errs)| errs.iter().map(|(name, _)| name.to_string()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        ))
    })
}

fn unbounded_word(expression: &str) -> Option<&'static str> {
    let words: Vec<&str> = expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .collect();
    UNBOUNDED_JQ.iter().copied().find(|bad| words.contains(bad))
}

impl IgnoreRule {
    /// Compiles a rule; fails on a bad glob, a pointer without a leading `/`, or jq that does not
    /// compile or could run without bound.
    pub fn compile(source: ResourceIgnoreDifferences) -> Result<Self, DiffError> {
        let rule = source.describe();
        for p in &source.json_pointers {
            if !p.is_empty() && !p.starts_with('/') {
                return Err(DiffError::InvalidPointer { rule, pointer: p.clone() });
            }
        }
        let jq = source
            .jq_path_expressions
            .iter()
            .map(|e| Ok(JqDeletion { expression: e.clone(), filter: compile_jq(&rule, e)? }))
            .collect::<Result<Vec<_>, DiffError>>()?;
        Ok(Self { group: glob(&source.group)?, kind: glob(&source.kind)?, jq, source })
    }

    /// The rule as written.
    pub fn source(&self) -> &ResourceIgnoreDifferences {
        &self.source
    }

    /// Whether the rule applies to an object with this identity (upstream's matching).
    pub fn matches(&self, group: &str, kind: &str, namespace: &str, name: &str) -> bool {
        self.group.is_match(group)
            && self.kind.is_match(kind)
            && (self.source.name.is_empty() || self.source.name == name)
            && (self.source.namespace.is_empty() || self.source.namespace == namespace)
    }

    /// Removes the ignored fields from `obj`. `owners` is the live object, whose
    /// `metadata.managedFields` says which fields `managedFieldsManagers` own.
    pub fn apply(&self, obj: &mut Value, owners: Option<&Value>) {
        for p in &self.source.json_pointers {
            remove_pointer(obj, p);
        }
        for jq in &self.jq {
            if let Some(out) = run_jq(&jq.filter, obj) {
                *obj = out;
            }
        }
        if !self.source.managed_fields_managers.is_empty()
            && let Some(live) = owners
        {
            for set in managed_fields::field_sets(live, |m| {
                self.source.managed_fields_managers.iter().any(|x| x == m)
            }) {
                managed_fields::remove_owned(obj, set);
            }
        }
    }
}

/// A set of compiled rules, applied in order.
#[derive(Debug, Default)]
pub struct IgnoreRules {
    rules: Vec<IgnoreRule>,
}

impl IgnoreRules {
    /// Compiles every entry; the first bad one fails the whole set so users see it at once.
    pub fn compile(entries: impl IntoIterator<Item = ResourceIgnoreDifferences>) -> Result<Self, DiffError> {
        Ok(Self { rules: entries.into_iter().map(IgnoreRule::compile).collect::<Result<_, _>>()? })
    }

    /// Whether no rule exists.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules that apply to an object with this identity.
    pub fn matching<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a IgnoreRule> + 'a {
        self.rules.iter().filter(move |r| r.matches(group, kind, namespace, name))
    }

    /// Adds rules (e.g. argocd-cm's after the Application's).
    pub fn extend(&mut self, other: IgnoreRules) {
        self.rules.extend(other.rules);
    }
}

fn run_jq(filter: &JqFilter, obj: &Value) -> Option<Value> {
    let input: Val = serde_json::from_value(obj.clone()).ok()?;
    let ctx = Ctx::<JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = filter.id.run((ctx, input)).map(jaq_core::unwrap_valr);
    match out.next() {
        Some(Ok(v)) => serde_json::from_str(&v.to_string()).ok(),
        _ => None,
    }
}

/// Unescapes one RFC 6901 reference token.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Removes the value at an RFC 6901 pointer; does nothing when it does not resolve.
/// The empty pointer (the whole document) is not removed: an object cannot vanish.
pub fn remove_pointer(obj: &mut Value, pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else { return false };
    let tokens: Vec<String> = rest.split('/').map(unescape).collect();
    let Some((last, parents)) = tokens.split_last() else { return false };
    let mut cur = obj;
    for t in parents {
        cur = match cur {
            Value::Object(m) => match m.get_mut(t.as_str()) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match cur {
        Value::Object(m) => m.shift_remove(last.as_str()).is_some(),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> IgnoreRule {
        IgnoreRule::compile(serde_json::from_value(v).unwrap()).unwrap()
    }

    #[test]
    fn converts_the_application_model() {
        let app: tiphys_model::Application = serde_json::from_value(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a"}, "spec": {"ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]}}))
        .unwrap();
        let rules: Vec<ResourceIgnoreDifferences> =
            app.spec.ignore_differences.iter().flatten().map(Into::into).collect();
        assert_eq!(
            rules,
            vec![ResourceIgnoreDifferences {
                group: "apps".into(),
                kind: "Deployment".into(),
                json_pointers: vec!["/spec/replicas".into()],
                ..Default::default()
            }]
        );
    }

    #[test]
    fn group_and_kind_are_globs_name_and_namespace_exact() {
        let r = rule(json!({"group": "*", "kind": "Deploy*", "namespace": "prod"}));
        assert!(r.matches("apps", "Deployment", "prod", "x"));
        assert!(!r.matches("apps", "Deployment", "dev", "x"));
        assert!(!r.matches("apps", "StatefulSet", "prod", "x"));
        let core = rule(json!({"kind": "Service", "name": "web"}));
        assert!(core.matches("", "Service", "any", "web"));
        assert!(!core.matches("apps", "Service", "any", "web"), "empty group is only the core group");
        assert!(!core.matches("", "Service", "any", "api"));
    }

    #[test]
    fn json_pointers_remove_fields_and_skip_missing_ones() {
        let r = rule(
            json!({"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas", "/spec/nope/x", "/metadata/annotations/a~1b"]}),
        );
        let mut obj =
            json!({"spec": {"replicas": 3, "x": 1}, "metadata": {"annotations": {"a/b": "1", "c": "2"}}});
        r.apply(&mut obj, None);
        assert_eq!(obj, json!({"spec": {"x": 1}, "metadata": {"annotations": {"c": "2"}}}));
    }

    #[test]
    fn pointer_into_a_list_index() {
        let mut obj = json!({"a": [1, 2, 3]});
        assert!(remove_pointer(&mut obj, "/a/1"));
        assert_eq!(obj, json!({"a": [1, 3]}));
        assert!(!remove_pointer(&mut obj, "/a/9"));
        assert!(!remove_pointer(&mut obj, ""));
    }

    #[test]
    fn jq_expressions_delete_every_match() {
        let r = rule(json!({"group": "admissionregistration.k8s.io", "kind": "MutatingWebhookConfiguration",
            "jqPathExpressions": [".webhooks[].clientConfig.caBundle"]}));
        let mut obj = json!({"webhooks": [{"name": "a", "clientConfig": {"caBundle": "x", "url": "u"}}, {"name": "b", "clientConfig": {"caBundle": "y"}}]});
        r.apply(&mut obj, None);
        assert_eq!(
            obj,
            json!({"webhooks": [{"name": "a", "clientConfig": {"url": "u"}}, {"name": "b", "clientConfig": {}}]})
        );
    }

    #[test]
    fn jq_with_select_and_pipe_stays_inside_del() {
        let r = rule(
            json!({"kind": "*", "group": "*", "jqPathExpressions": [".spec.containers[] | select(.name == \"istio-proxy\")"]}),
        );
        let mut obj = json!({"spec": {"containers": [{"name": "app"}, {"name": "istio-proxy"}]}});
        r.apply(&mut obj, None);
        assert_eq!(obj, json!({"spec": {"containers": [{"name": "app"}]}}));
    }

    #[test]
    fn jq_runtime_error_leaves_object_unchanged() {
        let r = rule(json!({"kind": "*", "group": "*", "jqPathExpressions": [".spec.x[0]"]}));
        let mut obj = json!({"spec": {"x": {"not": "a list"}}});
        r.apply(&mut obj, None);
        assert_eq!(obj, json!({"spec": {"x": {"not": "a list"}}}));
    }

    #[test]
    fn bad_rules_are_errors_that_name_the_rule() {
        let bad_jq = IgnoreRule::compile(
            serde_json::from_value(
                json!({"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec[["]}),
            )
            .unwrap(),
        );
        assert!(matches!(bad_jq, Err(DiffError::InvalidJq { ref rule, .. }) if rule == "apps/Deployment"));
        let looping = IgnoreRule::compile(
            serde_json::from_value(json!({"kind": "*", "jqPathExpressions": ["def f: f; f"]})).unwrap(),
        );
        assert!(matches!(looping, Err(DiffError::InvalidJq { .. })));
        let ptr = IgnoreRule::compile(
            serde_json::from_value(json!({"kind": "X", "jsonPointers": ["spec/replicas"]})).unwrap(),
        );
        assert!(matches!(ptr, Err(DiffError::InvalidPointer { .. })));
        let pat = IgnoreRule::compile(serde_json::from_value(json!({"kind": "[", "group": ""})).unwrap());
        assert!(matches!(pat, Err(DiffError::InvalidPattern { .. })));
    }

    #[test]
    fn managed_fields_managers_remove_owned_fields() {
        let live = json!({
            "metadata": {"managedFields": [
                {"manager": "hpa-controller", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
                {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}
            ]},
            "spec": {"replicas": 7, "paused": false}
        });
        let r =
            rule(json!({"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa-controller"]}));
        let mut obj = live.clone();
        r.apply(&mut obj, Some(&live));
        assert_eq!(obj["spec"], json!({"paused": false}));
    }
}
