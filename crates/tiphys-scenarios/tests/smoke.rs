//! Runs the controller scale scenario at smoke size (10 apps × 3 resources) so the runner
//! keeps working; the figures themselves are judged in docs/benchmarks.md, not here.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_quick_scenario_reaches_every_phase_and_reports_every_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_controller-scale"))
        .args(["--quick", "--poll-ms", "100", "--timeout-s", "120"])
        .output()
        .expect("the scenario binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scenario failed (kubectl missing? run scripts/install-test-tools.sh):\n{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!((report["apps"].as_u64(), report["resources"].as_u64()), (Some(10), Some(3)));
    assert_eq!(report["anchor"]["objects"], 40);
    for figure in [
        "/anchor/apply_s",
        "/anchor/ready_s",
        "/initial_sync/seconds",
        "/initial_sync/controller_cpu_s",
        "/full_refresh/seconds",
        "/full_refresh/controller_cpu_s",
        "/peak_rss_mib",
        "/self_heal/p50_ms",
        "/webhook_to_apply/p99_ms",
    ] {
        let value = report.pointer(figure).and_then(Value::as_f64).unwrap_or(-1.0);
        assert!(value > 0.0, "{figure} = {value} in {report:#}");
    }
    assert_eq!(report["self_heal"]["samples"], 5);
    assert_eq!(report["webhook_to_apply"]["samples"], 3);
    assert!(report["targets"].as_object().is_some_and(|t| t.len() == 5), "{report:#}");
}
