//! Leader election over a `coordination.k8s.io/v1` Lease, with client-go's semantics, so two
//! controller replicas never both act.
//!
//! - A candidate takes the Lease when it is absent, released (no holder) or expired: its
//!   holder has not renewed it for `leaseDurationSeconds`, measured on *this* process's clock
//!   from the moment the record was last seen to change (as client-go does, so clock skew
//!   between replicas does not matter).
//! - Every write carries the resourceVersion that was read: when two candidates race, the API
//!   server answers `409 Conflict` to all but one, and the losers stay followers.
//! - The leader renews every retry period; if it cannot renew for the renew deadline (API
//!   unreachable, or someone else took the Lease) it reports the loss at once and campaigns
//!   again, and the controller must stop acting.
//! - On shutdown the leader releases the Lease (clears `holderIdentity`, as client-go's
//!   `ReleaseOnCancel`), so a successor takes over within a retry period instead of waiting
//!   for expiry.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::error::{Error, Result};

/// Which Lease to compete for, who we are, and the timing (client-go's defaults: 15 s lease,
/// 10 s renew deadline, 2 s retry period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Namespace of the Lease (the controller's namespace).
    pub namespace: String,
    /// Name of the Lease, shared by all replicas of one role.
    pub name: String,
    /// This replica's identity, unique among candidates (e.g. the pod name).
    pub identity: String,
    /// How long a holder's claim lasts without renewal; followers wait this long before
    /// taking over an unreleased Lease. Written as whole seconds (at least 1).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leadership. Must be
    /// shorter than `lease_duration`, so the old leader stops before a follower starts.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// A configuration with client-go's default timing.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, identity: impl Into<String>) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// The last Lease record seen and when (on our monotonic clock) it last changed.
#[derive(Debug, Clone)]
struct Observed {
    holder: String,
    renew_time: Option<MicroTime>,
    transitions: i32,
    duration: Duration,
    changed_at: Instant,
}

/// One candidate in a leader election. Create it, [`subscribe`](Self::subscribe) to
/// leadership changes, then drive it with [`run`](Self::run) (or step it by hand with
/// [`try_acquire_or_renew`](Self::try_acquire_or_renew) and [`release`](Self::release)).
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    leading: watch::Sender<bool>,
    observed: Option<Observed>,
    jitter: std::collections::hash_map::RandomState,
    attempts: u64,
}

impl LeaderElector {
    /// A follower for `config` on `cluster`; nothing is sent until it is driven.
    pub fn new(cluster: &Cluster, config: LeaseConfig) -> Self {
        let api = Api::namespaced(cluster.client().clone(), &config.namespace);
        LeaderElector {
            api,
            config,
            leading: watch::channel(false).0,
            observed: None,
            jitter: Default::default(),
            attempts: 0,
        }
    }

    /// Leadership as it changes: `true` while this candidate leads. The controller acts only
    /// while it reads `true` and stops as soon as it reads `false`.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Whether this candidate currently leads.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Campaigns and leads until `shutdown` completes, then reports `false` and releases the
    /// Lease if it holds it. Losing leadership (renewal failing past the renew deadline, or another holder
    /// found) is reported as `false` and the candidate campaigns again. Errors from the API
    /// are logged and retried; only the release on shutdown can fail the call.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        loop {
            // Follower: try every retry period until we hold the Lease.
            loop {
                // A stalled API server must not delay shutdown or hide a free Lease for long.
                let attempt = tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    attempt = tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew()) => attempt,
                };
                match attempt {
                    Ok(Ok(true)) => break,
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(lease = %self.key(), %error, "cannot acquire the lease"),
                    Err(_) => tracing::warn!(lease = %self.key(), "acquiring the lease timed out"),
                }
                let wait = self.jittered_retry();
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
            }
            self.set_leading(true);
            let mut renewed_at = Instant::now();
            // Leader: renew every retry period, give up after the renew deadline.
            loop {
                tokio::select! {
                    () = &mut shutdown => {
                        // Stop acting first, then let a successor in.
                        self.set_leading(false);
                        return match tokio::time::timeout(self.config.renew_deadline, self.release()).await {
                            Ok(released) => released,
                            Err(_) => Err(Error::Transport {
                                resource: self.key(),
                                message: "releasing the lease timed out; followers take over when it expires".into(),
                            }),
                        };
                    }
                    () = tokio::time::sleep(self.config.retry_period) => {}
                }
                let remaining = self.config.renew_deadline.saturating_sub(renewed_at.elapsed());
                let attempt = tokio::time::timeout(remaining, self.try_acquire_or_renew()).await;
                match attempt {
                    Ok(Ok(true)) => {
                        renewed_at = Instant::now();
                        continue;
                    }
                    Ok(Ok(false)) if !self.observed_holder_is_me() => {
                        tracing::warn!(lease = %self.key(), "another candidate holds the lease; stepping down");
                        break;
                    }
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => tracing::warn!(lease = %self.key(), %error, "cannot renew the lease"),
                    Err(_) => {}
                }
                if renewed_at.elapsed() >= self.config.renew_deadline {
                    tracing::warn!(lease = %self.key(), "renew deadline passed; stepping down");
                    break;
                }
            }
            self.set_leading(false);
        }
    }

    /// One attempt, as client-go's `tryAcquireOrRenew`: create the Lease if it is absent,
    /// renew it if we hold it, take it if it is released or expired; `Ok(false)` when someone
    /// else validly holds it or won a race for it (409). Does not change [`Self::subscribe`]'s
    /// value; [`Self::run`] does.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool> {
        self.attempts += 1;
        let now = MicroTime(Timestamp::now());
        let key = self.key();
        let existing = self.api.get_opt(&self.config.name).await.map_err(|e| Error::from_kube(&key, e))?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.claim(now.clone(), now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(true)
                }
                Err(e) => match Error::from_kube(&key, e) {
                    Error::AlreadyExists { .. } | Error::Conflict { .. } => Ok(false),
                    other => Err(other),
                },
            };
        };
        self.observe(&lease);
        let observed = self.observed.clone().ok_or_else(|| Error::BadObject {
            resource: key.clone(),
            message: "the lease record was not recorded".into(),
        })?;
        let mine = observed.holder == self.config.identity;
        let valid = observed.changed_at.elapsed() < observed.duration;
        if !observed.holder.is_empty() && !mine && valid {
            return Ok(false);
        }
        let spec = lease.spec.take().unwrap_or_default();
        let (acquired, transitions) = if mine {
            (spec.acquire_time.unwrap_or_else(|| now.clone()), spec.lease_transitions.unwrap_or(0))
        } else {
            (now.clone(), spec.lease_transitions.unwrap_or(0) + 1)
        };
        lease.spec = Some(self.claim(acquired, now, transitions));
        match self.api.replace(&self.config.name, &PostParams::default(), &lease).await {
            Ok(updated) => {
                self.observe(&updated);
                Ok(true)
            }
            Err(e) => match Error::from_kube(&key, e) {
                Error::Conflict { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Gives the Lease up if this candidate holds it: clears `holderIdentity` and shortens the
    /// duration to one second, so a follower takes over at its next attempt.
    pub async fn release(&mut self) -> Result<()> {
        let key = self.key();
        let Some(mut lease) =
            self.api.get_opt(&self.config.name).await.map_err(|e| Error::from_kube(&key, e))?
        else {
            return Ok(());
        };
        let spec = lease.spec.take().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            lease.spec = Some(spec);
            self.observe(&lease);
            return Ok(());
        }
        let now = MicroTime(Timestamp::now());
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..spec
        });
        let updated = self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| Error::from_kube(&key, e))?;
        self.observe(&updated);
        Ok(())
    }

    fn claim(&self, acquired: MicroTime, now: MicroTime, transitions: i32) -> LeaseSpec {
        let seconds = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX).max(1);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(acquired),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Records the Lease's record, restarting the expiry clock only when the record changed.
    fn observe(&mut self, lease: &Lease) {
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        let seconds = spec.lease_duration_seconds.filter(|s| *s > 0).map(|s| u64::from(s.unsigned_abs()));
        let duration = seconds.map_or(self.config.lease_duration, Duration::from_secs);
        let unchanged = self.observed.as_ref().is_some_and(|o| {
            o.holder == holder && o.renew_time == spec.renew_time && o.transitions == transitions
        });
        if !unchanged {
            let changed_at = Instant::now();
            self.observed =
                Some(Observed { holder, renew_time: spec.renew_time, transitions, duration, changed_at });
        }
    }

    fn observed_holder_is_me(&self) -> bool {
        self.observed.as_ref().is_some_and(|o| o.holder == self.config.identity)
    }

    fn set_leading(&self, leading: bool) {
        let changed = self.leading.send_replace(leading) != leading;
        if changed {
            tracing::info!(lease = %self.key(), identity = %self.config.identity, leading, "leadership changed");
        }
    }

    /// The retry period plus up to 20% jitter, so candidates started together spread out.
    fn jittered_retry(&self) -> Duration {
        let fraction = self.jitter.hash_one(self.attempts) as f64 / u64::MAX as f64;
        self.config.retry_period.mul_f64(1.0 + 0.2 * fraction)
    }

    fn key(&self) -> String {
        format!("Lease {}/{}", self.config.namespace, self.config.name)
    }
}
