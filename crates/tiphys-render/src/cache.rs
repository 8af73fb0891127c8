//! Content-addressed render results: the same repository, commit, path, options and build
//! environment always render to the same manifests, so a second render is a map lookup.
//!
//! Entries are kept as compact JSON bytes, not as parsed values: a parsed manifest takes about
//! ten times its JSON size (a map per object, a heap string per key), and the cache holds one
//! manifest set per app and commit. A hit parses the bytes again (tens of microseconds for a
//! typical app), which its caller would otherwise spend cloning the values.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{AppContext, ApplicationSource, RenderError};

/// Identifies one render: (repository, commit, path, hash of options and build environment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderKey {
    /// Normalised repository URL.
    pub repo: String,
    /// Full commit SHA.
    pub commit: String,
    /// Source path.
    pub path: String,
    /// SHA-256 of the source options, the build environment and `extra`.
    pub options: [u8; 32],
}

impl RenderKey {
    /// Builds the key; `extra` covers inputs outside the source (plugin definitions, build
    /// options, commits of `$ref` sources).
    pub fn new(repo: &str, commit: &str, source: &ApplicationSource, app: &AppContext, extra: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(source).unwrap_or_default());
        h.update([0]);
        for (k, v) in app.build_env() {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        h.update(extra);
        RenderKey {
            repo: repo.to_string(),
            commit: commit.to_string(),
            path: source.path.clone().unwrap_or_default(),
            options: h.finalize().into(),
        }
    }
}

#[derive(Default)]
struct Entries {
    map: HashMap<RenderKey, Arc<[u8]>>,
    order: VecDeque<RenderKey>,
}

/// A bounded in-memory cache of successful renders (errors are not cached, so a fixed tool
/// or a raised limit takes effect on the next try). Oldest entries are evicted first.
pub struct RenderCache {
    entries: Mutex<Entries>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RenderCache {
    /// A cache holding at most `capacity` renders.
    pub fn new(capacity: usize) -> Self {
        RenderCache {
            entries: Mutex::new(Entries::default()),
            capacity: capacity.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Returns the cached manifests for `key`, or renders, stores and returns them.
    pub fn get_or_render(
        &self,
        key: &RenderKey,
        render: impl FnOnce() -> Result<Vec<Value>, RenderError>,
    ) -> Result<Arc<Vec<Value>>, RenderError> {
        let found = self.lock().map.get(key).cloned();
        // The bytes were written by serde_json from values, so they parse; if they ever did
        // not, rendering again is the answer.
        if let Some(objects) = found.and_then(|bytes| serde_json::from_slice::<Vec<Value>>(&bytes).ok()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::new(objects));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let rendered = Arc::new(render()?);
        let Ok(bytes) = serde_json::to_vec(rendered.as_ref()) else { return Ok(rendered) };
        let mut entries = self.lock();
        if entries.map.insert(key.clone(), Arc::from(bytes)).is_none() {
            entries.order.push_back(key.clone());
        }
        while entries.order.len() > self.capacity {
            if let Some(old) = entries.order.pop_front() {
                entries.map.remove(&old);
            }
        }
        Ok(rendered)
    }

    /// (hits, misses) since creation, for metrics and tests.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
