//! Values: reading `values.yaml`-style files the way Helm decodes them, and Helm's coalescing
//! rules (chart defaults < parent overrides < user files < `--set`; maps merge, everything
//! else is replaced; `null` deletes a key; `global` flows from parents into subcharts).

use serde_json::{Map, Value};

use crate::chart::Chart;

/// The key whose table is shared with every subchart.
pub const GLOBAL_KEY: &str = "global";

/// Parses one YAML document the way sigs.k8s.io/yaml (go-yaml v2) accepts it: legacy octal
/// numbers, and a repeated key keeps its last value instead of failing. A blank or
/// comment-only document is `null`. Errors are in go-yaml's words
/// (`yaml: line N: ...`).
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<Option<T>, String> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Ok(None);
    }
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::LastWins,
    };
    serde_saphyr::from_str_with_options::<T>(text, options).map(Some).map_err(|e| {
        let line = e.location().map(|l| l.line() as usize).filter(|l| *l > 0).unwrap_or(1);
        let message = e.to_string();
        let first =
            message.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid YAML").trim().to_string();
        crate::manifest::go_yaml_error(text, line, &first)
    })
}

/// Parses a values document like Helm (sigs.k8s.io/yaml into `map[string]interface{}`): every
/// number becomes a float64 and an empty document is an empty map.
pub fn read_values(data: &[u8]) -> Result<Map<String, Value>, String> {
    let text = String::from_utf8_lossy(data);
    let json = parse_yaml::<Value>(&text)
        .map_err(|e| format!("error converting YAML to JSON: {e}"))?
        .unwrap_or(Value::Null);
    match floats(json) {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(&other)
        )),
    }
}

/// The JSON type name Go's `encoding/json` uses in "cannot unmarshal X" errors.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// Turns every number into a float, as Go's JSON decoding into `interface{}` does.
pub fn floats(v: Value) -> Value {
    match v {
        Value::Number(n) => {
            n.as_f64().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
}

fn is_table(v: &Value) -> bool {
    v.is_object()
}

/// `CoalesceValues`: the chart's (and its subcharts') defaults under `vals`, nulls removed.
pub fn coalesce_values(chart: &Chart, vals: &Map<String, Value>) -> Map<String, Value> {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, false);
    dest
}

/// `MergeValues`: like [`coalesce_values`] but nulls are kept (for later coalescing).
pub fn merge_values(chart: &Chart, vals: &Map<String, Value>) -> Map<String, Value> {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, true);
    dest
}

fn coalesce(chart: &Chart, dest: &mut Map<String, Value>, merge: bool) {
    coalesce_chart_values(chart, dest, merge);
    coalesce_deps(chart, dest, merge);
}

fn coalesce_deps(chart: &Chart, dest: &mut Map<String, Value>, merge: bool) {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        match dest.get(&name) {
            None => {
                dest.insert(name.clone(), Value::Object(Map::new()));
            }
            Some(v) if !is_table(v) => continue,
            Some(_) => {}
        }
        let globals = dest.get(GLOBAL_KEY).cloned();
        let Some(Value::Object(dvmap)) = dest.get_mut(&name) else { continue };
        coalesce_globals(dvmap, globals.as_ref());
        coalesce(sub, dvmap, merge);
    }
}

fn coalesce_globals(dest: &mut Map<String, Value>, src_globals: Option<&Value>) {
    let mut dg = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src_globals {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        if let Value::Object(vm) = &val {
            let mut vv = vm.clone();
            match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    let mut destv = destv.clone();
                    coalesce_tables(&mut vv, &mut destv, true);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {}
            }
        } else if dg.get(&key).is_some_and(is_table) {
            // A scalar global never replaces a table a subchart declared.
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL_KEY.into(), Value::Object(dg));
}

fn coalesce_chart_values(chart: &Chart, v: &mut Map<String, Value>, merge: bool) {
    for (key, val) in chart.values.clone() {
        if let Some(value) = v.get_mut(&key) {
            if value.is_null() && !merge {
                v.remove(&key);
            } else if let Value::Object(dest) = value
                && let Value::Object(mut src) = val
            {
                let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                if !merge {
                    clean_nils(&mut src);
                }
                coalesce_tables(dest, &mut src, merge);
            }
        } else {
            let mut val = val;
            if !merge {
                if val.is_null() {
                    continue;
                }
                if let Value::Object(m) = &mut val {
                    clean_nils(m);
                }
            }
            v.insert(key, val);
        }
    }
}

fn clean_nils(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        if let Value::Object(sub) = v {
            clean_nils(sub);
        }
    }
}

/// `CoalesceTables`: `src` fills in what `dst` lacks; `dst` wins; a null in `dst` deletes.
pub fn coalesce_tables_into(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    coalesce_tables(dst, &mut src.clone(), false);
}

/// `MergeTables`: like [`coalesce_tables_into`] but nulls in `dst` are kept.
pub fn merge_tables_into(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    coalesce_tables(dst, &mut src.clone(), true);
}

fn coalesce_tables(dst: &mut Map<String, Value>, src: &mut Map<String, Value>, merge: bool) {
    let src_non_nil: Vec<String> = src.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect();
    for (key, val) in dst.iter() {
        if val.is_null() {
            src.insert(key.clone(), Value::Null);
        }
    }
    for (key, val) in src.iter_mut() {
        match dst.get_mut(key) {
            Some(dv) if !merge && dv.is_null() && src_non_nil.contains(key) => {
                dst.remove(key);
            }
            None => {
                dst.insert(key.clone(), val.clone());
            }
            Some(Value::Object(dm)) => {
                if let Value::Object(sv) = val {
                    coalesce_tables(dm, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

/// `Values.Table`: the table at a dotted path, if every step is a table.
pub fn table<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a Map<String, Value>> {
    let mut cur = values;
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// `Values.PathValue`: the non-table value at a dotted path.
pub fn path_value<'a>(values: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(values, p)?, k),
        None => (values, path),
    };
    parent.get(key).filter(|v| !is_table(v))
}

/// `pathToMap`: nests `data` under a dotted path (`a.b` → `{a: {b: data}}`); `.` is the root.
pub fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    if path == "." {
        return data;
    }
    let mut out = data;
    for part in path.split('.').filter(|p| !p.is_empty()).collect::<Vec<_>>().into_iter().rev() {
        let mut m = Map::new();
        m.insert(part.to_string(), Value::Object(out));
        out = m;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn numbers_are_floats_like_helm() {
        let v = read_values(b"a: 1\nb: 0755\n").unwrap_or_default();
        assert_eq!(v.get("a").and_then(Value::as_f64), Some(1.0));
        assert!(v.get("a").is_some_and(|n| n.as_i64().is_none()));
        assert_eq!(v.get("b").and_then(Value::as_f64), Some(493.0));
    }

    #[test]
    fn user_null_deletes_chart_default() {
        let chart = Chart { values: obj(json!({"a": 1, "b": {"c": 2, "d": 3}})), ..Chart::default() };
        let out = coalesce_values(&chart, &obj(json!({"a": null, "b": {"c": null}})));
        assert_eq!(Value::Object(out), json!({"b": {"d": 3}}));
    }

    #[test]
    fn tables_merge_and_user_wins() {
        let mut dst = obj(json!({"a": {"x": 1}, "s": "user"}));
        coalesce_tables_into(&mut dst, &obj(json!({"a": {"y": 2}, "s": "chart", "t": true})));
        assert_eq!(Value::Object(dst), json!({"a": {"x": 1, "y": 2}, "s": "user", "t": true}));
    }

    #[test]
    fn path_helpers() {
        let v = obj(json!({"a": {"b": {"c": true}}}));
        assert_eq!(path_value(&v, "a.b.c"), Some(&json!(true)));
        assert_eq!(path_value(&v, "a.b"), None);
        assert_eq!(Value::Object(path_to_map("x.y", obj(json!({"k": 1})))), json!({"x": {"y": {"k": 1}}}));
    }
}
