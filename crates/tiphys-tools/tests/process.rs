//! The subprocess primitive against real processes.

use std::process::Command;
use std::time::{Duration, Instant};

use tiphys_tools::{RunOptions, ToolError, run};

fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

#[test]
fn returns_output_of_a_successful_command() {
    let out = run(sh("printf hello; printf warn >&2"), "greeter", &RunOptions::default()).unwrap();
    assert_eq!(out.stdout, b"hello");
    assert_eq!(out.stderr, b"warn");
}

#[test]
fn failure_reports_stderr_and_the_description_only() {
    let err = run(sh("echo 'bad thing' >&2; exit 3"), "my-tool", &RunOptions::default()).unwrap_err();
    assert!(matches!(err, ToolError::Failed { .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("my-tool:") && msg.contains("bad thing") && !msg.contains("exit 3"), "{msg}");
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    // Generous enough that `sh` has written the pid file even on a loaded machine.
    let options = RunOptions { timeout: Duration::from_millis(1500), ..RunOptions::default() };
    let start = Instant::now();
    let err = run(sh(&script), "hang", &options).unwrap_err();
    assert!(matches!(err, ToolError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
    // The grandchild got SIGKILL with the group; give the kernel a moment to reap it.
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::fs::read_to_string(proc.join("stat")).map(|s| s.contains(") Z ")).unwrap_or(true)
    });
    assert!(gone, "grandchild {pid} still running");
}

#[test]
fn output_beyond_the_cap_kills_the_command() {
    let options = RunOptions { max_output_bytes: 1 << 16, ..RunOptions::default() };
    let err = run(sh("yes tiphys"), "flood", &options).unwrap_err();
    assert!(matches!(err, ToolError::OutputTooLarge { limit: 65536, .. }), "{err}");
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let err = run(Command::new("/nonexistent/tool"), "ghost", &RunOptions::default()).unwrap_err();
    assert!(matches!(err, ToolError::Spawn { .. }), "{err}");
}
