//! Sprig, the function library Helm and Argo CD add to Go templates.

use crate::FuncMap;

/// Inputs that make Sprig deterministic: the clock and the random seed are the caller's.
#[derive(Debug, Clone)]
pub struct SprigEnv {
    /// What `now` returns.
    pub now: jiff::Zoned,
    /// Seed for `randAlphaNum`, `uuidv4` and friends.
    pub seed: u64,
}

/// All Sprig functions Helm ships (Helm removes `env` and `expandenv`; so do we).
pub fn functions(env: &SprigEnv) -> FuncMap {
    let _ = env;
    FuncMap::new()
}
