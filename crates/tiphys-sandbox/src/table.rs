//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which
//! `kubectl get` asks for; columns follow the API server's for the common kinds.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::store::{ListPage, Stored};
use crate::types::{PrinterColumn, ResourceType, get_path};

/// A human age the way kubectl prints it: `45s`, `3m12s`, `5h`, `2d`.
pub fn age(created: &str, now: jiff::Timestamp) -> String {
    let Ok(t) = created.parse::<jiff::Timestamp>() else { return "<unknown>".into() };
    let secs = (now.as_second() - t.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Name, type and priority of each column: the kind's own for built-in kinds, a CRD's
/// `additionalPrinterColumns` for custom ones (Age last unless the CRD places it).
fn columns(rt: &ResourceType) -> Vec<(String, String, i64)> {
    if !rt.printer_columns.is_empty() {
        let mut cols = vec![("Name".to_string(), "string".to_string(), 0)];
        cols.extend(rt.printer_columns.iter().map(|c| (c.name.clone(), c.type_.clone(), c.priority)));
        if !rt.printer_columns.iter().any(|c| c.json_path == ".metadata.creationTimestamp") {
            cols.push(("Age".into(), "date".into(), 0));
        }
        return cols;
    }
    builtin_columns(rt).into_iter().map(|(n, t)| (n.to_string(), t.to_string(), 0)).collect()
}

fn builtin_columns(rt: &ResourceType) -> Vec<(&'static str, &'static str)> {
    let mut cols = vec![("Name", "string")];
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => {
            cols.extend([("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer")])
        }
        ("apps", "ReplicaSet") => {
            cols.extend([("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")])
        }
        ("", "Pod") => cols.extend([("Ready", "string"), ("Status", "string"), ("Restarts", "string")]),
        ("", "Namespace") => cols.push(("Status", "string")),
        ("", "Service") => cols.extend([("Type", "string"), ("Cluster-IP", "string")]),
        ("batch", "Job") => cols.push(("Status", "string")),
        _ => {}
    }
    cols.push(("Age", "string"));
    cols
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// A printer column's cell: the value at its path (a date as an age, as kubectl prints it).
fn printer_cell(column: &PrinterColumn, obj: &Value, now: jiff::Timestamp) -> Value {
    match get_path(obj, &column.json_path) {
        Some(Value::String(t)) if column.type_ == "date" => json!(age(t, now)),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn cells(rt: &ResourceType, obj: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let mut out = vec![obj["metadata"]["name"].clone()];
    if !rt.printer_columns.is_empty() {
        out.extend(rt.printer_columns.iter().map(|c| printer_cell(c, obj, now)));
        if !rt.printer_columns.iter().any(|c| c.json_path == ".metadata.creationTimestamp") {
            out.push(json!(age(obj["metadata"]["creationTimestamp"].as_str().unwrap_or_default(), now)));
        }
        return out;
    }
    let st = &obj["status"];
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment") => out.extend([
            json!(format!("{}/{}", int(&st["readyReplicas"]), int(&obj["spec"]["replicas"]))),
            json!(int(&st["updatedReplicas"])),
            json!(int(&st["availableReplicas"])),
        ]),
        ("apps", "ReplicaSet") => out.extend([
            json!(int(&obj["spec"]["replicas"])),
            json!(int(&st["replicas"])),
            json!(int(&st["readyReplicas"])),
        ]),
        ("", "Pod") => {
            let statuses = st["containerStatuses"].as_array().cloned().unwrap_or_default();
            let total = obj["spec"]["containers"].as_array().map(Vec::len).unwrap_or(0);
            let ready = statuses.iter().filter(|c| c["ready"] == json!(true)).count();
            let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
            let waiting = statuses.iter().find_map(|c| c["state"]["waiting"]["reason"].as_str());
            let phase = waiting.or(st["phase"].as_str()).unwrap_or("Pending");
            out.extend([json!(format!("{ready}/{total}")), json!(phase), json!(restarts.to_string())]);
        }
        ("", "Namespace") => out.push(st["phase"].clone()),
        ("", "Service") => out.extend([obj["spec"]["type"].clone(), obj["spec"]["clusterIP"].clone()]),
        ("batch", "Job") => {
            let done = st["conditions"].as_array().into_iter().flatten().find_map(|c| {
                (c["status"] == "True" && matches!(c["type"].as_str(), Some("Complete" | "Failed")))
                    .then(|| c["type"].clone())
            });
            out.push(done.unwrap_or(json!("Running")));
        }
        _ => {}
    }
    out.push(json!(age(obj["metadata"]["creationTimestamp"].as_str().unwrap_or_default(), now)));
    out
}

fn column_definitions(rt: &ResourceType) -> Vec<Value> {
    columns(rt)
        .into_iter()
        .map(|(name, kind, priority)| {
            let format = if name == "Name" { "name" } else { "" };
            json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
        })
        .collect()
}

fn row(rt: &ResourceType, stored: &Stored, now: jiff::Timestamp) -> Value {
    let obj = stored.value().unwrap_or(Value::Null);
    let meta =
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]});
    json!({"cells": cells(rt, &obj, now), "object": meta})
}

fn table(rt: &ResourceType, rows: Vec<Value>, meta: Value, with_columns: bool) -> Value {
    let mut t = json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": rows});
    if with_columns {
        t["columnDefinitions"] = json!(column_definitions(rt));
    }
    t
}

/// A list page as a Table.
pub fn list_table(rt: &ResourceType, page: &ListPage, now: jiff::Timestamp) -> Value {
    let mut meta = json!({"resourceVersion": page.rv.to_string()});
    if let Some(c) = &page.continue_token {
        meta["continue"] = json!(c);
    }
    table(rt, page.items.iter().map(|s| row(rt, s, now)).collect(), meta, true)
}

/// Single objects as a Table (`kubectl get KIND NAME`, watch events).
pub fn object_table(rt: &ResourceType, items: &[Arc<Stored>], now: jiff::Timestamp) -> Value {
    let rv = items.last().map(|s| s.rv.to_string()).unwrap_or_default();
    table(rt, items.iter().map(|s| row(rt, s, now)).collect(), json!({"resourceVersion": rv}), true)
}

/// One watch event's object as a Table; column definitions only on the first event.
pub fn event_table(rt: &ResourceType, item: &Stored, first: bool, now: jiff::Timestamp) -> Value {
    table(rt, vec![row(rt, item, now)], json!({"resourceVersion": item.rv.to_string()}), first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = jiff::Timestamp::from_second(1_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let at = |secs: i64| {
            let t = jiff::Timestamp::from_second(1_000_000 - secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            age(&crate::store::format_time(t), now)
        };
        assert_eq!(
            [at(5), at(200), at(3700), at(5 * 3600), at(3 * 86400)],
            ["5s", "3m20s", "61m", "5h", "3d"]
        );
        assert_eq!(age("garbage", now), "<unknown>");
    }
}
