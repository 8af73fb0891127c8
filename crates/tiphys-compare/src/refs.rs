//! The ref-resolution cache: one `ls-remote` per normalised repository URL per TTL, shared by
//! every Application of that repository, with single flight (concurrent callers wait for the
//! one call in progress and take its answer). Failures are cached for the TTL too, so a
//! thousand apps on an unreachable server cost one timeout, not a thousand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tiphys_git::{Credentials, GitCache, Resolved, resolve_revision};

/// Refs as `ls-remote` lists them (full name → SHA), or the redacted reason it failed.
type Refs = Result<Arc<Vec<(String, String)>>, String>;

/// Why a revision did not resolve.
pub(crate) enum Unresolved {
    /// `ls-remote` failed (tiphys-git's message, naming the repository).
    Git(String),
    /// The refs do not contain it (the hint says what was tried).
    NotFound(String),
}

/// One `ls-remote` answer and the revisions resolved against it so far (resolution parses
/// semver constraints, which is not free; a thousand apps ask for the same few revisions).
struct Answer {
    at: Instant,
    refs: Refs,
    resolved: HashMap<String, Result<Resolved, String>>,
}

#[derive(Default)]
struct Entry {
    answer: Mutex<Option<Answer>>,
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

    /// Resolves `revision` of `url` against its refs: cached when the answer is younger than
    /// the TTL (unless `fresh`), else one `ls-remote` while other callers for the same
    /// repository wait.
    pub(crate) fn resolve(
        &self,
        git: &GitCache,
        url: &str,
        creds: Option<&Credentials>,
        fresh: bool,
        revision: &str,
    ) -> Result<Resolved, Unresolved> {
        let entry = lock(&self.entries).entry(tiphys_git::normalize(url)).or_default().clone();
        let mut guard = lock(&entry.answer);
        let stale = guard.as_ref().is_none_or(|a| a.at.elapsed() >= self.ttl);
        if fresh || stale {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let refs = git.ls_remote(url, creds).map(Arc::new).map_err(|e| e.to_string());
            *guard = Some(Answer { at: Instant::now(), refs, resolved: HashMap::new() });
        }
        let Some(answer) = guard.as_mut() else { return Err(Unresolved::Git("no ls-remote answer".into())) };
        let refs = answer.refs.as_ref().map_err(|e| Unresolved::Git(e.clone()))?;
        answer
            .resolved
            .entry(revision.to_string())
            .or_insert_with(|| resolve_revision(refs, revision))
            .clone()
            .map_err(Unresolved::NotFound)
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
