//! The operation state machine walked through the seed's hook lifecycle, the way the executor
//! would drive it: apply what `step` asks for, report what it saw, repeat.

use tiphys_sync::{Command, Observed, Operation, PlanInput, SyncPlan, TaskState, plan};

fn seed_plan(dry_run: bool) -> SyncPlan {
    let desired = tiphys_resource::yaml::parse_stream(include_str!("fixtures/hook-lifecycle.yaml")).unwrap();
    let mut input = PlanInput {
        desired: &desired,
        namespace: "shop".into(),
        namespace_exists: true,
        ..Default::default()
    };
    input.operation.dry_run = dry_run;
    plan(&input).unwrap()
}

fn names(op: &Operation, cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .map(|c| match c {
            Command::Apply(i) => format!("apply {}", op.plan().tasks[*i].key.name),
            Command::DeleteHook(i) => format!("delete-hook {}", op.plan().tasks[*i].key.name),
            Command::DeleteBeforeCreation(i) => format!("delete-first {}", op.plan().tasks[*i].key.name),
            Command::Prune(i) => format!("prune {}", op.plan().tasks[*i].key.name),
            Command::CreateNamespace(i) => format!("create-ns {}", op.plan().tasks[*i].key.name),
            Command::DryRun(all) => format!("dry-run {}", all.len()),
            Command::Wait => "wait".into(),
            Command::Finish { succeeded, .. } => format!("finish {succeeded}"),
        })
        .collect()
}

fn applied(cmds: &[Command]) -> Vec<usize> {
    cmds.iter().filter_map(|c| if let Command::Apply(i) = c { Some(*i) } else { None }).collect()
}

#[test]
fn successful_sync_runs_each_step_in_order_then_deletes_succeeded_hooks() {
    let mut op = Operation::new(seed_plan(false));
    let c = op.step(&[]);
    assert_eq!(names(&op, &c), vec!["dry-run 6"]);
    let c = op.step(&[]);
    assert_eq!(names(&op, &c), vec!["apply db-migrate"]);
    let c = op.step(&[(0, Observed::Applied)]);
    assert_eq!(names(&op, &c), vec!["wait"], "a running hook blocks the next wave");
    let c = op.step(&[(0, Observed::Healthy)]);
    assert_eq!(names(&op, &c), vec!["apply seed-data"]);
    let c = op.step(&[(1, Observed::Healthy)]);
    assert_eq!(names(&op, &c), vec!["apply app-config", "apply my-app", "apply my-app"]);
    let sync_tasks = applied(&c);
    let c = op.step(&sync_tasks.iter().map(|i| (*i, Observed::Applied)).collect::<Vec<_>>());
    assert_eq!(names(&op, &c), vec!["wait"], "multi-step: resources must be healthy first");
    let mut seen: Vec<(usize, Observed)> = sync_tasks.iter().map(|i| (*i, Observed::Healthy)).collect();
    seen[0].1 = Observed::Progressing;
    assert_eq!(names(&op, &op.clone().step(&seen)), vec!["wait"]);
    let c = op.step(&sync_tasks.iter().map(|i| (*i, Observed::Healthy)).collect::<Vec<_>>());
    assert_eq!(names(&op, &c), vec!["apply smoke-test"]);
    let c = op.step(&[(5, Observed::Healthy)]);
    assert_eq!(names(&op, &c), vec!["delete-hook smoke-test", "finish true"]);
    assert!(
        matches!(c.last(), Some(Command::Finish { message, .. }) if message == "successfully synced (no more tasks)"),
        "a hook ran last: {c:?}"
    );
    assert!(op.step(&[]).is_empty());
}

#[test]
fn failed_post_sync_hook_runs_sync_fail_then_fails() {
    let mut op = Operation::new(seed_plan(false));
    op.step(&[]);
    op.step(&[]);
    op.step(&[(0, Observed::Healthy)]);
    let c = op.step(&[(1, Observed::Healthy)]);
    let c = op.step(&applied(&c).iter().map(|i| (*i, Observed::Healthy)).collect::<Vec<_>>());
    assert_eq!(names(&op, &c), vec!["apply smoke-test"]);
    let c = op.step(&[(5, Observed::Degraded("Job has reached the specified backoff limit".into()))]);
    assert_eq!(names(&op, &c), vec!["apply notify-sync-failure"]);
    let c = op.step(&[(6, Observed::Applied)]);
    assert_eq!(names(&op, &c), vec!["wait"]);
    let c = op.step(&[(6, Observed::Healthy)]);
    // Upstream deletes hooks by the *operation's* outcome: HookSucceeded hooks stay after a failed sync.
    assert_eq!(names(&op, &c), vec!["finish false"]);
    match c.last() {
        Some(Command::Finish { message, .. }) => {
            assert!(message.contains("smoke-test") && message.contains("backoff limit"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_pre_sync_hook_stops_before_the_sync_phase() {
    let mut op = Operation::new(seed_plan(false));
    op.step(&[]);
    op.step(&[]);
    let c = op.step(&[(0, Observed::ApplyFailed("forbidden".into()))]);
    assert_eq!(names(&op, &c), vec!["apply notify-sync-failure"]);
    let c = op.step(&[(6, Observed::Degraded("curl failed".into()))]);
    let finish = c.last().cloned();
    assert!(
        matches!(finish, Some(Command::Finish { succeeded: false, ref message }) if message.contains("SyncFail hooks failed")),
        "{c:?}"
    );
    assert!(op.states()[2..5].iter().all(|s| *s == tiphys_sync::TaskState::Pending), "Sync phase never ran");
}

#[test]
fn dry_run_plan_only_validates() {
    let mut op = Operation::new(seed_plan(true));
    assert_eq!(names(&op, &op.clone().step(&[])), vec!["dry-run 6"]);
    op.step(&[]);
    let c = op.step(&[(0, Observed::Applied)]);
    assert_eq!(names(&op, &c), vec!["finish true"]);
    let mut op = Operation::new(seed_plan(false));
    op.step(&[]);
    let c = op.step(&[(3, Observed::ApplyFailed("unknown field".into()))]);
    assert!(matches!(c.last(), Some(Command::Finish { succeeded: false, .. })));
    let mut op = Operation::new(seed_plan(false));
    op.step(&[]);
    let c = op.step(&[(3, Observed::Invalid("no API resource for Widget".into()))]);
    assert_eq!(
        c,
        vec![Command::Finish {
            succeeded: false,
            message: "one or more synchronization tasks are not valid, reason: no API resource for Widget"
                .into()
        }],
        "no SyncFail hook: nothing was written"
    );
}

fn plain_plan(yaml: &str) -> SyncPlan {
    let desired = tiphys_resource::yaml::parse_stream(yaml).unwrap();
    let input = PlanInput {
        desired: &desired,
        namespace: "shop".into(),
        namespace_exists: true,
        ..Default::default()
    };
    plan(&input).unwrap()
}

const TWO_WAVES: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: {argocd.argoproj.io/sync-wave: '0'}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, annotations: {argocd.argoproj.io/sync-wave: '1'}}\n";

#[test]
fn the_last_step_without_hooks_is_done_once_applied_as_upstream() {
    let mut op = Operation::new(plain_plan(TWO_WAVES));
    op.step(&[]);
    let c = op.step(&[]);
    assert_eq!(names(&op, &c), vec!["apply a"]);
    assert_eq!(
        {
            let c = op.step(&[(0, Observed::Applied)]);
            names(&op, &c)
        },
        vec!["wait"],
        "an earlier wave waits for health"
    );
    let c = op.step(&[(0, Observed::Healthy)]);
    assert_eq!(names(&op, &c), vec!["apply b"]);
    let c = op.step(&[(1, Observed::Applied)]);
    assert_eq!(names(&op, &c), vec!["finish true"], "the final wave does not wait for health");
    assert_eq!(
        c.last(),
        Some(&Command::Finish { succeeded: true, message: "successfully synced (all tasks run)".into() })
    );
}

#[test]
fn apply_failures_and_unsuccessful_tasks_are_worded_as_upstream() {
    let mut op = Operation::new(plain_plan(TWO_WAVES));
    op.step(&[]);
    op.step(&[]);
    let c = op.step(&[(0, Observed::ApplyFailed("/ConfigMap/shop/a: invalid: bad".into()))]);
    assert_eq!(
        c.last(),
        Some(&Command::Finish {
            succeeded: false,
            message: "one or more objects failed to apply, reason: /ConfigMap/shop/a: invalid: bad".into()
        })
    );
    let mut op = Operation::new(plain_plan(TWO_WAVES));
    op.step(&[]);
    op.step(&[]);
    op.step(&[(0, Observed::Applied)]);
    let c = op.step(&[(0, Observed::Degraded("crash".into()))]);
    assert_eq!(
        c.last(),
        Some(&Command::Finish {
            succeeded: false,
            message:
                "one or more synchronization tasks completed unsuccessfully, reason: /ConfigMap/shop/a: crash"
                    .into()
        })
    );
}

#[test]
fn resume_skips_the_dry_run_and_finished_tasks() {
    // db-migrate and seed-data finished before the restart; the Sync phase comes next.
    let known = [(0, TaskState::Succeeded), (1, TaskState::Succeeded)];
    let mut op = Operation::resume(seed_plan(false), &known, &[]);
    let c = op.step(&[]);
    assert_eq!(names(&op, &c), vec!["apply app-config", "apply my-app", "apply my-app"]);
    // A hook that was running is watched again, not re-created.
    let mut op = Operation::resume(seed_plan(false), &[(0, TaskState::Running)], &[]);
    assert_eq!(
        {
            let c = op.step(&[]);
            names(&op, &c)
        },
        vec!["wait"]
    );
    assert_eq!(
        {
            let c = op.step(&[(0, Observed::Healthy)]);
            names(&op, &c)
        },
        vec!["apply seed-data"]
    );
    // A refused write recorded before the restart fails the operation (SyncFail hook first).
    let mut op = Operation::resume(seed_plan(false), &[(0, TaskState::Failed("denied".into()))], &[0]);
    assert_eq!(
        {
            let c = op.step(&[]);
            names(&op, &c)
        },
        vec!["apply notify-sync-failure"]
    );
    // Out-of-range indexes from stale results are ignored.
    let op = Operation::resume(seed_plan(false), &[(99, TaskState::Succeeded)], &[99]);
    assert!(op.states().iter().all(|s| *s == TaskState::Pending));
}

#[test]
fn terminate_stops_everything() {
    let mut op = Operation::new(seed_plan(false));
    op.step(&[]);
    op.step(&[]);
    op.terminate();
    assert!(op.is_finished());
    assert!(matches!(op.states()[0], TaskState::Failed(_)), "the running hook is failed");
    assert!(op.step(&[(0, Observed::Healthy)]).is_empty());
}
