//! The ref-resolution cache: one `ls-remote` per normalised repository URL per TTL, shared by
//! every Application of that repository, with single flight (concurrent callers wait for the
//! one call in progress and take its answer). Failures are cached for the TTL too, so a
//! thousand apps on an unreachable server cost one timeout, not a thousand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tiphys_git::{Credentials, GitCache};

/// Refs as `ls-remote` lists them (full name → SHA), or the redacted reason it failed.
pub(crate) type Refs = Result<Arc<Vec<(String, String)>>, String>;

#[derive(Default)]
struct Entry {
    answer: Mutex<Option<(Instant, Refs)>>,
}

pub(crate) struct RefCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    calls: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RefCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        RefCache { ttl, entries: Mutex::new(HashMap::new()), calls: AtomicU64::new(0) }
    }

    /// The refs of `url`: cached when younger than the TTL (unless `fresh`), else one
    /// `ls-remote` while other callers for the same repository wait.
    pub(crate) fn refs(&self, git: &GitCache, url: &str, creds: Option<&Credentials>, fresh: bool) -> Refs {
        let entry = lock(&self.entries).entry(tiphys_git::normalize(url)).or_default().clone();
        let mut answer = lock(&entry.answer);
        if !fresh
            && let Some((at, refs)) = answer.as_ref()
            && at.elapsed() < self.ttl
        {
            return refs.clone();
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let refs = git.ls_remote(url, creds).map(Arc::new).map_err(|e| e.to_string());
        *answer = Some((Instant::now(), refs.clone()));
        refs
    }

    /// Drops the cached answer for `url` (push webhook, hard refresh).
    pub(crate) fn invalidate(&self, url: &str) {
        lock(&self.entries).remove(&tiphys_git::normalize(url));
    }

    /// How many `ls-remote` calls ran.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}
