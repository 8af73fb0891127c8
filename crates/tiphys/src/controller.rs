//! `tiphys controller`: the application controller against any cluster (what Argo CD's
//! `argocd-application-controller` does), until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tiphys_controller::ControllerConfig;

/// Options of `tiphys controller`.
#[derive(Debug, clap::Args)]
pub struct ControllerArgs {
    /// Kubeconfig of the cluster holding the Applications (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long)]
    context: Option<String>,
    /// Namespace of Applications, AppProjects, argocd-cm and repository/cluster Secrets.
    #[arg(long, short = 'n', default_value = "argocd")]
    namespace: String,
    /// Address of /metrics, /healthz and /api/webhook (upstream's controller metrics port is 8082).
    #[arg(long, default_value = "127.0.0.1:8082")]
    listen: SocketAddr,
    /// Where Git caches and scratch space live (kept across restarts).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Take part in Lease leader election (run several replicas; only the leader acts).
    #[arg(long)]
    leader_elect: bool,
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// Runs the controller until a termination signal.
pub fn run(args: ControllerArgs) -> anyhow::Result<ExitCode> {
    crate::lifecycle::init_tracing();
    let path = args
        .kubeconfig
        .or_else(default_kubeconfig)
        .context("no kubeconfig: pass --kubeconfig or set KUBECONFIG")?;
    let kubeconfig = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    let data_dir = match args.data {
        Some(d) => d,
        None => std::env::temp_dir().join("tiphys-controller"),
    };
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "tiphys".into());
    let identity = format!("{host}-{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let config = ControllerConfig {
            kubeconfig,
            context: args.context,
            namespace: args.namespace,
            data_dir,
            listen: Some(args.listen),
            leader_election: args.leader_elect,
            identity,
        };
        let handle = tiphys_controller::start(config).await.context("cannot start the controller")?;
        if let Some(addr) = handle.addr() {
            eprintln!(
                "controller running; metrics at http://{addr}/metrics, webhook at http://{addr}/api/webhook"
            );
        }
        crate::lifecycle::stop_signal().await?;
        eprintln!("stopping: finishing the current operation steps");
        handle.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
