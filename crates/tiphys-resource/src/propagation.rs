//! `propagationPolicy` of a delete: one type for the API server (sandbox), the client
//! (tiphys-kube) and the sync engine, with the API's spelling.

use std::fmt;
use std::str::FromStr;

/// What happens to an object's dependents (ownerReferences) when it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Propagation {
    /// Delete the object now; the garbage collector removes dependents afterwards.
    #[default]
    Background,
    /// Keep the object (with the `foregroundDeletion` finalizer) until its dependents are gone.
    Foreground,
    /// Delete the object and leave its dependents, minus the ownerReference.
    Orphan,
}

impl Propagation {
    /// The API's spelling: `Background`, `Foreground`, `Orphan`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Background => "Background",
            Self::Foreground => "Foreground",
            Self::Orphan => "Orphan",
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Propagation {
    /// The unknown policy, for the caller's message.
    type Err = String;

    /// Parses a policy case-insensitively (the API writes `Foreground`; Argo CD's
    /// `PrunePropagationPolicy=foreground` sync option is lower-case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "background" => Ok(Self::Background),
            "foreground" => Ok(Self::Foreground),
            "orphan" => Ok(Self::Orphan),
            _ => Err(s.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_the_api_spelling_prints() {
        for p in [Propagation::Background, Propagation::Foreground, Propagation::Orphan] {
            assert_eq!(p.as_str().parse::<Propagation>(), Ok(p));
            assert_eq!(p.as_str().to_lowercase().parse::<Propagation>(), Ok(p));
        }
        assert_eq!("sideways".parse::<Propagation>(), Err("sideways".to_string()));
    }
}
