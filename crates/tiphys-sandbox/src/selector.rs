//! Label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!`exists) and field selectors
//! (`=`, `==`, `!=` on `metadata.name`, `metadata.namespace` and the per-type fields kubectl
//! and controllers use), parsed from query strings.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{ResourceType, get_path};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(Vec<(String, Op)>);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn set_values(rest: &str, whole: &str) -> Result<Vec<String>> {
    let inner = rest.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(|| {
        Error::bad_request(format!("unable to parse requirement: found '{whole}', expected: '('"))
    })?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

fn check_key(key: &str, whole: &str) -> Result<String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(Error::bad_request(format!(
            "unable to parse requirement: invalid label key \"{whole}\""
        )));
    }
    Ok(key.to_string())
}

impl LabelSelector {
    /// Parses `labelSelector`; a syntax error is a 400 like the API server's.
    pub fn parse(s: &str) -> Result<Self> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let req = if let Some(key) = part.strip_prefix('!') {
                (check_key(key, part)?, Op::NotExists)
            } else if let Some((k, v)) = part.split_once("!=") {
                (check_key(k, part)?, Op::NotEq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once("==") {
                (check_key(k, part)?, Op::Eq(v.trim().to_string()))
            } else if let Some((k, v)) = part.split_once('=') {
                (check_key(k, part)?, Op::Eq(v.trim().to_string()))
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                (check_key(k, part)?, Op::NotIn(set_values(rest, part)?))
            } else if let Some((k, rest)) = part.split_once(" in ") {
                (check_key(k, part)?, Op::In(set_values(rest, part)?))
            } else {
                (check_key(part, part)?, Op::Exists)
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Builds a selector from a `matchLabels`/`matchExpressions` object (Deployments, Services).
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        let labels = sel.get("matchLabels").and_then(Value::as_object).or_else(|| {
            // A Service selector is a plain map.
            sel.as_object().filter(|m| !m.contains_key("matchExpressions"))
        });
        for (k, v) in labels.into_iter().flatten() {
            if let Some(v) = v.as_str() {
                reqs.push((k.clone(), Op::Eq(v.to_string())));
            }
        }
        for expr in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = expr["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expr["values"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let op = match expr["operator"].as_str() {
                Some("In") => Op::In(values),
                Some("NotIn") => Op::NotIn(values),
                Some("Exists") => Op::Exists,
                _ => Op::NotExists,
            };
            reqs.push((key, op));
        }
        LabelSelector(reqs)
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether labels (as key/value pairs) satisfy every requirement.
    pub fn matches<'a>(&self, labels: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|(key, op)| {
            let v = labels(key);
            match op {
                Op::Eq(x) => v == Some(x.as_str()),
                Op::NotEq(x) => v != Some(x.as_str()),
                Op::In(xs) => v.is_some_and(|v| xs.iter().any(|x| x == v)),
                Op::NotIn(xs) => v.is_none_or(|v| xs.iter().all(|x| x != v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }

    /// Matches against an object's `metadata.labels`.
    pub fn matches_object(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.matches(|k| labels.get(k).and_then(Value::as_str))
    }
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Fields selectable beyond `metadata.name` / `metadata.namespace`, per resource.
fn extra_fields(rt: &ResourceType) -> &'static [&'static str] {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        ("", "secrets") => &["type"],
        ("", "namespaces") => &["status.phase"],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "nodes") => &["spec.unschedulable"],
        ("apps", "replicasets") => &["status.replicas"],
        ("batch", "jobs") => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses `fieldSelector`; an unsupported field is a 400 like the API server's.
    pub fn parse(s: &str, rt: &ResourceType) -> Result<Self> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let (field, neg, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, false, v)
            } else {
                return Err(Error::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !matches!(field, "metadata.name" | "metadata.namespace") && !extra_fields(rt).contains(&field)
            {
                return Err(Error::bad_request(format!("field label not supported: {field}")));
            }
            reqs.push((field.to_string(), neg, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the selector only reads name and namespace (so objects need not be parsed).
    pub fn only_metadata(&self) -> bool {
        self.0.iter().all(|(f, _, _)| f.starts_with("metadata."))
    }

    /// Matches name/namespace without the object body.
    pub fn matches_meta(&self, namespace: &str, name: &str) -> bool {
        self.0.iter().all(|(f, neg, v)| match f.as_str() {
            "metadata.name" => (name == v) != *neg,
            "metadata.namespace" => (namespace == v) != *neg,
            _ => true,
        })
    }

    /// Matches against a whole object.
    pub fn matches_object(&self, object: &Value) -> bool {
        self.0.iter().all(|(f, neg, v)| {
            let actual = match get_path(object, f) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *v) != *neg
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::builtin_types;
    use proptest::prelude::*;
    use serde_json::json;

    fn labels<'a>(v: &'a Value) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| v.get(k).and_then(Value::as_str)
    }

    #[test]
    fn every_operator() {
        let l = json!({"app": "web", "tier": "front"});
        let m = |s: &str| LabelSelector::parse(s).map(|sel| sel.matches(labels(&l)));
        assert_eq!(m("app=web").ok(), Some(true));
        assert_eq!(m("app==web,tier=front").ok(), Some(true));
        assert_eq!(m("app!=web").ok(), Some(false));
        assert_eq!(m("app in (web, api)").ok(), Some(true));
        assert_eq!(m("app notin (web,api)").ok(), Some(false));
        assert_eq!(m("missing notin (x)").ok(), Some(true));
        assert_eq!(m("tier").ok(), Some(true));
        assert_eq!(m("!tier").ok(), Some(false));
        assert_eq!(m("!missing").ok(), Some(true));
        assert_eq!(m("").ok(), Some(true));
        assert!(m("app in web").is_err());
    }

    #[test]
    fn object_selectors() {
        let sel = LabelSelector::from_object(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}));
        assert!(sel.matches(labels(&json!({"app": "web", "tier": "front"}))));
        assert!(!sel.matches(labels(&json!({"app": "web"}))));
        let svc = LabelSelector::from_object(&json!({"app": "web"}));
        assert!(svc.matches(labels(&json!({"app": "web"}))));
    }

    #[test]
    fn field_selectors() {
        let pods = builtin_types().into_iter().find(|t| t.plural == "pods").expect("pods");
        let sel = FieldSelector::parse("metadata.name=a,status.phase!=Running", &pods).expect("parse");
        assert!(sel.matches_object(&json!({"metadata": {"name": "a"}, "status": {"phase": "Pending"}})));
        assert!(!sel.matches_object(&json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}})));
        let err = FieldSelector::parse("spec.foo=1", &pods).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("field label not supported: spec.foo"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,60}") {
            let pods = builtin_types().into_iter().find(|t| t.plural == "pods").expect("pods");
            let _ = LabelSelector::parse(&s);
            let _ = FieldSelector::parse(&s, &pods);
        }
    }
}
