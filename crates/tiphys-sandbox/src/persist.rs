//! `--data DIR`: state that survives restarts.
//!
//! Layout: `snapshot.jsonl` (first line `{"rv": N}`, then one `{"gr": [group, plural],
//! "object": {...}}` per object) and `journal.jsonl` (one line per change since the
//! snapshot). On start the snapshot and journal are loaded, a new snapshot is written to a
//! temporary file and renamed over the old one (atomic), and the journal is truncated. A torn
//! last journal line (a crash mid-write) is ignored.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::store::{Event, EventType, GroupResource, Store};

const SNAPSHOT: &str = "snapshot.jsonl";
const JOURNAL: &str = "journal.jsonl";

/// The append-only change log of a data directory.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

fn data_err(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Data { path: path.display().to_string(), message: format!("{what}: {e}") }
}

type Objects = BTreeMap<(GroupResource, String, String), Value>;

fn key_of(gr: GroupResource, obj: &Value) -> (GroupResource, String, String) {
    let meta = &obj["metadata"];
    (
        gr,
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

fn gr_of(v: &Value) -> Option<GroupResource> {
    Some((v["gr"][0].as_str()?.to_string(), v["gr"][1].as_str()?.to_string()))
}

fn read_lines(path: &Path) -> Result<Vec<Value>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(data_err(path, "cannot read", e)),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| data_err(path, "cannot read", e))?;
        match serde_json::from_str::<Value>(&line) {
            Ok(v) => out.push(v),
            // A torn final line from a crash: everything before it is intact.
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Loads `dir` into `store` and returns the journal to append future changes to.
pub fn open(dir: &Path, store: &mut Store) -> Result<Journal> {
    fs::create_dir_all(dir).map_err(|e| data_err(dir, "cannot create the data directory", e))?;
    let mut objects: Objects = BTreeMap::new();
    let mut rv = 0u64;
    let snapshot = read_lines(&dir.join(SNAPSHOT))?;
    for line in snapshot {
        if let Some(n) = line["rv"].as_u64() {
            rv = rv.max(n);
        }
        if let Some(gr) = gr_of(&line) {
            let obj = line["object"].clone();
            objects.insert(key_of(gr, &obj), obj);
        }
    }
    for line in read_lines(&dir.join(JOURNAL))? {
        rv = rv.max(line["rv"].as_u64().unwrap_or(0));
        let Some(gr) = gr_of(&line) else { continue };
        let obj = line["object"].clone();
        let key = key_of(gr, &obj);
        if line["type"] == "DELETED" {
            objects.remove(&key);
        } else {
            objects.insert(key, obj);
        }
    }
    let restored = !objects.is_empty();
    // CRDs first so their types exist before their objects are indexed.
    let (crds, rest): (Vec<_>, Vec<_>) =
        objects.into_iter().partition(|((gr, _, _), _)| gr.1 == "customresourcedefinitions");
    for ((gr, _, _), obj) in crds.into_iter().chain(rest) {
        store.restore(&gr, obj);
    }
    if restored {
        store.finish_restore(rv);
    }
    write_snapshot(dir, store)?;
    let path = dir.join(JOURNAL);
    let file = File::create(&path).map_err(|e| data_err(&path, "cannot create the journal", e))?;
    store.enable_journal();
    Ok(Journal { path, file: Mutex::new(file) })
}

fn write_snapshot(dir: &Path, store: &Store) -> Result<()> {
    let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
    let mut out = String::new();
    out.push_str(&json!({"rv": store.resource_version()}).to_string());
    out.push('\n');
    for (gr, obj) in store.snapshot() {
        out.push_str(&format!("{{\"gr\":{},\"object\":{}}}\n", json!([gr.0, gr.1]), obj.json));
    }
    let mut file = File::create(&tmp).map_err(|e| data_err(&tmp, "cannot write", e))?;
    file.write_all(out.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| data_err(&tmp, "cannot write", e))?;
    fs::rename(&tmp, dir.join(SNAPSHOT)).map_err(|e| data_err(&tmp, "cannot replace the snapshot", e))
}

impl Journal {
    /// Appends events (one JSON line each).
    pub fn append(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for e in events {
            let kind = match e.kind {
                EventType::Added => "ADDED",
                EventType::Modified => "MODIFIED",
                EventType::Deleted => "DELETED",
            };
            text.push_str(&format!(
                "{{\"rv\":{},\"type\":\"{kind}\",\"gr\":{},\"object\":{}}}\n",
                e.rv,
                json!([e.gr.0, e.gr.1]),
                e.object.json
            ));
        }
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(text.as_bytes())
            .and_then(|_| file.flush())
            .map_err(|e| data_err(&self.path, "cannot append", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteOptions;
    use std::fs::OpenOptions;

    fn append_only(dir: &Path) -> Result<File> {
        let path = dir.join(JOURNAL);
        OpenOptions::new().append(true).open(&path).map_err(|e| data_err(&path, "cannot open", e))
    }

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::UNIX_EPOCH
    }

    #[test]
    fn state_survives_a_restart_and_versions_keep_increasing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::new(100, now());
        let journal = open(dir.path(), &mut store).expect("open");
        let cms = store.find_type("", "v1", "configmaps").expect("cm");
        for name in ["a", "b"] {
            let body = json!({"metadata": {"name": name}, "data": {"k": name}});
            store.create(&cms, Some("default"), body, &WriteOptions::default(), now()).expect("create");
        }
        store.delete(&cms, "default", "b", &Default::default(), now()).expect("delete");
        journal.append(&store.take_journal()).expect("append");
        let before = store.resource_version();
        // A crash mid-append leaves a torn line.
        append_only(dir.path())
            .and_then(|mut f| f.write_all(b"{\"rv\":99,\"ty").map_err(|e| data_err(dir.path(), "w", e)))
            .expect("torn");

        let mut again = Store::new(100, now());
        open(dir.path(), &mut again).expect("reopen");
        assert_eq!(again.resource_version(), before);
        let a = again.get(&cms, "default", "a").expect("a kept").value().expect("json");
        assert_eq!(a["data"]["k"], "a");
        assert!(again.get(&cms, "default", "b").is_err(), "deletion kept");
        let c = again.create(
            &cms,
            Some("default"),
            json!({"metadata": {"name": "c"}}),
            &WriteOptions::default(),
            now(),
        );
        let rv: u64 = c.expect("create")["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(rv > before);
    }
}
