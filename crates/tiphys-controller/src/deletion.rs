//! Cascade deletion of an Application through upstream's resources finalizer.
//!
//! `resources-finalizer.argocd.argoproj.io` (or its `/foreground` form) deletes every
//! resource the app tracks with foreground propagation; the `/background` form uses
//! background propagation. The finalizer is removed once no tracked resource is left, and
//! only then does the API server delete the Application. Without the finalizer, deleting an
//! Application leaves its resources in place (as upstream).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tiphys_kube::{PatchBody, Propagation, WriteOptions};
use tiphys_model::application::Application;
use tiphys_resource::ResourceKey;
use tiphys_resource::annotations::{
    RESOURCES_FINALIZER, RESOURCES_FINALIZER_BACKGROUND, RESOURCES_FINALIZER_FOREGROUND,
};

use crate::queue::Level;
use crate::runtime::Controller;

/// How often a deleting app looks again while its resources go away.
const RECHECK: Duration = Duration::from_secs(1);

/// The propagation a finalizer asks for, or `None` when it is not ours.
fn propagation_of(finalizer: &str) -> Option<Propagation> {
    match finalizer {
        RESOURCES_FINALIZER | RESOURCES_FINALIZER_FOREGROUND => Some(Propagation::Foreground),
        RESOURCES_FINALIZER_BACKGROUND => Some(Propagation::Background),
        _ => None,
    }
}

impl Controller {
    /// Deletes the app's resources and then releases the app (one step per call).
    pub async fn finalize(self: &Arc<Self>, name: &str, app: &Application) {
        let finalizers = app.metadata.finalizers.clone().unwrap_or_default();
        let Some(propagation) = finalizers.iter().find_map(|f| propagation_of(f)) else { return };
        let dest = app.spec.destination.clone().unwrap_or_default();
        let destination = match self.destinations.server_of(&dest) {
            Ok(server) => self.destinations.connect(&server, &self.snapshot().settings).await,
            Err(e) => Err(e),
        };
        let destination = match destination {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(app = name, error = %e, "cannot delete resources: destination unavailable");
                self.request(name, Level::CompareOnly, RECHECK * 10);
                return;
            }
        };
        let instance = self.instance_of(app);
        let live = self.tracked_live(&destination, &instance);
        let mut waiting = 0;
        for obj in &live {
            let key = match ResourceKey::of(obj) {
                Ok(k) => k,
                Err(_) => continue,
            };
            // An app never deletes itself through its own finalizer (app-of-apps managing itself).
            if key.group == "argoproj.io"
                && key.kind == "Application"
                && key.name == name
                && key.namespace == self.namespace
            {
                continue;
            }
            waiting += 1;
            if obj["metadata"]["deletionTimestamp"].is_string() {
                continue;
            }
            if let Err(e) = destination.cluster.delete(&key, propagation, false).await {
                tracing::warn!(app = name, resource = %key, error = %e, "delete failed; retrying");
            }
        }
        if waiting > 0 {
            self.request(name, Level::CompareOnly, RECHECK);
            return;
        }
        let remaining: Vec<&String> = finalizers.iter().filter(|f| propagation_of(f).is_none()).collect();
        let key = ResourceKey::new("argoproj.io", "Application", &self.namespace, name);
        let patch = json!({"metadata": {"finalizers": remaining,
            "resourceVersion": app.metadata.resource_version}});
        match self
            .destinations
            .in_cluster()
            .cluster
            .patch(&key, PatchBody::Merge(patch), &WriteOptions::default())
            .await
        {
            Ok(_) => tracing::info!(app = name, "resources deleted; finalizer removed"),
            Err(e) => {
                tracing::debug!(app = name, error = %e, "finalizer removal raced a change; retrying");
                self.request(name, Level::CompareOnly, RECHECK);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalizer_forms_map_to_propagation() {
        assert_eq!(propagation_of(RESOURCES_FINALIZER), Some(Propagation::Foreground));
        assert_eq!(
            propagation_of("resources-finalizer.argocd.argoproj.io/foreground"),
            Some(Propagation::Foreground)
        );
        assert_eq!(
            propagation_of("resources-finalizer.argocd.argoproj.io/background"),
            Some(Propagation::Background)
        );
        assert_eq!(propagation_of("pre-delete-finalizer.argocd.argoproj.io"), None);
    }
}
