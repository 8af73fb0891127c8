//! The refresh queue: which Application to compare next, and how deeply.
//!
//! Requests for the same app are merged (the deepest level and the earliest time win), an app
//! is never handed to two workers at once, and a request that arrives while the app is being
//! processed is kept and handed out again when the worker finishes, so no change is lost and
//! no app is compared twice in parallel (upstream's work queue has the same guarantees). The
//! queue is pure: time is a parameter, so tests drive it without sleeping.
//!
//! Live-state refreshes ([`Level::CompareOnly`]) of one app are coalesced: one starts at
//! least [`RefreshQueue::coalescing`]'s interval after the previous refresh of that app
//! started. A sync makes dozens of watch events per app (each object created, then its
//! status, its ReplicaSet's, its Pods'); refreshing on each made 17 reconciles per app in the
//! 1,000-app initial sync. Upstream's app refresh queue is rate-limited per item for the same
//! reason. Git refreshes (`Normal`, `Hard`: a spec change, a webhook, the refresh
//! annotation) are never held back.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// How much work a refresh does, in increasing order; a deeper level includes the shallower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Re-compare with the revision already resolved (a live object changed): no Git call.
    CompareOnly,
    /// Resolve the target revision again (periodic refresh, spec change, webhook).
    Normal,
    /// Also bypass the manifest cache (`argocd.argoproj.io/refresh: hard`).
    Hard,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    level: Level,
    due: Instant,
    seq: u64,
}

/// A de-duplicating, delay-aware work queue keyed by app.
#[derive(Debug)]
pub struct RefreshQueue<K> {
    pending: HashMap<K, Entry>,
    order: BTreeMap<(Instant, u64), K>,
    in_flight: HashMap<K, Option<Level>>,
    /// When each app's last refresh was handed out (for coalescing).
    started: HashMap<K, Instant>,
    coalesce: Duration,
    seq: u64,
}

impl<K: Clone + Eq + Hash> Default for RefreshQueue<K> {
    fn default() -> Self {
        Self::coalescing(Duration::ZERO)
    }
}

impl<K: Clone + Eq + Hash> RefreshQueue<K> {
    /// A queue whose live-state refreshes of one app start at least `interval` apart.
    pub fn coalescing(interval: Duration) -> Self {
        Self {
            pending: HashMap::new(),
            order: BTreeMap::new(),
            in_flight: HashMap::new(),
            started: HashMap::new(),
            coalesce: interval,
            seq: 0,
        }
    }

    /// Asks for `key` to be refreshed at `level` no later than `due` (a live-state refresh
    /// no earlier than the coalescing interval after the app's previous one started).
    pub fn push(&mut self, key: K, level: Level, due: Instant) {
        if let Some(waiting) = self.in_flight.get_mut(&key) {
            // Handed out already: remember the deepest level asked for since.
            *waiting = Some(waiting.map_or(level, |l| l.max(level)));
            return;
        }
        let due = match self.started.get(&key) {
            Some(&last) if level == Level::CompareOnly => due.max(last + self.coalesce),
            _ => due,
        };
        let (level, due) = match self.pending.get(&key) {
            Some(old) => {
                self.order.remove(&(old.due, old.seq));
                (old.level.max(level), old.due.min(due))
            }
            None => (level, due),
        };
        self.seq += 1;
        let entry = Entry { level, due, seq: self.seq };
        self.order.insert((due, entry.seq), key.clone());
        self.pending.insert(key, entry);
    }

    /// The next app due at `now`, marked in flight until [`RefreshQueue::done`].
    pub fn pop(&mut self, now: Instant) -> Option<(K, Level)> {
        let (&(due, seq), _) = self.order.first_key_value()?;
        if due > now {
            return None;
        }
        let key = self.order.remove(&(due, seq))?;
        let entry = self.pending.remove(&key)?;
        self.in_flight.insert(key.clone(), None);
        self.started.insert(key.clone(), now);
        Some((key, entry.level))
    }

    /// Marks `key` finished; a request that came in meanwhile is queued again at once.
    pub fn done(&mut self, key: &K, now: Instant) {
        if let Some(Some(level)) = self.in_flight.remove(key) {
            self.push(key.clone(), level, now);
        }
    }

    /// Forgets `key` entirely (the Application was deleted).
    pub fn remove(&mut self, key: &K) {
        self.started.remove(key);
        if let Some(entry) = self.pending.remove(key) {
            self.order.remove(&(entry.due, entry.seq));
        }
        if let Some(waiting) = self.in_flight.get_mut(key) {
            *waiting = None;
        }
    }

    /// When the earliest waiting request is due (for the dispatcher's sleep).
    pub fn next_due(&self) -> Option<Instant> {
        self.order.first_key_value().map(|(&(due, _), _)| due)
    }

    /// Requests waiting (not in flight).
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn requests_merge_to_the_deepest_level_and_the_earliest_time() {
        let t0 = Instant::now();
        let mut q = RefreshQueue::default();
        q.push("a", Level::Normal, t0 + Duration::from_secs(180));
        q.push("a", Level::CompareOnly, t0);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(t0), Some(("a", Level::Normal)));
        assert_eq!(q.pop(t0), None);
    }

    #[test]
    fn nothing_is_handed_out_before_it_is_due_and_order_follows_due_time() {
        let t0 = Instant::now();
        let mut q = RefreshQueue::default();
        q.push("late", Level::Normal, t0 + Duration::from_secs(5));
        q.push("early", Level::CompareOnly, t0 + Duration::from_secs(1));
        assert_eq!(q.pop(t0), None);
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.pop(t0 + Duration::from_secs(10)), Some(("early", Level::CompareOnly)));
        assert_eq!(q.pop(t0 + Duration::from_secs(10)), Some(("late", Level::Normal)));
    }

    #[test]
    fn an_app_in_flight_is_not_handed_out_twice_and_its_new_request_is_kept() {
        let t0 = Instant::now();
        let mut q = RefreshQueue::default();
        q.push("a", Level::CompareOnly, t0);
        assert_eq!(q.pop(t0), Some(("a", Level::CompareOnly)));
        q.push("a", Level::Hard, t0);
        q.push("a", Level::CompareOnly, t0);
        assert_eq!(q.pop(t0), None, "in flight");
        q.done(&"a", t0);
        assert_eq!(q.pop(t0), Some(("a", Level::Hard)));
        q.done(&"a", t0);
        assert_eq!(q.pop(t0), None, "nothing was asked while the second run was in flight");
    }

    #[test]
    fn live_refreshes_of_one_app_are_coalesced_but_git_refreshes_are_not() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut q = RefreshQueue::coalescing(ms(500));
        q.push("a", Level::CompareOnly, t0);
        assert_eq!(q.pop(t0), Some(("a", Level::CompareOnly)), "the first live refresh goes at once");
        // Events during the refresh, and after it, wait for the interval; together they are one.
        q.push("a", Level::CompareOnly, t0 + ms(10));
        q.done(&"a", t0 + ms(20));
        q.push("a", Level::CompareOnly, t0 + ms(30));
        assert_eq!(q.pop(t0 + ms(100)), None);
        assert_eq!(q.next_due(), Some(t0 + ms(500)));
        assert_eq!(q.pop(t0 + ms(500)), Some(("a", Level::CompareOnly)));
        q.done(&"a", t0 + ms(510));
        // A spec change or a webhook is not held back, and takes a waiting live one along.
        q.push("a", Level::CompareOnly, t0 + ms(600));
        q.push("a", Level::Normal, t0 + ms(600));
        assert_eq!(q.pop(t0 + ms(600)), Some(("a", Level::Normal)));
        q.done(&"a", t0 + ms(610));
        // Other apps are not affected, and an idle app's first live refresh goes at once.
        q.push("b", Level::CompareOnly, t0 + ms(620));
        assert_eq!(q.pop(t0 + ms(620)), Some(("b", Level::CompareOnly)));
        q.push("a", Level::CompareOnly, t0 + ms(5000));
        assert_eq!(q.pop(t0 + ms(5000)), Some(("a", Level::CompareOnly)));
    }

    #[test]
    fn removed_apps_are_forgotten_even_when_in_flight() {
        let t0 = Instant::now();
        let mut q = RefreshQueue::default();
        q.push("a", Level::Normal, t0);
        q.push("b", Level::Normal, t0);
        assert!(q.pop(t0).is_some());
        q.push("a", Level::Normal, t0);
        q.push("b", Level::Normal, t0);
        q.remove(&"a");
        q.remove(&"b");
        q.done(&"a", t0);
        assert_eq!(q.pop(t0), None);
        assert!(q.is_empty());
    }
}
