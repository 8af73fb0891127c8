//! Checks a JSON value against a structural OpenAPI v3 schema the way the Kubernetes API
//! server validates custom resources: types, required fields, enums, int-or-string,
//! preserve-unknown-fields, `date-time` formats, and unknown fields (which `kubectl apply`
//! rejects under its default strict field validation).
//!
//! It serves two purposes: `tiphys admin validate` reports problems with exact YAML paths,
//! and tests compare what our generated CRDs accept with what upstream's CRDs accept.

use serde_json::Value;

/// One place where a value does not fit its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// Dotted path with list indexes, e.g. `spec.sources[1].repoURL`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Validates `value` against `schema`; `path` is the prefix for reported paths.
pub fn check(schema: &Value, value: &Value, path: &str) -> Vec<SchemaProblem> {
    let mut out = Vec::new();
    check_into(schema, value, path, &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match (expected, value) {
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        (t, v) => t == type_name(v),
    }
}

fn check_into(schema: &Value, value: &Value, path: &str, out: &mut Vec<SchemaProblem>) {
    let Some(s) = schema.as_object() else { return };
    let problem = |out: &mut Vec<SchemaProblem>, message: String| {
        out.push(SchemaProblem {
            path: if path.is_empty() { "(root)".into() } else { path.to_string() },
            message,
        })
    };
    if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !matches!(value, Value::String(_)) && !type_matches("integer", value) {
            problem(out, format!("expected an integer or a string, found {}", type_name(value)));
        }
        return;
    }
    if let Some(expected) = s.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        let hint = match (expected, value) {
            ("string", Value::Number(_) | Value::Bool(_)) => ": quote the value",
            ("array", _) => ": write a YAML list (`- item`)",
            ("object", _) => ": write a YAML map (`key: value`)",
            _ => "",
        };
        problem(out, format!("expected {expected}, found {}{hint}", type_name(value)));
        return;
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        problem(out, format!("{value} is not allowed: use one of {}", list.join(", ")));
    }
    if s.get("format").and_then(Value::as_str) == Some("date-time")
        && let Some(text) = value.as_str()
        && !is_rfc3339(text)
    {
        problem(out, format!("{text:?} is not an RFC 3339 date-time such as 2024-01-02T15:04:05Z"));
    }
    match value {
        Value::Object(map) => {
            let preserve = s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if let Some(required) = s.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if map.get(r).is_none_or(Value::is_null) {
                        out.push(SchemaProblem {
                            path: join(path, r),
                            message: format!("required field {r:?} is missing: add it"),
                        });
                    }
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties");
            for (k, v) in map {
                if v.is_null() {
                    continue; // the API server prunes nulls of non-nullable fields
                }
                let child = join(path, k);
                if let Some(sub) = props.and_then(|p| p.get(k)) {
                    check_into(sub, v, &child, out);
                } else if let Some(sub) = additional {
                    check_into(sub, v, &child, out);
                } else if !preserve && props.is_some() {
                    let known: Vec<&String> = props.map(|p| p.keys().collect()).unwrap_or_default();
                    let hint =
                        closest(k, &known).map(|c| format!(": did you mean {c:?}?")).unwrap_or_else(|| {
                            format!(
                                ": remove it (known fields: {})",
                                known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                            )
                        });
                    out.push(SchemaProblem { path: child, message: format!("unknown field {k:?}{hint}") });
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_into(sub, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The known name closest to a misspelled one (case-insensitive edit distance ≤ 2).
fn closest<'a>(name: &str, known: &[&'a String]) -> Option<&'a String> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(row[j + 1]) };
            prev = cur;
        }
    }
    row[b.len()]
}

/// RFC 3339 date-time as Kubernetes accepts it (`2024-01-02T15:04:05Z`, fractional seconds
/// and numeric offsets allowed).
pub(crate) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' || !digits(8..10) {
        return false;
    }
    if !matches!(b[10], b'T' | b't') || !digits(11..13) || b[13] != b':' || !digits(14..16) || b[16] != b':' {
        return false;
    }
    if !digits(17..19) {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len() && digits(i + 1..i + 3) && b[i + 3] == b':' && digits(i + 4..i + 6)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339() {
        assert!(is_rfc3339("2024-01-02T15:04:05Z"));
        assert!(is_rfc3339("2024-01-02T15:04:05.123+02:00"));
        assert!(!is_rfc3339("2024-01-02 15:04:05"));
        assert!(!is_rfc3339("yesterday"));
    }

    #[test]
    fn reports_paths_types_and_typos() {
        let schema = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": "string"},
            "list": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}
        }});
        let problems = check(&schema, &json!({"lst": [], "list": [{"n": "x"}]}), "spec");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["spec.a", "spec.lst", "spec.list[0].n"]);
        assert!(problems[1].message.contains("did you mean \"list\""), "{problems:?}");
    }
}
