//! `tiphys up`: the all-in-one demo — sandbox cluster, example Git repository on loopback,
//! Applications for it, and the controller — in one process until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tiphys_up::{NAMESPACE, UpConfig};

/// Options of `tiphys up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Keep the cluster, the example repository and the caches in DIR across restarts (a
    /// temporary directory, removed on exit, otherwise).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Port of the sandbox API server (default: the one remembered in --data, else a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Port of the example Git repository's HTTP server (default: remembered, else free; a
    /// --data directory keeps the port its Applications were registered with).
    #[arg(long)]
    git_port: Option<u16>,
    /// Port of the controller's metrics and webhook endpoint (default: remembered, else free).
    #[arg(long)]
    metrics_port: Option<u16>,
}

/// Runs `tiphys up` until Ctrl-C or SIGTERM.
pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    crate::lifecycle::init_tracing();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = UpConfig {
            data_dir: args.data.clone(),
            api_port: args.port,
            git_port: args.git_port,
            metrics_port: args.metrics_port,
        };
        let env = tiphys_up::start(config).await.context("tiphys up could not start")?;
        let kubeconfig = env.kubeconfig_path();
        let repo = env.repo_dir();
        println!("sandbox cluster: {} (a dev/test server, not a production cluster)", env.api_url());
        println!("kubeconfig:      {}", kubeconfig.display());
        println!();
        println!("  export KUBECONFIG={}", kubeconfig.display());
        println!("  kubectl get applications -n {NAMESPACE} -w");
        println!();
        println!("example repository: {} (read-only over HTTP)", env.repo_url());
        println!("  working tree:   {}", repo.display());
        println!("  change an app:  edit a file there, then git commit -am 'my change'");
        println!("  or push to it:  git clone {} my-clone && cd my-clone && ... && git push", repo.display());
        println!("  the controller notices new commits and syncs them (automated, with prune and self-heal)");
        println!(
            "  sync by hand:   kubectl patch application guestbook -n {NAMESPACE} --type merge -p '{{\"operation\":{{\"initiatedBy\":{{\"username\":\"you\"}},\"sync\":{{}}}}}}'"
        );
        match env.metrics_url() {
            Some(url) => println!("metrics:         {url}"),
            None => println!("metrics:         not served by this controller build"),
        }
        match &args.data {
            Some(dir) => println!("state is kept in {}; run the same command again to resume", dir.display()),
            None => println!("state is temporary; pass --data DIR to keep it across restarts"),
        }
        println!("tiphys up is ready; Ctrl-C stops it");
        let waited = crate::lifecycle::stop_signal().await;
        eprintln!("stopping: controller, git server, sandbox");
        env.shutdown().await;
        waited?;
        Ok(ExitCode::SUCCESS)
    })
}
