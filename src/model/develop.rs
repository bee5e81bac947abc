//! A service's `develop` section, validated: the rules `berth watch` follows.
//!
//! Printed as `docker compose config --format json` prints it: each rule's
//! `exec` always (with `"command": null` when the rule has none), `path`
//! absolute, `ignore` and `include` as lists. Extension keys (`x-...`) are
//! accepted and, as in compose, not printed.

use serde::Serialize;

use super::{Map, is_false};
use crate::source::Span;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Develop {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
}

/// What a change under a rule's path does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WatchAction {
    /// Copy the changed files into the running containers.
    #[serde(rename = "sync")]
    Sync,
    /// Build the image again and recreate the service's containers.
    #[serde(rename = "rebuild")]
    Rebuild,
    /// Restart the service's containers.
    #[serde(rename = "restart")]
    Restart,
    #[serde(rename = "sync+restart")]
    SyncRestart,
    /// Sync, then run the rule's `exec` command in each container.
    #[serde(rename = "sync+exec")]
    SyncExec,
}

impl WatchAction {
    pub const ALL: [WatchAction; 5] = [
        WatchAction::Sync,
        WatchAction::Rebuild,
        WatchAction::Restart,
        WatchAction::SyncRestart,
        WatchAction::SyncExec,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WatchAction::Sync => "sync",
            WatchAction::Rebuild => "rebuild",
            WatchAction::Restart => "restart",
            WatchAction::SyncRestart => "sync+restart",
            WatchAction::SyncExec => "sync+exec",
        }
    }

    pub fn parse(text: &str) -> Option<WatchAction> {
        WatchAction::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Whether the action copies files into the containers (and so needs a
    /// `target`).
    pub fn syncs(self) -> bool {
        matches!(
            self,
            WatchAction::Sync | WatchAction::SyncRestart | WatchAction::SyncExec
        )
    }
}

/// One `develop.watch` rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchRule {
    /// Absolute, resolved against the project directory.
    pub path: String,
    pub action: WatchAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// compose prints an empty hook (`{"command": null}`) for every rule.
    pub exec: ServiceHook,
    /// `.dockerignore`-style patterns, relative to `path`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub initial_sync: bool,
    /// Where the rule was written.
    #[serde(skip)]
    pub span: Span,
}

/// A command run in a service's containers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceHook {
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub environment: Map<Option<String>>,
}
