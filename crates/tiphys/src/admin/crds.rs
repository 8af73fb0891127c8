//! `tiphys admin crds`: the CustomResourceDefinitions as a YAML stream for `kubectl apply -f -`.

use std::process::ExitCode;

use clap::Args;

/// Arguments of `tiphys admin crds`.
#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value = "yaml")]
    output: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Yaml,
    Json,
}

/// Prints the CRDs.
pub fn run(args: CrdsArgs) -> anyhow::Result<ExitCode> {
    let crds = tiphys_model::crd::crds();
    match args.output {
        Format::Yaml => crate::output::print(&tiphys_resource::yaml::to_yaml_stream(&crds))?,
        Format::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": crds});
            crate::output::print(&(serde_json::to_string_pretty(&list)? + "\n"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
