//! `berth start`, `stop` and `restart`: act on the containers a stack
//! already has, in dependency order (stop in reverse), in parallel within
//! a wave of the order.
//!
//! They never create anything: a service without a container is an error
//! that points at `berth up`. Without a stack file (`-p` alone) there is no
//! order to follow, and every container is one wave.

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use futures_util::future::join_all;

use super::down::project;
use super::up::{connect, engine_failed, lock_project, runtime};
use super::{Global, Outcome};
use crate::engine::Engine;
use crate::graph::Graph;
use crate::identity;
use crate::load::Loaded;
use crate::output::{Progress, ProgressMode};

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Only these services (default: all)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Seconds each container gets to stop before it is killed (default: its
    /// stop_grace_period, else 10)
    #[arg(short = 't', long, value_name = "SECS")]
    pub timeout: Option<i64>,
}

/// Which of the three commands runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

/// One existing container of the project, from the label-filtered list.
#[derive(Debug, Clone)]
pub struct Replica {
    pub service: String,
    pub number: u32,
    pub id: String,
    pub name: String,
    pub running: bool,
}

impl Replica {
    pub fn from_summary(c: &ContainerSummary) -> Option<Replica> {
        let labels = c.labels.as_ref()?;
        Some(Replica {
            service: labels.get(identity::SERVICE)?.clone(),
            number: labels
                .get(identity::NUMBER)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
            id: c.id.clone()?,
            name: c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default(),
            running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
        })
    }
}

/// The project's containers, sorted by service and number.
/// Connects, lists the project's containers and checks the named services
/// against them; every failure is printed here.
pub(super) async fn connect_and_find(
    loaded: Option<&Loaded>,
    project: &str,
    services: &[String],
    progress: &Progress,
) -> Result<(Engine, Vec<Replica>), Outcome> {
    let engine = connect(progress).await?;
    let found = replicas(&engine, project).await.map_err(|e| {
        engine_failed(&e, progress);
        Outcome::Invalid
    })?;
    if let Err(message) = check_services(loaded, &found, services) {
        progress.error(&message);
        return Err(Outcome::Invalid);
    }
    Ok((engine, found))
}

pub(super) async fn replicas(
    engine: &Engine,
    project: &str,
) -> crate::engine::Result<Vec<Replica>> {
    let mut out: Vec<Replica> = engine
        .list_containers(project)
        .await?
        .iter()
        .filter_map(Replica::from_summary)
        .collect();
    out.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    Ok(out)
}

/// Checks that every named service is known (to the stack, or by a
/// container's label without one); the error names the known ones.
pub(super) fn check_services(
    loaded: Option<&Loaded>,
    found: &[Replica],
    named: &[String],
) -> Result<(), String> {
    let mut known: Vec<String> = match loaded {
        Some(l) => l.stack.services.keys().cloned().collect(),
        None => found.iter().map(|r| r.service.clone()).collect(),
    };
    known.dedup();
    for name in named {
        if !known.contains(name) {
            return Err(format!(
                "no service `{name}` in the stack; its services are: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// The services to act on in waves, dependencies first: the stack's order
/// restricted to `named` (all when empty), or one wave without a stack.
pub fn waves(loaded: Option<&Loaded>, found: &[Replica], named: &[String]) -> Vec<Vec<String>> {
    let selected = |s: &String| named.is_empty() || named.contains(s);
    match loaded {
        Some(l) => Graph::new(&l.stack)
            .waves()
            .into_iter()
            .map(|w| w.into_iter().filter(selected).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .collect(),
        None => {
            let mut all: Vec<String> = found
                .iter()
                .map(|r| r.service.clone())
                .filter(selected)
                .collect();
            all.dedup();
            if all.is_empty() {
                Vec::new()
            } else {
                vec![all]
            }
        }
    }
}

pub fn start(global: &Global, args: StartArgs) -> Outcome {
    run(global, Verb::Start, &args.services, None)
}

pub fn stop(global: &Global, args: StopArgs) -> Outcome {
    run(global, Verb::Stop, &args.services, args.timeout)
}

pub fn restart(global: &Global, args: StopArgs) -> Outcome {
    run(global, Verb::Restart, &args.services, args.timeout)
}

fn run(global: &Global, verb: Verb, services: &[String], timeout: Option<i64>) -> Outcome {
    let progress = Progress::stderr(ProgressMode::detect());
    let (loaded, project) = match project(global, &progress) {
        Ok(x) => x,
        Err(outcome) => return outcome,
    };
    // An `up` or `down` in flight would race with these calls.
    let _lock = match lock_project(&project, &progress) {
        Ok(lock) => lock,
        Err(outcome) => return outcome,
    };
    runtime().block_on(async {
        let (engine, found) =
            match connect_and_find(loaded.as_ref(), &project, services, &progress).await {
                Ok(x) => x,
                Err(outcome) => return outcome,
            };
        let mut waves = waves(loaded.as_ref(), &found, services);
        if verb != Verb::Stop {
            let missing: Vec<&str> = waves
                .iter()
                .flatten()
                .filter(|s| !found.iter().any(|r| &r.service == *s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                progress.error(&format!(
                    "no container for {}: nothing was {}; run `berth up` to create {}",
                    missing.join(", "),
                    match verb {
                        Verb::Start => "started",
                        _ => "restarted",
                    },
                    if missing.len() == 1 { "it" } else { "them" }
                ));
                return Outcome::Invalid;
            }
        } else {
            waves.reverse();
        }
        act(&engine, verb, &waves, &found, timeout, &progress).await
    })
}

/// Runs the verb wave by wave; a wave's containers in parallel. Stops at
/// the first wave with a failure, so nothing starts before what it needs.
async fn act(
    engine: &Engine,
    verb: Verb,
    waves: &[Vec<String>],
    found: &[Replica],
    timeout: Option<i64>,
    progress: &Progress,
) -> Outcome {
    for wave in waves {
        let targets: Vec<&Replica> = found
            .iter()
            .filter(|r| wave.contains(&r.service))
            .filter(|r| match verb {
                Verb::Start => !r.running,
                Verb::Stop => r.running,
                Verb::Restart => true,
            })
            .collect();
        let results = join_all(targets.iter().map(|r| async move {
            let result = match verb {
                Verb::Start => engine.start_container(&r.id).await,
                Verb::Stop => engine.stop_container(&r.id, timeout).await,
                Verb::Restart => engine.restart_container(&r.id, timeout).await,
            };
            (r, result)
        }))
        .await;
        let mut failed = false;
        for (r, result) in results {
            match result {
                Ok(()) => progress.status(
                    match verb {
                        Verb::Start => "Started",
                        Verb::Stop => "Stopped",
                        Verb::Restart => "Restarted",
                    },
                    &format!("container {}", r.name),
                ),
                Err(e) => {
                    failed = true;
                    progress.error(&format!("container {}: {e}", r.name));
                }
            }
        }
        if failed {
            return Outcome::Invalid;
        }
    }
    Outcome::Success
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(service: &str) -> Replica {
        Replica {
            service: service.into(),
            number: 1,
            id: format!("id-{service}"),
            name: format!("p-{service}-1"),
            running: true,
        }
    }

    #[test]
    fn without_a_stack_every_service_is_one_wave_and_named_ones_filter_it() {
        let found = [replica("a"), replica("b")];
        assert_eq!(waves(None, &found, &[]), vec![vec!["a", "b"]]);
        assert_eq!(waves(None, &found, &["b".into()]), vec![vec!["b"]]);
    }

    #[test]
    fn with_a_stack_dependencies_come_first_and_unnamed_services_drop_out() {
        let dir = crate::testutil::dir(&[(
            "compose.yaml",
            "services:\n  web: {image: x, depends_on: [api]}\n  api: {image: x, depends_on: [db]}\n  db: {image: x}\n  cache: {image: x}\n",
        )]);
        let opts = crate::load::Options {
            files: vec![dir.0.join("compose.yaml")],
            cwd: dir.0.clone(),
            ..crate::load::Options::default()
        };
        let loaded = crate::load::load(&opts).unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
        assert_eq!(
            waves(Some(&loaded), &[], &[]),
            vec![vec!["db", "cache"], vec!["api"], vec!["web"]]
        );
        assert_eq!(
            waves(Some(&loaded), &[], &["web".into(), "db".into()]),
            vec![vec!["db"], vec!["web"]]
        );
    }

    #[test]
    fn an_unknown_service_is_named_with_the_known_ones() {
        let found = [replica("a"), replica("b")];
        assert_eq!(
            check_services(None, &found, &["c".into()]),
            Err("no service `c` in the stack; its services are: a, b".into())
        );
    }
}
