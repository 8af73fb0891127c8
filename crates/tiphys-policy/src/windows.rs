//! Sync windows: whether an Application may sync now.
//!
//! Upstream's rules, as documented: with no matching window every sync is allowed; an active
//! deny window blocks syncs (manual syncs pass only if every active deny window has
//! `manualSync: true`); when allow windows match, syncs need an active allow window (manual
//! syncs pass outside them only if every inactive allow window has `manualSync: true`).
//! Deny wins over allow. A window is active when one of its cron start times, read in the
//! window's time zone (UTC by default), lies within the last `duration`.
//!
//! Upstream's newest code also blocks when an allow window is active but another allow
//! window is inactive; that contradicts its documentation ("syncs will only be allowed when
//! there is an active allow window") and we follow the documentation.

use chrono::{DateTime, Utc};
use tiphys_model::project::SyncWindow;

use crate::glob::matches;
use crate::project::Destination;

/// Why a window cannot be evaluated (it is then treated as inactive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowError(pub String);

/// The Application facts windows match on.
#[derive(Debug, Clone, Default)]
pub struct AppFacts<'a> {
    /// Application name.
    pub name: &'a str,
    /// Its destination.
    pub destination: Destination<'a>,
}

/// Whether a window applies to the Application: by name, cluster (server or name) or
/// namespace; any of the lists given (or all of them with `andOperator`).
pub fn window_matches(window: &SyncWindow, app: &AppFacts<'_>) -> bool {
    let any = |list: &Option<Vec<String>>, test: &dyn Fn(&str) -> bool| {
        list.as_ref().filter(|l| !l.is_empty()).map(|l| l.iter().any(|p| test(p)))
    };
    let by_app = any(&window.applications, &|p| matches(p, app.name, None));
    let by_cluster = any(&window.clusters, &|p| {
        (!app.destination.name.is_empty() && matches(p, app.destination.name, None))
            || (!app.destination.server.is_empty() && matches(p, app.destination.server, None))
    });
    let by_namespace = any(&window.namespaces, &|p| matches(p, app.destination.namespace, None));
    let given: Vec<bool> = [by_app, by_cluster, by_namespace].into_iter().flatten().collect();
    if window.and_operator == Some(true) {
        !given.is_empty() && given.iter().all(|m| *m)
    } else {
        given.iter().any(|m| *m)
    }
}

/// Whether the window is open at `now`.
pub fn is_active(window: &SyncWindow, now: DateTime<Utc>) -> Result<bool, WindowError> {
    let schedule = tiphys_model::validate::parse_schedule(window.schedule.as_deref().unwrap_or_default())
        .map_err(|e| WindowError(format!("schedule: {e}")))?;
    let duration = tiphys_model::duration::parse_go_duration(window.duration.as_deref().unwrap_or_default())
        .map_err(|e| WindowError(e.to_string()))?;
    let zone: chrono_tz::Tz = match window.time_zone.as_deref() {
        None | Some("") => chrono_tz::UTC,
        Some(name) => name.parse().map_err(|_| WindowError(format!("unknown time zone {name:?}")))?,
    };
    let local_now = now.with_timezone(&zone);
    let duration =
        chrono::Duration::from_std(duration).map_err(|_| WindowError("duration too large".into()))?;
    let since = local_now - duration;
    match schedule.find_next_occurrence(&since, false) {
        Ok(start) => Ok(start < local_now),
        Err(_) => Ok(false), // no occurrence at all (e.g. 31 February)
    }
}

/// What the windows say about syncing one Application now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Automated syncs may run.
    pub automated: bool,
    /// Manual syncs may run.
    pub manual: bool,
    /// Indexes (into the project's `syncWindows`) of the windows that apply to the app.
    pub matching: Vec<usize>,
    /// Indexes of the matching windows that are open now.
    pub active: Vec<usize>,
    /// Windows that could not be evaluated, with why.
    pub errors: Vec<(usize, WindowError)>,
}

/// Evaluates the project's windows for an Application at `now`.
pub fn evaluate(windows: &[SyncWindow], app: &AppFacts<'_>, now: DateTime<Utc>) -> Verdict {
    let mut verdict = Verdict {
        automated: true,
        manual: true,
        matching: Vec::new(),
        active: Vec::new(),
        errors: Vec::new(),
    };
    let mut active_deny = Vec::new();
    let mut inactive_allow = Vec::new();
    let mut active_allow = false;
    for (i, w) in windows.iter().enumerate() {
        if !window_matches(w, app) {
            continue;
        }
        verdict.matching.push(i);
        let open = match is_active(w, now) {
            Ok(open) => open,
            Err(e) => {
                verdict.errors.push((i, e));
                false
            }
        };
        let deny = w.kind.as_deref() == Some("deny");
        if open {
            verdict.active.push(i);
        }
        match (deny, open) {
            (true, true) => active_deny.push(w),
            (false, true) => active_allow = true,
            (false, false) => inactive_allow.push(w),
            (true, false) => {}
        }
    }
    let all_manual = |ws: &[&SyncWindow]| ws.iter().all(|w| w.manual_sync == Some(true));
    if !active_deny.is_empty() {
        verdict.automated = false;
        verdict.manual = all_manual(&active_deny);
    } else if !active_allow && !inactive_allow.is_empty() {
        verdict.automated = false;
        verdict.manual = all_manual(&inactive_allow);
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn window(v: serde_json::Value) -> SyncWindow {
        serde_json::from_value(v).unwrap()
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap() // a Monday
    }

    fn app() -> AppFacts<'static> {
        AppFacts {
            name: "web",
            destination: Destination {
                server: "https://kubernetes.default.svc",
                name: "in-cluster",
                namespace: "shop",
            },
        }
    }

    #[test]
    fn activity_follows_schedule_and_duration() {
        let w = window(
            json!({"kind": "deny", "schedule": "0 22 * * *", "duration": "8h", "applications": ["*"]}),
        );
        assert_eq!(is_active(&w, at(23, 0)), Ok(true));
        assert_eq!(is_active(&w, at(5, 59)), Ok(true), "window started yesterday 22:00");
        assert_eq!(is_active(&w, at(6, 1)), Ok(false));
        assert_eq!(is_active(&w, at(21, 59)), Ok(false));
    }

    #[test]
    fn time_zones_shift_the_window() {
        // 09:00 in Berlin is 08:00 UTC in November.
        let w = window(
            json!({"kind": "allow", "schedule": "0 9 * * *", "duration": "1h", "applications": ["*"], "timeZone": "Europe/Berlin"}),
        );
        assert_eq!(is_active(&w, at(8, 30)), Ok(true));
        assert_eq!(is_active(&w, at(9, 30)), Ok(false));
    }

    #[test]
    fn weekday_ranges() {
        let w = window(
            json!({"kind": "deny", "schedule": "0 0 * * 6,0", "duration": "24h", "applications": ["*"]}),
        );
        assert_eq!(is_active(&w, at(12, 0)), Ok(false), "Monday");
        let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        assert_eq!(is_active(&w, saturday), Ok(true));
    }

    #[test]
    fn matching_by_name_cluster_namespace_and_operator() {
        let by_ns =
            window(json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "namespaces": ["sh*"]}));
        assert!(window_matches(&by_ns, &app()));
        let by_cluster = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "clusters": ["in-cluster"]}),
        );
        assert!(window_matches(&by_cluster, &app()));
        let and = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["web"], "namespaces": ["other"], "andOperator": true}),
        );
        assert!(!window_matches(&and, &app()));
        let or = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["web"], "namespaces": ["other"]}),
        );
        assert!(window_matches(&or, &app()));
        let other = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["api"]}),
        );
        assert!(!window_matches(&other, &app()));
    }

    #[test]
    fn no_windows_allow_everything() {
        let v = evaluate(&[], &app(), at(12, 0));
        assert!(v.automated && v.manual);
    }

    #[test]
    fn an_active_deny_blocks_and_manual_sync_lets_manual_through() {
        let deny = |manual: bool| {
            window(
                json!({"kind": "deny", "schedule": "0 12 * * *", "duration": "1h", "applications": ["*"], "manualSync": manual}),
            )
        };
        let v = evaluate(&[deny(false)], &app(), at(12, 30));
        assert!(!v.automated && !v.manual);
        let v = evaluate(&[deny(true)], &app(), at(12, 30));
        assert!(!v.automated && v.manual);
        let v = evaluate(&[deny(true), deny(false)], &app(), at(12, 30));
        assert!(!v.manual, "every active deny window must allow manual syncs");
        let v = evaluate(&[deny(false)], &app(), at(14, 0));
        assert!(v.automated && v.manual, "inactive deny windows do nothing");
    }

    #[test]
    fn allow_windows_confine_syncs_and_deny_wins() {
        let allow = window(
            json!({"kind": "allow", "schedule": "0 9 * * *", "duration": "2h", "applications": ["*"]}),
        );
        assert!(evaluate(std::slice::from_ref(&allow), &app(), at(10, 0)).automated);
        let outside = evaluate(std::slice::from_ref(&allow), &app(), at(12, 0));
        assert!(!outside.automated && !outside.manual);
        let mut manual_allow = allow.clone();
        manual_allow.manual_sync = Some(true);
        assert!(evaluate(&[manual_allow], &app(), at(12, 0)).manual);
        let deny = window(
            json!({"kind": "deny", "schedule": "30 9 * * *", "duration": "1h", "applications": ["*"]}),
        );
        assert!(!evaluate(&[allow, deny], &app(), at(10, 0)).automated, "deny wins over allow");
    }

    #[test]
    fn windows_for_other_apps_are_ignored() {
        let deny = window(
            json!({"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": ["api"]}),
        );
        let v = evaluate(&[deny], &app(), at(12, 0));
        assert!(v.automated && v.matching.is_empty());
    }

    #[test]
    fn broken_windows_are_reported_and_inactive() {
        let bad =
            window(json!({"kind": "deny", "schedule": "every day", "duration": "1h", "applications": ["*"]}));
        let v = evaluate(&[bad], &app(), at(12, 0));
        assert!(v.automated);
        assert_eq!(v.errors.len(), 1);
    }
}
