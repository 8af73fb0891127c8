//! `tiphys`: one binary for every role (sandbox, controller, server) and the CLI.
//!
//! This is the edge layer (L4): argument parsing, tracing setup, and turning typed errors into
//! exit codes. Each sub-command lives in its own module and calls into library crates; no
//! GitOps logic lives here.

mod admin;
mod controller;
mod helm;
mod lifecycle;
mod output;
mod render;
mod sandbox;
mod up;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: the controller parses and serializes JSON all day, and
/// with glibc about half of a 1,000-app refresh went to malloc/free (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// GitOps delivery for Kubernetes, compatible with Argo CD's resources and configuration.
#[derive(Debug, Parser)]
#[command(name = "tiphys", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Administrative and offline commands (CRDs, validation, ...).
    Admin(admin::AdminArgs),
    /// The application controller: keeps Applications in sync with Git (against any kubeconfig).
    Controller(controller::ControllerArgs),
    /// Helm-compatible chart rendering (`helm template`), in-process.
    Helm(helm::HelmArgs),
    /// Render one source (directory, Jsonnet, Kustomize, plugin) at a revision and print the manifests.
    Render(Box<render::RenderArgs>),
    /// Run the Kubernetes-API-compatible dev/test server (writes a kubeconfig).
    Sandbox(sandbox::SandboxArgs),
    /// All-in-one demo: sandbox cluster, example Git repository, Applications and the controller.
    Up(up::UpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Admin(args) => admin::run(args),
        Command::Controller(args) => controller::run(args),
        Command::Helm(args) => helm::run(args),
        Command::Render(args) => render::run(*args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Up(args) => up::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
