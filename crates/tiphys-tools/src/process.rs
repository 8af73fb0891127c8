//! The subprocess primitive: deadline, output cap, process-group kill.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bounds for one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Kill the command (and its process group) after this long.
    pub timeout: Duration,
    /// Kill the command when standard output or standard error exceeds this many bytes.
    pub max_output_bytes: usize,
}

impl Default for RunOptions {
    /// Upstream's exec timeout is 90 s; manifests beyond 64 MiB are not a sane render.
    fn default() -> Self {
        RunOptions { timeout: Duration::from_secs(90), max_output_bytes: 64 << 20 }
    }
}

/// What a finished command produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
    /// Exit status (always success: failures are errors).
    pub status: ExitStatus,
}

/// Why a command did not succeed. Messages carry the description the caller gave (`what`),
/// never the full argument list or environment, so callers control what is shown.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The program could not be started.
    #[error("{what}: could not start: {source}")]
    Spawn {
        /// The command, as described by the caller.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The deadline passed; the process group was killed.
    #[error("{what}: timed out after {after:?} and was killed")]
    Timeout {
        /// The command.
        what: String,
        /// The configured timeout.
        after: Duration,
    },
    /// Output exceeded the cap; the process group was killed.
    #[error("{what}: output exceeded {limit} bytes and the command was killed")]
    OutputTooLarge {
        /// The command.
        what: String,
        /// The cap.
        limit: usize,
    },
    /// The command exited unsuccessfully.
    #[error("{what}: {status}: {stderr}")]
    Failed {
        /// The command.
        what: String,
        /// Its exit status.
        status: ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// Waiting for the command failed.
    #[error("{what}: {source}")]
    Io {
        /// The command.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn reader(
    mut pipe: impl Read + Send + 'static,
    cap: usize,
    overflow: Arc<AtomicBool>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.len() + n > cap {
                        overflow.store(true, Ordering::Relaxed);
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
            }
        }
        out
    })
}

fn kill_group(child: &Child) {
    // The child leads its own group (process_group(0)), so this reaches grandchildren too.
    // ESRCH (already gone) is fine.
    let _ = rustix::process::kill_process_group(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::KILL,
    );
}

/// Runs `cmd` with stdin closed, in a new process group, within `options`. `what` names the
/// command in errors.
pub fn run(mut cmd: Command, what: &str, options: &RunOptions) -> Result<Output, ToolError> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|source| ToolError::Spawn { what: what.to_string(), source })?;
    let overflow = Arc::new(AtomicBool::new(false));
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(&child);
        let _ = child.wait();
        return Err(ToolError::Io { what: what.to_string(), source: std::io::Error::other("no pipes") });
    };
    let out = reader(stdout, options.max_output_bytes, overflow.clone());
    let err = reader(stderr, options.max_output_bytes, overflow.clone());
    let deadline = Instant::now() + options.timeout;
    let mut pause = Duration::from_micros(50);
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(source) => break Err(ToolError::Io { what: what.to_string(), source }),
        }
        if overflow.load(Ordering::Relaxed) {
            break Err(ToolError::OutputTooLarge { what: what.to_string(), limit: options.max_output_bytes });
        }
        let now = Instant::now();
        if now >= deadline {
            break Err(ToolError::Timeout { what: what.to_string(), after: options.timeout });
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(5));
    };
    // Whatever happened, nothing the command started may outlive it.
    kill_group(&child);
    let _ = child.wait();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let status = outcome?;
    if overflow.load(Ordering::Relaxed) {
        return Err(ToolError::OutputTooLarge { what: what.to_string(), limit: options.max_output_bytes });
    }
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr);
        return Err(ToolError::Failed {
            what: what.to_string(),
            status,
            stderr: text.trim().chars().take(4000).collect(),
        });
    }
    Ok(Output { stdout, stderr, status })
}
