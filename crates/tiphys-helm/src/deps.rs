//! Dependency processing before rendering: aliases, `condition`/`tags` enablement and
//! `import-values` (Helm's `ProcessDependenciesWithMerge`).

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::values::{self, path_to_map, path_value, table};

/// Resolves which subcharts take part and imports child values into parents. `vals` are the
/// user-supplied values (files and `--set`), which decide conditions and tags.
pub fn process_dependencies(chart: &mut Chart, vals: &Map<String, Value>) {
    process_enabled(chart, vals, "");
    process_import_values(chart);
}

/// Helm's `IsCompatibleRange`: whether `version` satisfies the constraint; an unparsable
/// constraint or version (including an empty constraint) is "not compatible".
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    !constraint.trim().is_empty()
        && tiphys_gotemplate::semver::satisfies(constraint, version).unwrap_or(false)
}

fn process_enabled(chart: &mut Chart, vals: &Map<String, Value>, path: &str) {
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    let existing = std::mem::take(&mut chart.dependencies);
    let mut kept: Vec<Chart> = Vec::new();
    // Subcharts in charts/ that no declared dependency matches render as they are.
    for sub in &existing {
        let declared = chart
            .metadata
            .dependencies
            .iter()
            .any(|d| d.name == sub.name() && is_compatible_range(&d.version, &sub.metadata.version));
        if !declared {
            kept.push(sub.clone());
        }
    }
    for dep in &mut chart.metadata.dependencies {
        if let Some(sub) = existing
            .iter()
            .find(|c| c.name() == dep.name && is_compatible_range(&dep.version, &c.metadata.version))
        {
            let mut sub = sub.clone();
            if !dep.alias.is_empty() {
                sub.metadata.name = dep.alias.clone();
            }
            kept.push(sub);
        }
        if !dep.alias.is_empty() {
            dep.name = dep.alias.clone();
        }
        dep.enabled = true;
    }
    chart.dependencies = kept;
    let cvals = values::coalesce_values(chart, vals);
    apply_tags(chart, &cvals);
    apply_conditions(chart, &cvals, path);
    let disabled: Vec<String> =
        chart.metadata.dependencies.iter().filter(|d| !d.enabled).map(|d| d.name.clone()).collect();
    chart.dependencies.retain(|c| !disabled.contains(&c.metadata.name));
    chart.metadata.dependencies.retain(|d| !disabled.contains(&d.name));
    for sub in &mut chart.dependencies {
        let subpath = format!("{path}{}.", sub.metadata.name);
        process_enabled(sub, &cvals, &subpath);
    }
}

fn apply_tags(chart: &mut Chart, cvals: &Map<String, Value>) {
    let Some(tags) = table(cvals, "tags") else { return };
    for dep in &mut chart.metadata.dependencies {
        let mut has_true = false;
        let mut has_false = false;
        for tag in &dep.tags {
            match tags.get(tag) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        if !has_true && has_false {
            dep.enabled = false;
        } else if has_true || !has_false {
            dep.enabled = true;
        }
    }
}

fn apply_conditions(chart: &mut Chart, cvals: &Map<String, Value>, path: &str) {
    for dep in &mut chart.metadata.dependencies {
        for cond in dep.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                dep.enabled = *b;
                break;
            }
        }
    }
}

fn process_import_values(chart: &mut Chart) {
    for sub in &mut chart.dependencies {
        process_import_values(sub);
    }
    if chart.metadata.dependencies.is_empty() {
        return;
    }
    let cvals = values::merge_values(chart, &Map::new());
    let mut imported = Map::new();
    for dep in &mut chart.metadata.dependencies {
        let mut normalized = Vec::new();
        for iv in &dep.import_values {
            let (child, parent) = match iv {
                Value::Object(m) => {
                    let child = m.get("child").and_then(Value::as_str).unwrap_or_default().to_string();
                    let parent = m.get("parent").and_then(Value::as_str).unwrap_or_default().to_string();
                    (child, parent)
                }
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            let mut entry = Map::new();
            entry.insert("child".into(), Value::String(child.clone()));
            entry.insert("parent".into(), Value::String(parent.clone()));
            normalized.push(Value::Object(entry));
            let Some(found) = table(&cvals, &format!("{}.{child}", dep.name)) else { continue };
            values::merge_tables_into(&mut imported, &path_to_map(&parent, found.clone()));
        }
        dep.import_values = normalized;
    }
    let mut new_values = cvals;
    values::merge_tables_into(&mut new_values, &imported);
    chart.values = new_values;
}

#[cfg(test)]
mod tests {
    use super::is_compatible_range;

    #[test]
    fn compatible_ranges_follow_masterminds() {
        assert!(is_compatible_range("0.1.0", "0.1.0"));
        assert!(!is_compatible_range("0.1.0", "0.1.1"));
        assert!(is_compatible_range("^1.2.0", "1.9.0"));
        assert!(is_compatible_range(">=1.20.0-0", "v1.20.0"));
        assert!(is_compatible_range("1.x.x", "1.2.0"));
        assert!(!is_compatible_range("", "1.0.0"));
        assert!(!is_compatible_range(">=1.0.0", "not-a-version"));
    }
}
