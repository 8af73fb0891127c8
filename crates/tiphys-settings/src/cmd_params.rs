//! The controller's keys of `argocd-cmd-params-cm` (upstream feeds them to the controller as
//! environment variables; the names and defaults here are the controller's flags').

use std::time::Duration;

use serde_json::{Map, Value};

use crate::argocd_cm::{ARGOCD_CM, Reader, SettingsProblem, TIMEOUT_KEYS};

/// The name of the ConfigMap these parameters come from.
pub const ARGOCD_CMD_PARAMS_CM: &str = "argocd-cmd-params-cm";

/// Exponential backoff between self-heal attempts of one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfHealBackoff {
    /// The first wait (`controller.self.heal.backoff.timeout.seconds`, default 2).
    pub duration: Duration,
    /// The multiplier per attempt (`controller.self.heal.backoff.factor`, default 3).
    pub factor: u32,
    /// The longest wait (`controller.self.heal.backoff.cap.seconds`, default 300).
    pub cap: Duration,
}

/// The application controller's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerParams {
    /// `controller.status.processors` (default 20): concurrent refreshes.
    pub status_processors: u32,
    /// `controller.operation.processors` (default 10): concurrent sync operations.
    pub operation_processors: u32,
    /// `controller.self.heal.timeout.seconds` (default 0): fixed wait between self-heals, used
    /// when the backoff is off.
    pub self_heal_timeout: Duration,
    /// The self-heal backoff; `None` when `controller.self.heal.backoff.timeout.seconds` is 0.
    pub self_heal_backoff: Option<SelfHealBackoff>,
    /// `controller.resource.health.persist` (default true): whether per-resource health is
    /// written into the Application status.
    pub persist_resource_health: bool,
    /// `controller.diff.server.side` (default false): server-side diff for every app.
    pub server_side_diff: bool,
    /// `application.namespaces`: further namespaces (globs) whose Applications are reconciled.
    pub application_namespaces: Vec<String>,
}

impl Default for ControllerParams {
    /// Upstream's flag defaults.
    fn default() -> Self {
        Self {
            status_processors: 20,
            operation_processors: 10,
            self_heal_timeout: Duration::ZERO,
            self_heal_backoff: Some(SelfHealBackoff {
                duration: Duration::from_secs(2),
                factor: 3,
                cap: Duration::from_secs(300),
            }),
            persist_resource_health: true,
            server_side_diff: false,
            application_namespaces: Vec::new(),
        }
    }
}

impl ControllerParams {
    /// Reads argocd-cmd-params-cm (the ConfigMap object or its `data`; `None` when absent).
    /// Never fails: a bad value is a [`SettingsProblem`] and its default applies.
    pub fn from_configmap(cm: Option<&Value>) -> (Self, Vec<SettingsProblem>) {
        let empty = Map::new();
        let mut r = Reader::open(cm, ARGOCD_CMD_PARAMS_CM, &empty);
        let d = Self::default();
        let backoff_default = d.self_heal_backoff.unwrap_or(SelfHealBackoff {
            duration: Duration::ZERO,
            factor: 0,
            cap: Duration::ZERO,
        });
        let backoff_seconds = number(
            &mut r,
            "controller.self.heal.backoff.timeout.seconds",
            backoff_default.duration.as_secs(),
        );
        let factor = number(&mut r, "controller.self.heal.backoff.factor", u64::from(backoff_default.factor));
        let cap = number(&mut r, "controller.self.heal.backoff.cap.seconds", backoff_default.cap.as_secs());
        let params = Self {
            status_processors: count(&mut r, "controller.status.processors", d.status_processors),
            operation_processors: count(&mut r, "controller.operation.processors", d.operation_processors),
            self_heal_timeout: Duration::from_secs(number(
                &mut r,
                "controller.self.heal.timeout.seconds",
                d.self_heal_timeout.as_secs(),
            )),
            self_heal_backoff: (backoff_seconds != 0).then(|| SelfHealBackoff {
                duration: Duration::from_secs(backoff_seconds),
                factor: u32::try_from(factor).unwrap_or(u32::MAX),
                cap: Duration::from_secs(cap),
            }),
            persist_resource_health: r
                .go_bool("controller.resource.health.persist", d.persist_resource_health),
            server_side_diff: r.go_bool("controller.diff.server.side", d.server_side_diff),
            application_namespaces: r
                .text("application.namespaces")
                .map(|t| t.split(',').map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect())
                .unwrap_or_default(),
        };
        for key in TIMEOUT_KEYS.into_iter().filter(|k| r.data.contains_key(*k)) {
            r.problem(key, format!("this key is read from {ARGOCD_CM}, not from {ARGOCD_CMD_PARAMS_CM}; move it there (it is ignored here)"));
        }
        (params, r.problems)
    }
}

/// A whole number of zero or more (Go's `ParseNumFromEnv` with a minimum of 0).
fn number(r: &mut Reader<'_>, key: &str, default: u64) -> u64 {
    let Some(text) = r.text(key).filter(|t| !t.trim().is_empty()) else { return default };
    text.trim().parse().unwrap_or_else(|_| {
        r.problem(key, format!("{text:?} is not a whole number of zero or more (using {default})"));
        default
    })
}

fn count(r: &mut Reader<'_>, key: &str, default: u32) -> u32 {
    u32::try_from(number(r, key, u64::from(default))).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_the_controllers_flag_defaults() {
        let (p, problems) = ControllerParams::from_configmap(None);
        assert!(problems.is_empty());
        assert_eq!((p.status_processors, p.operation_processors), (20, 10));
        assert_eq!(
            p.self_heal_backoff,
            Some(SelfHealBackoff {
                duration: Duration::from_secs(2),
                factor: 3,
                cap: Duration::from_secs(300)
            })
        );
        assert_eq!(p.self_heal_timeout, Duration::ZERO);
        assert!(p.persist_resource_health);
        assert!(!p.server_side_diff);
        assert!(p.application_namespaces.is_empty());
    }

    #[test]
    fn keys_are_read_and_bad_values_fall_back() {
        let (p, problems) = ControllerParams::from_configmap(Some(&json!({"data": {
            "controller.status.processors": "50",
            "controller.operation.processors": "many",
            "controller.self.heal.backoff.timeout.seconds": "0",
            "controller.self.heal.timeout.seconds": "5",
            "controller.resource.health.persist": "false",
            "controller.diff.server.side": "true",
            "application.namespaces": "team-*, apps ,",
            "controller.self.heal.backoff.factor": "-1",
        }})));
        assert_eq!(p.status_processors, 50);
        assert_eq!(p.operation_processors, 10);
        assert_eq!(p.self_heal_backoff, None, "0 turns the backoff off");
        assert_eq!(p.self_heal_timeout, Duration::from_secs(5));
        assert!(!p.persist_resource_health);
        assert!(p.server_side_diff);
        assert_eq!(p.application_namespaces, vec!["team-*", "apps"]);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["controller.self.heal.backoff.factor", "controller.operation.processors"]);
        assert!(problems[1].to_string().starts_with("argocd-cmd-params-cm key"), "{}", problems[1]);
    }
}
