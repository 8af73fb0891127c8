//! Temporary manual server.
#[tokio::main]
async fn main() {
    let cfg = tiphys_sandbox::SandboxConfig {
        token: Some("t0k".into()),
        addr: "127.0.0.1:18443".parse().unwrap(),
        ..Default::default()
    };
    let h = tiphys_sandbox::Sandbox::start(cfg).await.unwrap();
    h.write_kubeconfig(std::path::Path::new("/tmp/sbx/kubeconfig")).unwrap();
    println!("{}", h.url());
    tokio::signal::ctrl_c().await.unwrap();
}
