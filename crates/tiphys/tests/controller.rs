//! `tiphys controller` as users run it: the real binary against a sandbox through a kubeconfig
//! file; it serves /healthz and /metrics and stops cleanly (exit 0) on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tiphys_sandbox::{Sandbox, SandboxConfig};

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn the_controller_command_serves_health_and_metrics_and_stops_on_sigterm() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime.block_on(Sandbox::start(SandboxConfig::default())).expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiphys"))
        .args(["controller", "--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--data")
        .arg(dir.path().join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("tiphys runs");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the controller reports where it listens");
        if let Some(rest) = line.split("metrics at http://").nth(1) {
            break rest.split('/').next().expect("host:port").to_string();
        }
    };
    assert!(get(&addr, "/healthz").ends_with("ok"));
    let metrics = get(&addr, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("argocd_cluster_api_resource_objects"), "{metrics}");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "exit 0 on SIGTERM, got {exit:?}");
    runtime.block_on(sandbox.shutdown());
}
