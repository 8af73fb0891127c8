//! `values.schema.json` validation: the JSON Schema (draft 7) keywords charts use, with the
//! error lines Helm 4 prints (`- at '/replicas': got string, want integer`).
//!
//! Supported: `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`,
//! `patternProperties`, `items` (schema or tuple), `minItems`, `maxItems`, `uniqueItems`,
//! `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minLength`,
//! `maxLength`, `pattern`, `minProperties`, `maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`,
//! `if`/`then`/`else` and local `$ref`s (`#/definitions/...`, `#/$defs/...`). Helm reports
//! several violations in Go map order (random); we report them in schema order.

use serde_json::{Map, Value};

use crate::Error;
use crate::chart::Chart;

/// Validates coalesced values against the chart's schema and its subcharts' schemas, and
/// returns Helm's error when anything fails.
pub fn validate_chart(chart: &Chart, values: &Map<String, Value>) -> Result<(), Error> {
    let mut report = String::new();
    collect(chart, values, &mut report)?;
    if report.is_empty() { Ok(()) } else { Err(Error::Schema(report)) }
}

fn collect(chart: &Chart, values: &Map<String, Value>, report: &mut String) -> Result<(), Error> {
    if let Some(raw) = &chart.schema {
        let schema: Value = serde_json::from_slice(raw).map_err(|e| Error::Load {
            file: format!("{}/values.schema.json", chart.name()),
            message: format!("invalid JSON: {e}"),
        })?;
        let mut errors = Vec::new();
        let instance = Value::Object(values.clone());
        Validator { root: &schema }.check(&schema, &instance, "", &mut errors, 0);
        if !errors.is_empty() {
            report.push_str(&format!("{}:\n", chart.name()));
            for (at, msg) in errors {
                report.push_str(&format!("- at '{at}': {msg}\n"));
            }
        }
    }
    for sub in &chart.dependencies {
        let sub_values = match values.get(sub.name()) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        collect(sub, &sub_values, report)?;
    }
    Ok(())
}

/// Guards against `$ref` cycles.
const MAX_DEPTH: usize = 64;

struct Validator<'a> {
    root: &'a Value,
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    v.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn matches_type(v: &Value, t: &str) -> bool {
    match t {
        "integer" => is_integer(v),
        "number" => v.is_number(),
        other => type_of(v) == other,
    }
}

/// Go's `%v`-like rendering of JSON numbers and values in messages.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
            Some(f) => format!("{f}"),
            None => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn quoted_list<'s>(items: impl Iterator<Item = &'s str>) -> String {
    items.map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

impl Validator<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        let Some(r) = schema.get("$ref").and_then(Value::as_str) else { return schema };
        let Some(pointer) = r.strip_prefix('#') else { return schema };
        self.root.pointer(pointer).unwrap_or(schema)
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<(String, String)>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = self.resolve(schema);
        let s = match schema {
            Value::Bool(false) => {
                errors.push((at.to_string(), "false schema".into()));
                return;
            }
            Value::Object(s) => s,
            _ => return,
        };
        let mut err = |msg: String| errors.push((at.to_string(), msg));
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| matches_type(v, t)) {
                err(format!("got {}, want {}", type_of(v), types.join(" or ")));
                return;
            }
        }
        if let Some(Value::Array(options)) = s.get("enum")
            && !options.contains(v)
        {
            err(format!("value must be one of {}", options.iter().map(show).collect::<Vec<_>>().join(", ")));
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            err(format!("value must be {}", show(c)));
        }
        if let Some(n) = v.as_f64() {
            let bound = |k: &str| s.get(k).and_then(Value::as_f64);
            if let Some(m) = bound("minimum")
                && n < m
            {
                err(format!("minimum: got {}, want {}", show(v), show(&s["minimum"])));
            }
            if let Some(m) = bound("maximum")
                && n > m
            {
                err(format!("maximum: got {}, want {}", show(v), show(&s["maximum"])));
            }
            if let Some(m) = bound("exclusiveMinimum")
                && n <= m
            {
                err(format!("exclusiveMinimum: got {}, want {}", show(v), show(&s["exclusiveMinimum"])));
            }
            if let Some(m) = bound("exclusiveMaximum")
                && n >= m
            {
                err(format!("exclusiveMaximum: got {}, want {}", show(v), show(&s["exclusiveMaximum"])));
            }
            if let Some(m) = bound("multipleOf")
                && m != 0.0
                && (n / m).fract() != 0.0
            {
                err(format!("multipleOf: got {}, want {}", show(v), show(&s["multipleOf"])));
            }
        }
        if let Value::String(text) = v {
            let len = text.chars().count();
            if let Some(m) = s.get("minLength").and_then(Value::as_u64)
                && (len as u64) < m
            {
                err(format!("minLength: got {len}, want {m}"));
            }
            if let Some(m) = s.get("maxLength").and_then(Value::as_u64)
                && (len as u64) > m
            {
                err(format!("maxLength: got {len}, want {m}"));
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str)
                && let Ok(re) = regex::Regex::new(p)
                && !re.is_match(text)
            {
                err(format!("'{text}' does not match pattern '{p}'"));
            }
        }
        if let Value::Array(items) = v {
            if let Some(m) = s.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < m
            {
                err(format!("minItems: got {}, want {m}", items.len()));
            }
            if let Some(m) = s.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > m
            {
                err(format!("maxItems: got {}, want {m}", items.len()));
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                'outer: for i in 0..items.len() {
                    for j in i + 1..items.len() {
                        if items[i] == items[j] {
                            err(format!("items at {i} and {j} are equal"));
                            break 'outer;
                        }
                    }
                }
            }
            match s.get("items") {
                Some(Value::Array(tuple)) => {
                    for (i, (item, sch)) in items.iter().zip(tuple.iter()).enumerate() {
                        self.check(sch, item, &format!("{at}/{i}"), errors, depth + 1);
                    }
                }
                Some(sch) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(sch, item, &format!("{at}/{i}"), errors, depth + 1);
                    }
                }
                None => {}
            }
        }
        if let Value::Object(obj) = v {
            self.check_object(s, obj, at, errors, depth);
        }
        self.check_combinators(s, v, at, errors, depth);
    }

    fn check_object(
        &self,
        s: &Map<String, Value>,
        obj: &Map<String, Value>,
        at: &str,
        errors: &mut Vec<(String, String)>,
        depth: usize,
    ) {
        if let Some(Value::Array(req)) = s.get("required") {
            let missing: Vec<&str> =
                req.iter().filter_map(Value::as_str).filter(|k| !obj.contains_key(*k)).collect();
            match missing.as_slice() {
                [] => {}
                [one] => errors.push((at.to_string(), format!("missing property '{one}'"))),
                many => errors.push((
                    at.to_string(),
                    format!("missing properties {}", quoted_list(many.iter().copied())),
                )),
            }
        }
        if let Some(m) = s.get("minProperties").and_then(Value::as_u64)
            && (obj.len() as u64) < m
        {
            errors.push((at.to_string(), format!("minProperties: got {}, want {m}", obj.len())));
        }
        if let Some(m) = s.get("maxProperties").and_then(Value::as_u64)
            && (obj.len() as u64) > m
        {
            errors.push((at.to_string(), format!("maxProperties: got {}, want {m}", obj.len())));
        }
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(props) = props {
            for (k, sch) in props {
                if let Some(val) = obj.get(k) {
                    self.check(sch, val, &format!("{at}/{}", escape_pointer(k)), errors, depth + 1);
                }
            }
        }
        let patterns: Vec<(regex::Regex, &Value)> = s
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|pp| {
                pp.iter().filter_map(|(p, sch)| regex::Regex::new(p).ok().map(|re| (re, sch))).collect()
            })
            .unwrap_or_default();
        for (k, val) in obj {
            for (re, sch) in &patterns {
                if re.is_match(k) {
                    self.check(sch, val, &format!("{at}/{}", escape_pointer(k)), errors, depth + 1);
                }
            }
        }
        if let Some(additional) = s.get("additionalProperties") {
            let extra: Vec<&String> = obj
                .keys()
                .filter(|k| {
                    !props.is_some_and(|p| p.contains_key(*k))
                        && !patterns.iter().any(|(re, _)| re.is_match(k))
                })
                .collect();
            match additional {
                Value::Bool(false) if !extra.is_empty() => errors.push((
                    at.to_string(),
                    format!(
                        "additional properties {} not allowed",
                        quoted_list(extra.iter().map(|k| k.as_str()))
                    ),
                )),
                Value::Object(_) => {
                    for k in extra {
                        if let Some(val) = obj.get(k) {
                            self.check(
                                additional,
                                val,
                                &format!("{at}/{}", escape_pointer(k)),
                                errors,
                                depth + 1,
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn passes(&self, schema: &Value, v: &Value, depth: usize) -> bool {
        let mut errs = Vec::new();
        self.check(schema, v, "", &mut errs, depth + 1);
        errs.is_empty()
    }

    fn check_combinators(
        &self,
        s: &Map<String, Value>,
        v: &Value,
        at: &str,
        errors: &mut Vec<(String, String)>,
        depth: usize,
    ) {
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sch in all {
                self.check(sch, v, at, errors, depth + 1);
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf")
            && !any.iter().any(|sch| self.passes(sch, v, depth))
        {
            errors.push((at.to_string(), "anyOf failed".into()));
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let matching: Vec<usize> = one
                .iter()
                .enumerate()
                .filter(|(_, sch)| self.passes(sch, v, depth))
                .map(|(i, _)| i)
                .collect();
            match matching.as_slice() {
                [_] => {}
                [] => errors.push((at.to_string(), "oneOf failed, none matched".into())),
                [a, b, ..] => {
                    errors.push((at.to_string(), format!("oneOf failed, subschemas {a}, {b} matched")))
                }
            }
        }
        if let Some(not) = s.get("not")
            && self.passes(not, v, depth)
        {
            errors.push((at.to_string(), "not failed".into()));
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.passes(cond, v, depth) { s.get("then") } else { s.get("else") };
            if let Some(b) = branch {
                self.check(b, v, at, errors, depth + 1);
            }
        }
    }
}

fn escape_pointer(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, v: Value) -> Vec<String> {
        let mut out = Vec::new();
        Validator { root: &schema }.check(&schema, &v, "", &mut out, 0);
        out.into_iter().map(|(at, m)| format!("- at '{at}': {m}")).collect()
    }

    #[test]
    fn messages_match_helm4() {
        let schema = json!({
            "type": "object",
            "required": ["image"],
            "properties": {
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["fast", "safe"]},
                "tag": {"type": "string", "pattern": "^[0-9.]+$", "minLength": 2}
            },
            "additionalProperties": false
        });
        assert_eq!(
            errors(schema.clone(), json!({"image": 1, "replicas": "abc"})),
            vec![
                "- at '/replicas': got string, want integer",
                "- at '': additional properties 'image' not allowed"
            ]
        );
        assert_eq!(
            errors(schema.clone(), json!({"replicas": 20.0})),
            vec!["- at '': missing property 'image'", "- at '/replicas': maximum: got 20, want 10"]
        );
        let tags = json!({"properties": {"tag": {"type": "string", "pattern": "^[0-9.]+$"}, "mode": {"enum": ["fast", "safe"]}}});
        assert_eq!(
            errors(tags, json!({"tag": "x", "mode": "slow"})),
            vec![
                "- at '/tag': 'x' does not match pattern '^[0-9.]+$'",
                "- at '/mode': value must be one of 'fast', 'safe'"
            ]
        );
        assert_eq!(errors(json!({"type": "integer"}), json!(1.5)), vec!["- at '': got number, want integer"]);
        assert!(errors(json!({"type": "integer"}), json!(2.0)).is_empty());
    }

    #[test]
    fn refs_and_combinators() {
        let schema = json!({
            "definitions": {"port": {"type": "integer", "minimum": 1}},
            "properties": {"port": {"$ref": "#/definitions/port"}, "x": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
        });
        assert_eq!(errors(schema.clone(), json!({"port": 0})), vec!["- at '/port': minimum: got 0, want 1"]);
        assert_eq!(errors(schema, json!({"x": 3})), vec!["- at '/x': anyOf failed"]);
        let cyclic = json!({"$ref": "#"});
        assert!(errors(cyclic, json!({})).is_empty());
    }
}
