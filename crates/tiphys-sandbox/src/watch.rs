//! Watch streams: newline-delimited JSON events read from the store's global event log,
//! filtered per watcher, with bookmarks and `410 Gone` for expired resourceVersions.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::json;

use crate::server::{Params, Shared, Target, render};
use crate::store::{Event, Filter};
use crate::table;

/// Starts a watch and returns the streaming response.
pub(crate) fn serve(
    shared: Arc<Shared>,
    target: Target,
    filter: Filter,
    params: &Params,
    as_table: bool,
) -> Response {
    let since = params.get("resourceVersion").and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0);
    let bookmarks = params.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let initial_events = params.get("sendInitialEvents").is_some_and(|v| v == "true");
    let timeout = params.get("timeoutSeconds").and_then(|v| v.parse::<u64>().ok()).map(Duration::from_secs);
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(64);
    let watcher = Watcher { shared, target, filter, bookmarks, as_table, first: true, tx };
    tokio::spawn(watcher.run(since, initial_events, timeout));
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(rx)).into_response()
}

struct Watcher {
    shared: Arc<Shared>,
    target: Target,
    filter: Filter,
    bookmarks: bool,
    as_table: bool,
    first: bool,
    tx: mpsc::Sender<Result<String, std::io::Error>>,
}

impl Watcher {
    fn object_json(&mut self, stored: &crate::store::Stored) -> String {
        if self.as_table {
            let first = std::mem::replace(&mut self.first, false);
            return table::event_table(&self.target.rt, stored, first, jiff::Timestamp::now()).to_string();
        }
        render(&self.target.rt, stored)
    }

    async fn send(&mut self, kind: &str, object: String) -> bool {
        self.tx.send(Ok(format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n"))).await.is_ok()
    }

    async fn bookmark(&mut self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.target.rt.kind, "apiVersion": self.target.rt.api_version(), "metadata": meta});
        self.send("BOOKMARK", obj.to_string()).await
    }

    fn same_resource(&self, e: &Event) -> bool {
        e.gr.0 == self.target.rt.group && e.gr.1 == self.target.rt.plural
    }

    async fn run(mut self, since: Option<u64>, initial_events: bool, timeout: Option<Duration>) {
        let deadline = tokio::time::Instant::now() + timeout.unwrap_or(Duration::from_secs(1800));
        let mut changed = self.shared.changed.subscribe();
        changed.borrow_and_update();
        let mut last = match since {
            Some(rv) if !initial_events => rv,
            _ => {
                // No resourceVersion (or "0", or sendInitialEvents): replay the current state.
                let page = {
                    let store = self.shared.lock();
                    store.list(&self.target.rt, &self.filter, None, None)
                };
                let Ok(page) = page else { return };
                for item in &page.items {
                    let obj = self.object_json(item);
                    if !self.send("ADDED", obj).await {
                        return;
                    }
                }
                if initial_events && self.bookmarks && !self.bookmark(page.rv, true).await {
                    return;
                }
                page.rv
            }
        };
        let interval = self.shared.bookmark_interval;
        let epoch = self.shared.watch_epoch.load(std::sync::atomic::Ordering::SeqCst);
        loop {
            if self.shared.watch_epoch.load(std::sync::atomic::Ordering::SeqCst) != epoch {
                return;
            }
            let batch = {
                let store = self.shared.lock();
                let current = store.resource_version();
                store.events_since(last, |e| self.same_resource(e)).map(|events| (events, current))
            };
            match batch {
                Err(err) => {
                    let status = err.to_status();
                    let _ = self.send("ERROR", status.to_string()).await;
                    return;
                }
                Ok((events, current)) => {
                    let seen: Vec<_> = events.iter().filter_map(|e| e.as_seen_by(&self.filter)).collect();
                    for (kind, object) in seen {
                        let obj = self.object_json(&object);
                        if !self.send(kind.as_str(), obj).await {
                            return;
                        }
                    }
                    last = last.max(current);
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() || *changed.borrow() == u64::MAX { return },
                _ = tokio::time::sleep(interval) => {
                    if self.tx.is_closed() || (self.bookmarks && !self.bookmark(last, false).await) {
                        return;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => return,
            }
        }
    }
}
