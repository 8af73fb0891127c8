//! Health status values and their ordering, as Argo CD reports them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One of upstream's six health codes. The declaration order is upstream's precedence, from
/// most to least healthy, so `Ord` answers "is this worse?" directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HealthStatusCode {
    /// The resource is fully operational.
    Healthy,
    /// The resource is paused on purpose (a paused Deployment, a suspended Job).
    Suspended,
    /// Not healthy yet, but still able to get there.
    Progressing,
    /// The resource is not in the cluster.
    Missing,
    /// The resource failed or could not become healthy in time.
    Degraded,
    /// Health could not be assessed (script error, malformed object).
    Unknown,
}

impl HealthStatusCode {
    /// Every code, in precedence order.
    pub const ALL: [HealthStatusCode; 6] = [
        HealthStatusCode::Healthy,
        HealthStatusCode::Suspended,
        HealthStatusCode::Progressing,
        HealthStatusCode::Missing,
        HealthStatusCode::Degraded,
        HealthStatusCode::Unknown,
    ];

    /// The spelling upstream uses in status fields and Lua scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatusCode::Healthy => "Healthy",
            HealthStatusCode::Suspended => "Suspended",
            HealthStatusCode::Progressing => "Progressing",
            HealthStatusCode::Missing => "Missing",
            HealthStatusCode::Degraded => "Degraded",
            HealthStatusCode::Unknown => "Unknown",
        }
    }

    /// Parses the exact upstream spelling (case-sensitive, as upstream validates Lua output).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Upstream's `IsWorse(current, new)`: whether `new` ranks below `self`.
    pub fn is_worse(self, new: HealthStatusCode) -> bool {
        new > self
    }
}

impl fmt::Display for HealthStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health of one resource: a code plus the human-readable message shown in UI and CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// The code.
    pub status: HealthStatusCode,
    /// Why; empty when upstream gives no message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl HealthStatus {
    /// Builds a status from a code and a message.
    pub fn new(status: HealthStatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// Builds a status with an empty message.
    pub fn bare(status: HealthStatusCode) -> Self {
        Self { status, message: String::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_matches_upstream_order() {
        use HealthStatusCode::*;
        assert!(Healthy.is_worse(Progressing));
        assert!(Healthy.is_worse(Degraded));
        assert!(!Degraded.is_worse(Progressing));
        assert!(Suspended.is_worse(Progressing));
        assert!(Progressing.is_worse(Missing));
        assert!(Missing.is_worse(Degraded));
        assert!(Degraded.is_worse(Unknown));
        assert!(!Unknown.is_worse(Healthy));
    }

    #[test]
    fn spelling_round_trips() {
        for code in HealthStatusCode::ALL {
            assert_eq!(HealthStatusCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(HealthStatusCode::parse("healthy"), None);
        assert_eq!(HealthStatusCode::parse(""), None);
    }
}
