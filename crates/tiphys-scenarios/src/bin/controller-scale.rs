//! `controller-scale`: runs the controller scale scenario and prints its figures as one JSON
//! object (see `tiphys_scenarios::controller_scale` and docs/benchmarks.md).
//!
//! `cargo run --release -p tiphys-scenarios --bin controller-scale -- --apps 1000 --resources 10`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tiphys_scenarios::controller_scale::{self, Options};

/// Measures the application controller at scale against a sandbox in a child process.
/// The allocator the `tiphys` binary uses, so the controller's figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    /// Applications to create.
    #[arg(long, default_value_t = 1000)]
    apps: usize,
    /// Resources per application.
    #[arg(long, default_value_t = 10)]
    resources: usize,
    /// Self-heal latency samples.
    #[arg(long, default_value_t = 50)]
    self_heal: usize,
    /// Webhook-to-apply latency samples.
    #[arg(long, default_value_t = 20)]
    webhooks: usize,
    /// A smoke-sized run: 10 apps × 3 resources, 5 self-heal and 3 webhook samples.
    #[arg(long)]
    quick: bool,
    /// Milliseconds between Application LISTs while waiting for a phase.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// Seconds each waiting phase may take.
    #[arg(long, default_value_t = 3600)]
    timeout_s: u64,
    /// kubectl for the anchor (default: the pinned one from scripts/install-test-tools.sh, then PATH).
    #[arg(long)]
    kubectl: Option<PathBuf>,
    /// Skip the kubectl anchor (quicker runs while investigating the controller's figures).
    #[arg(long)]
    no_anchor: bool,
    /// Write the controller phase's sandbox kubeconfig to FILE (watch the run with kubectl).
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Internal: serve a sandbox (and Git with --git-root) for the parent scenario.
    #[arg(long, hide = true)]
    host_sandbox: bool,
    /// Internal: bare repositories the sandbox host serves over HTTP.
    #[arg(long, hide = true)]
    git_root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("controller-scale: {e}");
        ExitCode::FAILURE
    };
    if args.host_sandbox {
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(r) => r,
            Err(e) => return fail(&e),
        };
        return match runtime.block_on(tiphys_scenarios::host::serve(args.git_root.as_deref())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    // Controller logs (stderr) only when asked for: `RUST_LOG=tiphys_controller=debug`.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    }
    let host_exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let (apps, resources, self_heal, webhooks) =
        if args.quick { (10, 3, 5, 3) } else { (args.apps, args.resources, args.self_heal, args.webhooks) };
    let opts = Options {
        apps,
        resources,
        self_heal,
        webhooks,
        poll: Duration::from_millis(args.poll_ms),
        timeout: Duration::from_secs(args.timeout_s),
        host_exe,
        kubeconfig_out: args.kubeconfig_out,
        skip_anchor: args.no_anchor,
        kubectl: args
            .kubectl
            .or_else(tiphys_tools::pinned_kubectl)
            .unwrap_or_else(|| PathBuf::from("kubectl")),
    };
    // The controller gets two workers of its own (the machine's size); the driver measures
    // from a single thread so its CPU can be subtracted.
    let controller_rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("controller")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let driver = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let result = driver.block_on(controller_scale::run(&opts, controller_rt.handle().clone()));
    controller_rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
