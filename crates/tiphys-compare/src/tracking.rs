//! Which Application a comparison is for, in tracking terms: the argocd-cm tracking settings
//! (`tiphys_resource::tracking::Tracking`) plus this app's instance name.

use serde_json::Value;
pub use tiphys_resource::tracking::{Tracking, TrackingMethod, app_instance_name};

/// How this Application marks and recognises its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingConfig {
    /// Method, label key and installation id from argocd-cm.
    pub tracking: Tracking,
    /// The app instance name (see [`app_instance_name`]): the app's name, or
    /// `<namespace>_<name>` for an Application outside the control namespace.
    pub instance_name: String,
}

impl TrackingConfig {
    /// The config for one Application.
    pub fn from_tracking(tracking: &Tracking, instance_name: impl Into<String>) -> Self {
        TrackingConfig { tracking: tracking.clone(), instance_name: instance_name.into() }
    }

    /// Upstream's defaults (annotation tracking) for `instance_name`.
    pub fn new(method: TrackingMethod, instance_name: impl Into<String>) -> Self {
        TrackingConfig {
            tracking: Tracking { method, ..Tracking::default() },
            instance_name: instance_name.into(),
        }
    }

    /// The app instance a live object belongs to, when it is another app than this one.
    pub(crate) fn other_owner(&self, obj: &Value) -> Option<String> {
        self.tracking.tracked_app(obj).filter(|owner| *owner != self.instance_name)
    }
}
