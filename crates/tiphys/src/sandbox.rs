//! `tiphys sandbox`: the Kubernetes-API-compatible dev/test server on its own.
//!
//! It is not a production cluster (see the `tiphys-sandbox` crate docs): use it to try
//! manifests and controllers locally with `kubectl` or any kube client.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tiphys_sandbox::{Sandbox, SandboxConfig};

/// Options of `tiphys sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Address to bind; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Write a kubeconfig for this sandbox to FILE (mode 0600); without it the kubeconfig is printed.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Keep objects in DIR across restarts.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Bearer token every request must carry (generated when absent).
    #[arg(long, env = "TIPHYS_SANDBOX_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Serve the API only: no simulated Pods, ReplicaSets, Endpoints or statuses.
    #[arg(long)]
    no_simulator: bool,
}

/// Runs the sandbox until Ctrl-C.
pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = SandboxConfig {
            addr: SocketAddr::new(args.bind, args.port),
            token: args.token,
            data_dir: args.data,
            simulator: if args.no_simulator { None } else { Some(Default::default()) },
            ..Default::default()
        };
        let sandbox = Sandbox::start(config).await.context("cannot start the sandbox")?;
        match &args.kubeconfig_out {
            Some(path) => {
                sandbox.write_kubeconfig(path)?;
                eprintln!(
                    "sandbox API server at {}; kubeconfig written to {}",
                    sandbox.url(),
                    path.display()
                );
                eprintln!("try: KUBECONFIG={} kubectl get namespaces", path.display());
            }
            None => {
                eprintln!(
                    "sandbox API server at {}; kubeconfig follows (save it and set KUBECONFIG)",
                    sandbox.url()
                );
                print!("{}", sandbox.kubeconfig());
            }
        }
        eprintln!("this is a dev/test server, not a production cluster; Ctrl-C stops it");
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        sandbox.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
