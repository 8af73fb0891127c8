//! Lua customizations as users write them: the seed documents' argocd-cm scripts on objects
//! that take every branch, upstream idioms (goto, string functions, table iteration), the
//! sandbox, and the limits.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use serde_json::{Value, json};
use tiphys_health::{
    AssessOptions, HealthAssessor, HealthStatusCode, HealthStatusCode::*, Limits, ResourceOverrides,
    RunContext,
};

const SEED_CM: &str = include_str!("fixtures/seed-argocd-cm.yaml");

fn seed_assessor() -> HealthAssessor {
    let cm = tiphys_resource::yaml::parse_document(SEED_CM).expect("fixture parses");
    let overrides = ResourceOverrides::from_config_map(&cm).expect("seed argocd-cm is valid");
    assert_eq!(
        overrides.warnings().len(),
        1,
        "only the signature key of seed 2 is not ours: {:?}",
        overrides.warnings()
    );
    HealthAssessor::new(overrides, AssessOptions::default())
}

fn obj(api: &str, kind: &str, rest: Value) -> Value {
    let mut o = json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}});
    if let (Some(o), Some(rest)) = (o.as_object_mut(), rest.as_object()) {
        for (k, v) in rest {
            o.insert(k.clone(), v.clone());
        }
    }
    o
}

fn health(a: &HealthAssessor, o: &Value) -> (HealthStatusCode, String) {
    let h = a.resource_health(o, &RunContext::default()).expect("a customization applies");
    (h.status, h.message)
}

fn table(a: &HealthAssessor, api: &str, kind: &str, cases: Vec<(Value, HealthStatusCode, &str)>) {
    for (rest, status, message) in cases {
        let o = obj(api, kind, rest.clone());
        assert_eq!(health(a, &o), (status, message.to_string()), "{kind} {rest}");
    }
}

#[test]
fn seed_rollout_script_every_branch() {
    let a = seed_assessor();
    table(
        &a,
        "argoproj.io/v1alpha1",
        "Rollout",
        vec![
            (json!({}), Progressing, "Waiting for status"),
            (json!({"status": {"phase": "Healthy"}}), Healthy, "Rollout is healthy"),
            (
                json!({"status": {"phase": "Paused", "message": "CanaryPauseStep"}}),
                Suspended,
                "Rollout is paused: CanaryPauseStep",
            ),
            (json!({"status": {"phase": "Paused"}}), Suspended, "Rollout is paused: awaiting promotion"),
            (
                json!({"status": {"phase": "Degraded", "message": "ProgressDeadlineExceeded"}}),
                Degraded,
                "Rollout is degraded: ProgressDeadlineExceeded",
            ),
            (json!({"status": {"phase": "Degraded"}}), Degraded, "Rollout is degraded: unknown error"),
            (json!({"status": {"phase": "Progressing"}}), Progressing, "Rollout is Progressing"),
            (json!({"status": {}}), Progressing, "Rollout is unknown"),
        ],
    );
}

#[test]
fn seed_certificate_script_every_branch() {
    let a = seed_assessor();
    let ready = |status: &str, message: Option<&str>| {
        let mut c = json!({"type": "Ready", "status": status});
        if let Some(m) = message {
            c["message"] = json!(m);
        }
        json!({"status": {"conditions": [{"type": "Issuing", "status": "False"}, c]}})
    };
    table(
        &a,
        "cert-manager.io/v1",
        "Certificate",
        vec![
            (json!({}), Progressing, "Waiting for certificate status"),
            (json!({"status": {}}), Progressing, "Waiting for certificate status"),
            (ready("True", None), Healthy, "Certificate is ready"),
            (ready("False", Some("Issuer not found")), Degraded, "Issuer not found"),
            (ready("False", None), Degraded, "Certificate not ready"),
            (ready("Unknown", None), Progressing, "Certificate status unknown"),
            (
                json!({"status": {"conditions": [{"type": "Issuing", "status": "True"}]}}),
                Progressing,
                "No Ready condition found",
            ),
        ],
    );
}

#[test]
fn seed_custom_app_script_every_branch() {
    let a = seed_assessor();
    table(
        &a,
        "myorg.io/v1",
        "MyApp",
        vec![
            (json!({"spec": {}}), Progressing, "Resource just created"),
            (
                json!({"spec": {"replicas": 2}, "status": {"state": "Running", "replicas": {"ready": 2}}}),
                Healthy,
                "2/2 replicas ready",
            ),
            (
                json!({"spec": {"replicas": 3}, "status": {"state": "Running", "replicas": {"ready": 1}}}),
                Progressing,
                "1/3 replicas ready",
            ),
            (json!({"spec": {}, "status": {"state": "Running"}}), Progressing, "0/1 replicas ready"),
            (
                json!({"spec": {}, "status": {"state": "Running", "replicas": {}}}),
                Progressing,
                "0/1 replicas ready",
            ),
            (
                json!({"spec": {}, "status": {"state": "Running", "replicas": {"ready": 1}}}),
                Healthy,
                "1/1 replicas ready",
            ),
            (json!({"spec": {}, "status": {"state": "Failed", "error": "OOM"}}), Degraded, "OOM"),
            (json!({"spec": {}, "status": {"state": "Failed"}}), Degraded, "Application failed"),
            (
                json!({"spec": {}, "status": {"state": "Suspended"}}),
                Suspended,
                "Application paused by operator",
            ),
            (json!({"spec": {}, "status": {"state": "Starting"}}), Progressing, "State: Starting"),
            (json!({"spec": {}, "status": {}}), Progressing, "State: unknown"),
        ],
    );
}

#[test]
fn seed_condition_pattern_every_branch() {
    let a = seed_assessor();
    let conds = |c: Value| json!({"status": {"conditions": c}});
    table(
        &a,
        "example.com/v1",
        "MyResource",
        vec![
            (json!({}), Progressing, "Waiting for conditions"),
            (
                conds(json!([{"type": "Ready", "status": "True", "message": "all good"}])),
                Healthy,
                "Ready: all good",
            ),
            (conds(json!([{"type": "Available", "status": "True"}])), Healthy, "Available: OK"),
            (
                conds(json!([{"type": "Degraded", "status": "True", "message": "disk full"}])),
                Degraded,
                "disk full",
            ),
            (conds(json!([{"type": "Degraded", "status": "True"}])), Degraded, "Resource degraded"),
            (
                conds(json!([{"type": "Ready", "status": "False"}, {"type": "Degraded", "status": "False"}])),
                Progressing,
                "Waiting for Ready condition",
            ),
        ],
    );
}

#[test]
fn seed_rollout_actions() {
    let a = seed_assessor();
    let rollout = obj(
        "argoproj.io/v1alpha1",
        "Rollout",
        json!({"spec": {"replicas": 2, "strategy": {"canary": {"steps": []}}, "template": {"metadata": {"labels": {}}}}, "status": {"currentPodHash": "abc"}}),
    );
    // 2026-11-22T18:00:00Z
    let ctx = RunContext { now_unix: 1_795_370_400, deadline: None };
    let actions = a.list_actions(&rollout, &ctx).unwrap().unwrap();
    let names: Vec<(&str, bool)> = actions.iter().map(|x| (x.name.as_str(), x.disabled)).collect();
    assert_eq!(names, [("promote-full", false), ("restart", false)]);

    let out = a.run_action(&rollout, "restart", &[], &ctx).unwrap().unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].operation, tiphys_health::Operation::Patch);
    assert_eq!(out[0].resource["spec"]["restartAt"], json!("2026-11-22T18:00:00Z"));
    assert_eq!(out[0].resource["spec"]["strategy"]["canary"]["steps"], json!([]), "empty lists stay lists");
    assert_eq!(out[0].resource["spec"]["template"]["metadata"]["labels"], json!({}), "empty maps stay maps");

    let promoted = a.run_action(&rollout, "promote-full", &[], &ctx).unwrap().unwrap();
    assert_eq!(promoted[0].resource["status"]["promoteFull"], json!(true));
    let mut no_hash = rollout.clone();
    no_hash["status"] = json!({"phase": "Paused"});
    let unchanged = a.run_action(&no_hash, "promote-full", &[], &ctx).unwrap().unwrap();
    assert_eq!(unchanged[0].resource, no_hash);

    let err = a.run_action(&rollout, "abort", &[], &ctx).unwrap_err().to_string();
    assert!(err.contains("promote-full, restart") || err.contains("restart, promote-full"), "{err}");
    let pod = obj("v1", "Pod", json!({}));
    assert!(a.list_actions(&pod, &ctx).unwrap().is_none());
}

fn assessor_with(pairs: &[(&str, &str)]) -> HealthAssessor {
    assessor_with_limits(pairs, Limits::default())
}

fn assessor_with_limits(pairs: &[(&str, &str)], limits: Limits) -> HealthAssessor {
    let data = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let overrides = ResourceOverrides::from_data(&data).unwrap();
    HealthAssessor::new(overrides, AssessOptions { limits, ..Default::default() })
}

fn crd(status: Value) -> Value {
    obj("example.com/v1", "Widget", json!({"status": status}))
}

const KEY: &str = "resource.customizations.health.example.com_Widget";

/// Idioms found in upstream-shipped health scripts (checked through the search tool:
/// `goto continue` in condition loops, `string.find`/`string.format`/`string.match`,
/// `pairs` over maps, `#list`, numeric formatting), written fresh here. Upstream runs its
/// shipped scripts with the open libraries, so this key turns `useOpenLibs` on.
#[test]
fn upstream_style_scripts_run() {
    let script = r#"
local hs = { status = "Progressing", message = "" }
if obj.status == nil then return hs end
local failing = {}
for _, c in ipairs(obj.status.conditions or {}) do
  if c.status ~= "False" then goto continue end
  if string.find(c.reason or "", "Error$") then
    table.insert(failing, string.format("%s (%s)", c.type, c.reason))
  end
  ::continue::
end
if #failing > 0 then
  hs.status = "Degraded"
  hs.message = table.concat(failing, "; ")
  return hs
end
local ready = 0
for name, replica in pairs(obj.status.replicas or {}) do
  if replica.ready then ready = ready + 1 end
end
local major = string.match(obj.status.version or "", "^v(%d+)")
hs.status = "Healthy"
hs.message = string.format("%d ready, major %s, ratio %s", ready, major or "?", tostring(ready / 2))
return hs
"#;
    let a =
        assessor_with(&[(KEY, script), ("resource.customizations.useOpenLibs.example.com_Widget", "true")]);
    let degraded = crd(json!({"conditions": [
        {"type": "Synced", "status": "False", "reason": "ReconcileError"},
        {"type": "Ready", "status": "False", "reason": "Creating"},
        {"type": "Other", "status": "True", "reason": "SomeError"}]}));
    assert_eq!(health(&a, &degraded), (Degraded, "Synced (ReconcileError)".to_string()));
    let healthy = crd(
        json!({"conditions": [], "version": "v12.3", "replicas": {"a": {"ready": true}, "b": {"ready": true}, "c": {}}}),
    );
    assert_eq!(
        health(&a, &healthy),
        (Healthy, "2 ready, major 12, ratio 1".to_string()),
        "Lua 5.1 number printing"
    );
}

/// Another upstream idiom: parse a condition's `lastTransitionTime` with a Lua pattern, turn
/// it into seconds with `os.time{...}` and compare with `os.difftime(os.time(), t)`, where
/// `os.time()` is the caller's clock.
#[test]
fn time_based_scripts_use_the_callers_clock() {
    let script = r#"
local hs = { status = "Progressing", message = "waiting" }
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" and c.status ~= "True" then
    local y, mo, d, h, mi, s = c.lastTransitionTime:match("(%d+)%-(%d+)%-(%d+)T(%d+):(%d+):(%d+)Z")
    local since = os.time{year = y, month = mo, day = d, hour = h, min = mi, sec = s}
    if os.difftime(os.time(), since) > 30 then
      hs.status = "Degraded"
      hs.message = "not ready for " .. os.difftime(os.time(), since) .. "s since " .. os.date("!%Y-%m-%d %H:%M:%S", since)
    end
  end
end
return hs
"#;
    let a =
        assessor_with(&[(KEY, script), ("resource.customizations.useOpenLibs.example.com_Widget", "true")]);
    let o = crd(
        json!({"conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-22T18:00:00Z"}]}),
    );
    let at = |now_unix| {
        let h = a.resource_health(&o, &RunContext { now_unix, deadline: None }).unwrap();
        (h.status, h.message)
    };
    // 2026-11-22T18:00:00Z is 1_795_370_400.
    assert_eq!(at(1_795_370_410), (Progressing, "waiting".to_string()));
    assert_eq!(at(1_795_370_460), (Degraded, "not ready for 60s since 2026-11-22 18:00:00".to_string()));
}

#[test]
fn without_open_libs_string_library_is_absent_as_upstream() {
    let a = assessor_with(&[(KEY, "return { status = 'Healthy', message = string.format('%d', 1) }")]);
    let (status, message) = health(&a, &crd(json!({})));
    assert_eq!(status, Unknown);
    assert!(message.contains("string"), "{message}");
    let b = assessor_with(&[(
        KEY,
        "return { status = 'Healthy', message = tostring(os.time()) .. ' ' .. type(table.insert) }",
    )]);
    let ctx = RunContext { now_unix: 42, deadline: None };
    let h = b.resource_health(&crd(json!({})), &ctx).unwrap();
    assert_eq!(h.message, "42 function", "base, table and the safe os are always there");
}

#[test]
fn script_errors_become_unknown_with_the_lua_error() {
    let cases = [
        ("local x = nil\nreturn x.status.phase", "<string>:2: attempt to index local 'x' (a nil value)"),
        ("error('boom')", "<string>:1: boom"),
        ("if then", "<string>:1: unexpected symbol near 'then'"),
        ("hs = {}", "expect table output from Lua script, not nil"),
        ("return 'Healthy'", "expect table output from Lua script, not string"),
        ("return { status = 'Fine' }", "Lua returned an invalid health status"),
        ("return { message = 'no status' }", "Lua returned an invalid health status"),
        ("return {}", "Lua returned an invalid health status"),
        (
            "return { status = 'Healthy', message = 5 }",
            "health script returned a number as hs.message; it must be a string",
        ),
    ];
    for (script, message) in cases {
        let a = assessor_with(&[(KEY, script)]);
        assert_eq!(health(&a, &crd(json!({}))), (Unknown, message.to_string()), "{script}");
    }
}

#[test]
fn sandbox_has_no_files_processes_or_network() {
    let probes = [
        "return { status = 'Healthy', message = tostring(io) .. tostring(os.execute) .. tostring(os.exit) .. tostring(os.getenv) .. tostring(dofile) .. tostring(loadfile) .. tostring(loadstring) .. tostring(package) .. tostring(debug) .. tostring(ffi) .. tostring(jit) }",
    ];
    for script in probes {
        let a = assessor_with(&[(KEY, script)]);
        assert_eq!(health(&a, &crd(json!({}))), (Healthy, "nil".repeat(11)));
    }
    let a = assessor_with(&[(KEY, "local io = require('io') return { status = 'Healthy' }")]);
    assert_eq!(health(&a, &crd(json!({}))), (Unknown, "module 'io' not found".to_string()));
    let a = assessor_with(&[(
        KEY,
        "local os = require('os') return { status = 'Healthy', message = os.date('!%Y', 0) }",
    )]);
    assert_eq!(health(&a, &crd(json!({}))), (Healthy, "1970".to_string()));
}

#[test]
fn runs_do_not_leak_into_each_other() {
    let setter = "leaked = 'yes' hs = { status = 'Healthy' } return hs";
    let reader = "return { status = 'Healthy', message = tostring(leaked) .. ' ' .. tostring(hs) }";
    let a = assessor_with(&[(KEY, setter), ("resource.customizations.health.example.com_Other", reader)]);
    assert_eq!(health(&a, &crd(json!({}))).0, Healthy);
    let other = obj("example.com/v1", "Other", json!({}));
    assert_eq!(health(&a, &other), (Healthy, "nil nil".to_string()));
    let open_libs = ("resource.customizations.useOpenLibs.example.com_Widget", "true");
    let sneaky = "local ok = pcall(function() getmetatable('').__index.upper = nil end) return { status = 'Healthy', message = tostring(getmetatable('')) .. ' ' .. ('abc'):upper() }";
    let a = assessor_with(&[(KEY, sneaky), open_libs]);
    assert_eq!(
        health(&a, &crd(json!({}))),
        (Healthy, "false ABC".to_string()),
        "the string metatable is sealed"
    );
    let tamper = assessor_with(&[(KEY, "table.insert = nil return { status = 'Healthy' }")]);
    let (status, message) = health(&tamper, &crd(json!({})));
    assert_eq!(status, Unknown);
    assert!(message.contains("read-only"), "{message}");
}

#[test]
fn runaway_scripts_are_stopped() {
    let limits = Limits { instructions: 2_000_000, ..Limits::default() };
    for script in [
        "while true do end",
        "local i = 0 repeat i = i + 1 until false",
        "local function f() return f() end return f()",
        "while true do pcall(function() while true do end end) end",
        "for i = 1, 1e15 do local t = {} end",
    ] {
        let a = assessor_with_limits(&[(KEY, script)], limits);
        let (status, message) = health(&a, &crd(json!({})));
        assert_eq!(status, Unknown, "{script}");
        assert!(message.contains("budget of 2000000 instructions"), "{script}: {message}");
    }
}

#[test]
fn deadline_stops_a_script() {
    let a = assessor_with(&[(KEY, "while true do end")]);
    let expired = Arc::new(AtomicBool::new(true));
    let flag = expired.clone();
    let ctx = RunContext { now_unix: 0, deadline: Some(Arc::new(move || flag.load(Ordering::Relaxed))) };
    let h = a.resource_health(&crd(json!({})), &ctx).unwrap();
    assert_eq!((h.status, h.message.as_str()), (Unknown, "script exceeded its time limit"));
}

#[test]
fn memory_hungry_scripts_are_stopped_and_the_engine_recovers() {
    let limits = Limits { memory_bytes: 8 * 1024 * 1024, ..Limits::default() };
    let a = assessor_with_limits(
        &[
            (KEY, "local s = 'x' while true do s = s .. s end"),
            (
                "resource.customizations.health.example.com_Other",
                "local t = {} for i = 1, 1e8 do t[i] = {i} end return {}",
            ),
            (
                "resource.customizations.health.example.com_Fine",
                "return { status = 'Healthy', message = 'ok' }",
            ),
        ],
        limits,
    );
    let (status, message) = health(&a, &crd(json!({})));
    assert_eq!(status, Unknown);
    assert!(message.contains("memory limit"), "{message}");
    let (status, message) = health(&a, &obj("example.com/v1", "Other", json!({})));
    assert_eq!(status, Unknown);
    assert!(message.contains("memory limit"), "{message}");
    assert_eq!(health(&a, &obj("example.com/v1", "Fine", json!({}))), (Healthy, "ok".to_string()));
}

#[test]
fn customizations_override_built_in_checks_and_wildcards_apply() {
    let a = assessor_with(&[
        (
            "resource.customizations.health.apps_Deployment",
            "return { status = 'Suspended', message = obj.metadata.name }",
        ),
        (
            "resource.customizations.health.*.aws.crossplane.io_*",
            "return { status = 'Healthy', message = obj.kind }",
        ),
    ]);
    let d = obj("apps/v1", "Deployment", json!({"spec": {"replicas": 1}}));
    assert_eq!(health(&a, &d), (Suspended, "x".to_string()));
    let vpc = obj("ec2.aws.crossplane.io/v1beta1", "VPC", json!({}));
    assert_eq!(health(&a, &vpc), (Healthy, "VPC".to_string()));
}

#[test]
fn json_null_is_nil_and_numbers_print_like_lua_5_1() {
    let a = assessor_with(&[(
        KEY,
        "return { status = 'Healthy', message = tostring(obj.status.gone) .. ' ' .. tostring(obj.status.n) .. ' ' .. tostring(obj.status.n / 2) .. ' ' .. tostring(obj.status.f) }",
    )]);
    assert_eq!(
        health(&a, &crd(json!({"gone": null, "n": 10, "f": 1.5}))),
        (Healthy, "nil 10 5 1.5".to_string())
    );
}

#[test]
fn new_style_actions_create_and_patch_with_params() {
    let actions = r#"
discovery.lua: |
  return { scale = { displayName = "Scale", iconClass = "fa fa-up" }, snapshot = {} }
definitions:
- name: scale
  action.lua: |
    obj.spec.replicas = tonumber(actionParams["replicas"])
    return obj
- name: snapshot
  action.lua: |
    local snap = { apiVersion = "example.com/v1", kind = "Snapshot", metadata = { name = obj.metadata.name .. "-snap", namespace = obj.metadata.namespace, labels = {} } }
    obj.metadata.annotations = { ["example.com/snapshotted"] = "true" }
    return { { operation = "create", resource = snap }, { operation = "patch", resource = obj } }
"#;
    let a = assessor_with(&[("resource.customizations.actions.example.com_Widget", actions)]);
    let w = obj("example.com/v1", "Widget", json!({"spec": {"replicas": 1, "selector": {}}}));
    let ctx = RunContext::default();
    let listed = a.list_actions(&w, &ctx).unwrap().unwrap();
    assert_eq!(listed[0].display_name, "Scale");
    assert_eq!(listed[1].name, "snapshot");
    let scaled = a.run_action(&w, "scale", &[("replicas".into(), "4".into())], &ctx).unwrap().unwrap();
    assert_eq!(scaled[0].resource["spec"], json!({"replicas": 4, "selector": {}}));
    let snap = a.run_action(&w, "snapshot", &[], &ctx).unwrap().unwrap();
    assert_eq!(snap.len(), 2);
    assert_eq!(snap[0].operation, tiphys_health::Operation::Create);
    assert_eq!(snap[0].resource["metadata"]["name"], json!("x-snap"));
    assert_eq!(
        snap[0].resource["metadata"]["labels"],
        json!([]),
        "created objects are not fixed up, as upstream"
    );
    assert_eq!(snap[1].resource["metadata"]["annotations"], json!({"example.com/snapshotted": "true"}));
    assert_eq!(snap[1].resource["spec"]["selector"], json!({}));
}

#[test]
fn obj_behaves_like_a_plain_table() {
    let script = r#"
local keys = {}
for k, _ in pairs(obj) do keys[#keys + 1] = k end
table.sort(keys)
local same = obj.spec == obj.spec
local first = next(obj) ~= nil
local raw = rawget(obj, "status") ~= nil
local n = 0
for _, c in ipairs(obj.status.conditions) do n = n + 1 end
return { status = "Healthy", message = table.concat(keys, ",") .. " " .. tostring(same) .. " " .. tostring(first) .. " " .. tostring(raw) .. " " .. n .. " " .. tostring(obj.missing) }
"#;
    let a = assessor_with(&[(KEY, script)]);
    let o = crd(json!({"conditions": [{"type": "A"}, {"type": "B"}]}));
    let mut o2 = o.clone();
    o2["spec"] = json!({"x": 1});
    o2["gone"] = json!(null);
    assert_eq!(
        health(&a, &o2),
        (Healthy, "apiVersion,kind,metadata,spec,status true true true 2 nil".to_string())
    );
    // Before and after iteration, field access keeps working on the next run too.
    let b = assessor_with(&[(
        KEY,
        "local s = obj.status for k in pairs(obj) do end return { status = 'Healthy', message = obj.metadata.name .. #s.conditions }",
    )]);
    assert_eq!(health(&b, &o), (Healthy, "x2".to_string()));
    assert_eq!(health(&b, &o), (Healthy, "x2".to_string()));
}

#[test]
fn one_assessor_serves_many_threads() {
    let a = Arc::new(seed_assessor());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let a = a.clone();
            std::thread::spawn(move || {
                let phase = if i % 2 == 0 { "Healthy" } else { "Degraded" };
                let o = obj("argoproj.io/v1alpha1", "Rollout", json!({"status": {"phase": phase}}));
                (0..50).map(|_| health(&a, &o).0).collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let want = if i % 2 == 0 { Healthy } else { Degraded };
        assert!(h.join().unwrap().iter().all(|s| *s == want));
    }
}
