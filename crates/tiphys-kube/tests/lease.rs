//! Leader election against the sandbox over HTTP (the real kube-rs client), with short
//! timings so the suite stays fast.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use tiphys_kube::{LeaderElector, LeaseConfig};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

const NS: &str = "default";

fn config(name: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: Duration::from_secs(1),
        renew_deadline: Duration::from_millis(700),
        retry_period: Duration::from_millis(100),
        ..LeaseConfig::new(NS, name, identity)
    }
}

async fn holder(client: &kube::Client, name: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), NS).get(name).await.expect("lease readable");
    lease.spec.and_then(|s| s.holder_identity).filter(|h| !h.is_empty())
}

async fn wait_for(rx: &mut watch::Receiver<bool>, value: bool, within: Duration) -> Duration {
    let start = Instant::now();
    tokio::time::timeout(within, rx.wait_for(|v| *v == value))
        .await
        .unwrap_or_else(|_| panic!("leadership did not become {value} within {within:?}"))
        .expect("elector alive");
    start.elapsed()
}

struct Running {
    rx: watch::Receiver<bool>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<tiphys_kube::Result<()>>,
}

fn start(elector: LeaderElector) -> Running {
    let rx = elector.subscribe();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(elector.run(async move {
        let _ = stopped.await;
    }));
    Running { rx, stop, task }
}

#[tokio::test]
async fn two_electors_one_leader_and_release_hands_over_within_a_retry_period() {
    let world = support::world().await;
    let mut a = start(LeaderElector::new(&world.cluster, config("ctrl", "replica-a")));
    let mut b = start(LeaderElector::new(&world.cluster, config("ctrl", "replica-b")));

    // Exactly one leads, and keeps leading while it renews (well past the lease duration).
    tokio::time::timeout(Duration::from_secs(5), async {
        while !*a.rx.borrow() && !*b.rx.borrow() {
            tokio::select! { _ = a.rx.changed() => {}, _ = b.rx.changed() => {} }
        }
    })
    .await
    .expect("someone leads within 5 s");
    let a_leads = *a.rx.borrow();
    let (leader, mut follower, leader_id, follower_id) =
        if a_leads { (a, b, "replica-a", "replica-b") } else { (b, a, "replica-b", "replica-a") };
    for _ in 0..15 {
        assert!(*leader.rx.borrow() && !*follower.rx.borrow(), "exactly one leader at all times");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(holder(&world.other, "ctrl").await.as_deref(), Some(leader_id));

    // The leader shuts down and releases; the follower takes over within a retry period
    // (plus jitter and request time), long before the 1 s lease would have expired.
    leader.stop.send(()).expect("leader running");
    leader.task.await.expect("joined").expect("released cleanly");
    assert!(!*leader.rx.borrow(), "a stopped leader reports false");
    let took = wait_for(&mut follower.rx, true, Duration::from_secs(2)).await;
    assert!(took < Duration::from_millis(800), "takeover took {took:?}: that is expiry, not release");
    assert_eq!(holder(&world.other, "ctrl").await.as_deref(), Some(follower_id));
    let lease = Api::<Lease>::namespaced(world.other.clone(), NS).get("ctrl").await.unwrap();
    assert_eq!(lease.spec.and_then(|s| s.lease_transitions), Some(1), "one handover recorded");

    follower.stop.send(()).expect("running");
    follower.task.await.expect("joined").expect("released");
    assert_eq!(holder(&world.other, "ctrl").await, None, "released on shutdown");
}

#[tokio::test]
async fn a_leader_that_stops_renewing_loses_the_lease_after_expiry() {
    let world = support::world().await;
    let mut stale = LeaderElector::new(&world.cluster, config("stale", "replica-a"));
    assert!(stale.try_acquire_or_renew().await.expect("acquire"), "a free lease is taken");
    // replica-a now stops renewing (it hung); replica-b keeps trying.
    let mut other = LeaderElector::new(&world.cluster, config("stale", "replica-b"));
    let start = Instant::now();
    assert!(!other.try_acquire_or_renew().await.expect("attempt"), "a fresh claim is respected");
    let acquired_after = loop {
        if other.try_acquire_or_renew().await.expect("attempt") {
            break start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(acquired_after >= Duration::from_secs(1), "took over after {acquired_after:?}, before expiry");
    assert!(acquired_after < Duration::from_millis(2500), "took over late: {acquired_after:?}");
    assert_eq!(holder(&world.other, "stale").await.as_deref(), Some("replica-b"));
    // The old leader finds the lease taken and does not get it back.
    assert!(!stale.try_acquire_or_renew().await.expect("attempt"));
    // Its release does not touch someone else's lease.
    stale.release().await.expect("release");
    assert_eq!(holder(&world.other, "stale").await.as_deref(), Some("replica-b"));
}

#[tokio::test]
async fn leadership_is_lost_when_renewal_fails_past_the_deadline() {
    let support::World { sandbox, cluster, .. } = support::world().await;
    let elector = LeaderElector::new(&cluster, config("deadline", "replica-a"));
    let mut running = start(elector);
    wait_for(&mut running.rx, true, Duration::from_secs(3)).await;
    // The API server goes away: renewals fail, and within the renew deadline (700 ms, plus a
    // retry period) the leader must report that it no longer leads.
    let stopped_at = Instant::now();
    sandbox.shutdown().await;
    let lost = wait_for(&mut running.rx, false, Duration::from_secs(3)).await + stopped_at.elapsed();
    assert!(lost <= Duration::from_millis(2000), "stepped down only after {lost:?}");
    running.stop.send(()).expect("running");
    running.task.await.expect("joined").expect("a follower stops without releasing");
}

#[tokio::test]
async fn racing_candidates_one_wins_the_others_get_conflicts() {
    let world = support::world().await;
    for round in 0..3 {
        let mut electors: Vec<LeaderElector> = (0..6)
            .map(|i| LeaderElector::new(&world.cluster, config("race", &format!("replica-{round}-{i}"))))
            .collect();
        let results = futures::future::join_all(electors.iter_mut().map(|e| e.try_acquire_or_renew())).await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| *r.as_ref().expect("no API error"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner, got {winners:?}");
        let winner = format!("replica-{round}-{}", winners[0]);
        assert_eq!(holder(&world.other, "race").await, Some(winner), "round {round}");
        // Hand the lease back so the next round races for a free (existing) lease.
        electors[winners[0]].release().await.expect("release");
        assert_eq!(holder(&world.other, "race").await, None);
    }
}
