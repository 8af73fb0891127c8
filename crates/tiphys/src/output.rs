//! Writing command output to stdout without panicking when the reader goes away
//! (`tiphys admin crds | head` must not crash with a broken pipe).

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout; a closed pipe ends output quietly.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
