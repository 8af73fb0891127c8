//! `tiphys admin validate FILE... | -`: checks Argo manifests the way admission would and
//! prints one line per problem: `FILE: document N (KIND NAME): PATH: MESSAGE`.

use std::{io::Read, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Args;
use tiphys_model::validate::{Outcome, validate_document};
use tiphys_resource::yaml::parse_stream_lenient;

/// Arguments of `tiphys admin validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files to check; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Do not print notes about skipped non-Argo documents.
    #[arg(short, long)]
    quiet: bool,
}

/// Validates every document of every file; exit 1 when anything is wrong.
pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut report = String::new();
    let mut problems = 0usize;
    let mut checked = 0usize;
    for file in &args.files {
        let (label, text) = read(file)?;
        for doc in parse_stream_lenient(&text) {
            let doc = match doc {
                Ok(d) => d,
                Err(e) => {
                    report += &format!(
                        "{label}: document {} (line {}): invalid YAML: {}\n",
                        e.index, e.line, e.message
                    );
                    problems += 1;
                    continue;
                }
            };
            if doc.value.is_null() {
                continue;
            }
            match validate_document(&doc.value) {
                Outcome::Skipped(note) => {
                    if !args.quiet {
                        eprintln!("{label}: document {} (line {}): {note}", doc.index, doc.line);
                    }
                }
                Outcome::Checked { kind, name, problems: found } => {
                    checked += 1;
                    let who = name.map(|n| format!("{kind} {n}")).unwrap_or_else(|| kind.to_string());
                    for p in &found {
                        report += &format!(
                            "{label}: document {} (line {}, {who}): {}: {}\n",
                            doc.index, doc.line, p.path, p.message
                        );
                    }
                    problems += found.len();
                }
            }
        }
    }
    crate::output::print(&report)?;
    if problems > 0 {
        eprintln!("{problems} problem(s) in {checked} Argo resource(s)");
        return Ok(ExitCode::from(1));
    }
    eprintln!("{checked} Argo resource(s) valid");
    Ok(ExitCode::SUCCESS)
}

fn read(file: &PathBuf) -> anyhow::Result<(String, String)> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("reading standard input")?;
        return Ok(("<stdin>".into(), String::from_utf8_lossy(&buf).into_owned()));
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok((file.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()))
}
