//! The scheduler, apart from any engine: [`walk`] starts each step of a
//! step graph as soon as the steps it waits for are done, with at most
//! `parallel` limited (engine-changing) steps in flight, and tells its
//! caller every start, output, end and skip as it happens.
//!
//! What a step does is the caller's closure, which answers with a
//! [`StepResult`]; the walk only orders, limits, stops scheduling on a
//! failure's dependents or on cancel, and collects a [`WalkReport`]. Turning
//! that into the apply's result is `apply`'s.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::{EventKind, Output};
use crate::plan::StepId;

/// Where a running step sends its [`Output`].
#[derive(Clone)]
pub struct Reporter {
    id: StepId,
    tx: mpsc::UnboundedSender<(StepId, Output)>,
}

impl Reporter {
    pub(super) fn send(&self, out: Output) {
        // The walk outlives every task it spawned: a closed channel only
        // means the walk has returned, and there is no one left to tell.
        let _ = self.tx.send((self.id, out));
    }
}

/// How one step ended, as the executor reports it to the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    Done {
        note: Option<String>,
    },
    /// Failed, but the plan allows it; counts as done for the dependents.
    Warning(String),
    Failed(String),
    /// Gave up on Ctrl-C having changed nothing (a wait): neither done nor
    /// failed.
    Interrupted,
}

impl StepResult {
    pub fn done() -> StepResult {
        StepResult::Done { note: None }
    }

    pub(super) fn noted(note: &str) -> StepResult {
        StepResult::Done {
            note: Some(note.to_string()),
        }
    }
}

/// What a walk of the step graph did, before it is turned into a
/// [`Summary`](super::Summary) or an [`ApplyError`](super::ApplyError).
#[derive(Debug, Default, PartialEq)]
pub struct WalkReport {
    pub done: Vec<StepId>,
    /// Fallbacks whose trigger did not fail: not needed, never started.
    pub unneeded: Vec<StepId>,
    pub warnings: Vec<(StepId, String)>,
    pub failed: Vec<(StepId, String)>,
    pub not_started: Vec<StepId>,
    pub cancelled: bool,
}

/// The scheduler, apart from any engine: starts `run(id, reporter)` for each step as
/// soon as every step in `after[id]` is done, with at most `parallel` steps
/// whose `limited[id]` is true in flight at once. Ready steps start in index
/// order, so that a plan runs the same way each time. A failed step's
/// dependents (and theirs) never start, but every other step still runs, so
/// that one bad service does not leave the rest of the stack undone. After a
/// raised `cancel`, nothing new starts and the steps in flight are awaited.
/// `on` sees every start, output, end and skip, in the order they happen.
///
/// A step with `fallback[id] == Some(t)` runs only if step `t` fails (and
/// after its own `after`); when `t` succeeds, or never starts, it is
/// dropped: reported in [`WalkReport::unneeded`], with no event.
pub async fn walk<F, Fut>(
    after: &[Vec<StepId>],
    fallback: &[Option<StepId>],
    limited: &[bool],
    parallel: usize,
    mut cancel: Option<watch::Receiver<bool>>,
    mut run: F,
    mut on: impl FnMut(StepId, EventKind<'_>),
) -> WalkReport
where
    F: FnMut(StepId, Reporter) -> Fut,
    Fut: Future<Output = StepResult> + Send + 'static,
{
    let n = after.len();
    let parallel = parallel.max(1);
    let mut report = WalkReport::default();
    // Unfinished prerequisites per step; duplicates and out-of-range ids in
    // `after` are a plan bug, but must not hang the walk.
    let mut waiting: Vec<usize> = vec![0; n];
    let mut dependents: Vec<Vec<StepId>> = vec![Vec::new(); n];
    let mut fallbacks: Vec<Vec<StepId>> = vec![Vec::new(); n];
    for (id, deps) in after.iter().enumerate() {
        let deps: BTreeSet<StepId> = deps.iter().copied().filter(|&d| d < n).collect();
        waiting[id] = deps.len();
        for d in deps {
            dependents[d].push(id);
        }
        // The trigger counts as one more prerequisite, met only by failing.
        if let Some(t) = fallback.get(id).copied().flatten().filter(|&t| t < n) {
            waiting[id] += 1;
            fallbacks[t].push(id);
        }
    }
    let mut triggered = vec![false; n];
    let mut ready: BTreeSet<StepId> = (0..n).filter(|&id| waiting[id] == 0).collect();
    let mut started = vec![false; n];
    let mut tasks: JoinSet<StepResult> = JoinSet::new();
    let mut task_step: HashMap<tokio::task::Id, StepId> = HashMap::new();
    let mut limited_in_flight = 0usize;
    let mut stopping = is_raised(&cancel);
    report.cancelled = stopping;
    let (tx, mut outputs) = mpsc::unbounded_channel::<(StepId, Output)>();

    loop {
        if !stopping {
            while let Some(id) = ready
                .iter()
                .copied()
                .find(|&id| !limited[id] || limited_in_flight < parallel)
            {
                ready.remove(&id);
                started[id] = true;
                if limited[id] {
                    limited_in_flight += 1;
                }
                on(id, EventKind::Started);
                let reporter = Reporter { id, tx: tx.clone() };
                let handle = tasks.spawn(run(id, reporter));
                task_step.insert(handle.id(), id);
            }
        }
        if tasks.is_empty() {
            break;
        }
        let raised = async {
            match cancel.as_mut().filter(|_| !stopping) {
                Some(rx) => rx.changed().await.map(|()| *rx.borrow()),
                None => std::future::pending::<Result<bool, watch::error::RecvError>>().await,
            }
        };
        let next = tokio::select! {
            biased;
            Some((id, out)) = outputs.recv() => Next::Output(id, out),
            joined = tasks.join_next_with_id() => Next::Joined(joined),
            changed = raised => Next::Cancel(changed),
        };
        let joined = match next {
            Next::Output(id, out) => {
                on(id, EventKind::Output(&out));
                continue;
            }
            Next::Cancel(changed) => {
                match changed {
                    // A dropped sender can no longer cancel anything.
                    Err(_) => cancel = None,
                    Ok(true) => {
                        stopping = true;
                        report.cancelled = true;
                    }
                    Ok(false) => {}
                }
                continue;
            }
            Next::Joined(joined) => joined,
        };
        let Some(joined) = joined else { break };
        let (task, result) = match joined {
            Ok((task, result)) => {
                // What the step said before it ended is shown before its end.
                while let Ok((id, out)) = outputs.try_recv() {
                    on(id, EventKind::Output(&out));
                }
                (task, result)
            }
            Err(e) => (
                e.id(),
                StepResult::Failed(format!("berth's task for this step ended early: {e}")),
            ),
        };
        let Some(id) = task_step.remove(&task) else {
            continue;
        };
        if limited[id] {
            limited_in_flight -= 1;
        }
        let finished = match &result {
            StepResult::Done { note } => {
                on(id, EventKind::Done(note.as_deref()));
                report.done.push(id);
                true
            }
            StepResult::Warning(message) => {
                on(id, EventKind::Warning(message));
                report.warnings.push((id, message.clone()));
                report.done.push(id);
                true
            }
            // Like `make -k`: what does not depend on the failed step goes
            // on; what does is never started.
            StepResult::Failed(message) => {
                on(id, EventKind::Failed(message));
                report.failed.push((id, message.clone()));
                triggered[id] = true;
                for &f in &fallbacks[id] {
                    waiting[f] -= 1;
                    if waiting[f] == 0 {
                        ready.insert(f);
                    }
                }
                false
            }
            StepResult::Interrupted => {
                on(id, EventKind::Skipped);
                report.not_started.push(id);
                false
            }
        };
        if finished {
            for &d in &dependents[id] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
    }

    for id in (0..n).filter(|&id| !started[id]) {
        let dropped = fallback
            .get(id)
            .copied()
            .flatten()
            .is_some_and(|t| t >= n || !triggered[t]);
        if dropped {
            report.unneeded.push(id);
            continue;
        }
        on(id, EventKind::Skipped);
        report.not_started.push(id);
    }
    // With no failure and no cancel, a step left over waits on a cycle: a
    // plan bug, but one that must be reported rather than passed as success.
    if !stopping
        && report.failed.is_empty()
        && let Some(&id) = report.not_started.first()
    {
        report.failed.push((
            id,
            "the plan makes this step wait for itself (a cycle in the plan); this is a bug in berth"
                .into(),
        ));
    }
    report
}

/// What woke the walk up.
enum Next<T> {
    Output(StepId, Output),
    Joined(Option<T>),
    Cancel(Result<bool, watch::error::RecvError>),
}

fn is_raised(cancel: &Option<watch::Receiver<bool>>) -> bool {
    cancel.as_ref().is_some_and(|rx| *rx.borrow())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::apply::ApplyError;
    use crate::plan::Plan;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Runs a walk where step `i` takes `secs[i]` seconds of paused, virtual
    /// time and fails when listed in `fail`; returns the event log as
    /// `(virtual whole seconds, step, event)`. Seconds, because the timer
    /// rounds each sleep up to the next millisecond.
    fn simulate(
        after: &[Vec<StepId>],
        secs: &[u64],
        fail: &[StepId],
        parallel: usize,
    ) -> (Vec<(u64, StepId, String)>, WalkReport) {
        simulate_with(after, &vec![None; after.len()], secs, fail, parallel)
    }

    fn simulate_with(
        after: &[Vec<StepId>],
        fallback: &[Option<StepId>],
        secs: &[u64],
        fail: &[StepId],
        parallel: usize,
    ) -> (Vec<(u64, StepId, String)>, WalkReport) {
        let rt = rt();
        rt.block_on(async {
            tokio::time::pause();
            let t0 = tokio::time::Instant::now();
            let log = Arc::new(Mutex::new(Vec::new()));
            let limited = vec![true; after.len()];
            let report = walk(
                after,
                fallback,
                &limited,
                parallel,
                None,
                |id, _| {
                    let d = secs[id];
                    let fails = fail.contains(&id);
                    async move {
                        tokio::time::sleep(Duration::from_secs(d)).await;
                        if fails {
                            StepResult::Failed("boom".into())
                        } else {
                            StepResult::done()
                        }
                    }
                },
                |id, ev| {
                    let t = t0.elapsed().as_secs();
                    let ev = match ev {
                        EventKind::Started => "start".to_string(),
                        EventKind::Done(_) => "done".into(),
                        EventKind::Warning(w) => format!("warn {w}"),
                        EventKind::Failed(m) => format!("fail {m}"),
                        EventKind::Skipped => "skip".into(),
                        EventKind::Output(_) => "output".into(),
                    };
                    log.lock().unwrap().push((t, id, ev));
                },
            )
            .await;
            let log = log.lock().unwrap().clone();
            (log, report)
        })
    }

    fn started_at(log: &[(u64, StepId, String)], id: StepId) -> Option<u64> {
        log.iter()
            .find(|(_, i, e)| *i == id && e == "start")
            .map(|(t, _, _)| *t)
    }

    #[test]
    fn a_step_starts_when_its_own_prerequisites_are_done_not_a_whole_level() {
        // 0 (slow) and 1 (fast) have no prerequisites; 2 waits for 1 only,
        // 3 for 0. A level-by-level walk would hold 2 back until 0 is done.
        let after = vec![vec![], vec![], vec![1], vec![0]];
        let (log, report) = simulate(&after, &[1000, 10, 10, 10], &[], 16);
        assert_eq!(started_at(&log, 0), Some(0));
        assert_eq!(started_at(&log, 1), Some(0));
        assert_eq!(started_at(&log, 2), Some(10));
        assert_eq!(started_at(&log, 3), Some(1000));
        assert_eq!(report.done, vec![1, 2, 0, 3]);
        assert!(report.failed.is_empty() && report.not_started.is_empty());
    }

    #[test]
    fn no_more_than_parallel_limited_steps_run_at_once() {
        let after = vec![vec![]; 5];
        let (log, _) = simulate(&after, &[100; 5], &[], 2);
        let starts: Vec<u64> = (0..5).map(|i| started_at(&log, i).unwrap()).collect();
        assert_eq!(starts, vec![0, 0, 100, 100, 200]);
    }

    #[test]
    fn waits_do_not_count_against_the_parallel_limit() {
        let rt = rt();
        let report = rt.block_on(async {
            tokio::time::pause();
            let after = vec![vec![], vec![], vec![]];
            // Step 0 is a long wait; 1 and 2 are limited to one at a time.
            let limited = vec![false, true, true];
            let t0 = tokio::time::Instant::now();
            let starts = Arc::new(Mutex::new(Vec::new()));
            let s = starts.clone();
            walk(
                &after,
                &vec![None; after.len()],
                &limited,
                1,
                None,
                |id, _| async move {
                    tokio::time::sleep(Duration::from_secs(if id == 0 { 1000 } else { 10 })).await;
                    StepResult::done()
                },
                move |id, ev| {
                    if ev == EventKind::Started {
                        s.lock().unwrap().push((id, t0.elapsed().as_secs()));
                    }
                },
            )
            .await;
            starts.lock().unwrap().clone()
        });
        assert_eq!(report, vec![(0, 0), (1, 0), (2, 10)]);
    }

    #[test]
    fn a_failure_stops_only_what_depends_on_it() {
        // 0 fails fast; 1 is in flight and finishes, then 2 (after 1) runs;
        // 3 (after 0) and 4 (after 3) never start.
        let after = vec![vec![], vec![], vec![1], vec![0], vec![3]];
        let (log, report) = simulate(&after, &[10, 100, 10, 10, 10], &[0], 16);
        assert_eq!(report.failed, vec![(0, "boom".to_string())]);
        assert_eq!(report.done, vec![1, 2]);
        assert_eq!(report.not_started, vec![3, 4]);
        assert!(log.contains(&(100, 1, "done".into())));
        assert!(log.contains(&(110, 2, "done".into())));
        assert!(!log.iter().any(|(_, id, what)| *id == 3 && what != "skip"));
    }

    #[test]
    fn a_warning_counts_as_done_for_the_dependents() {
        let rt = rt();
        let report = rt.block_on(walk(
            &[vec![], vec![0]],
            &[None; 2],
            &[false, true],
            4,
            None,
            |id, _| async move {
                if id == 0 {
                    StepResult::Warning("db is not healthy".into())
                } else {
                    StepResult::done()
                }
            },
            |_, _| {},
        ));
        assert_eq!(report.done, vec![0, 1]);
        assert_eq!(report.warnings, vec![(0, "db is not healthy".to_string())]);
    }

    #[test]
    fn cancelling_stops_scheduling_and_lets_steps_in_flight_finish() {
        let rt = rt();
        let (report, plan_result) = rt.block_on(async {
            tokio::time::pause();
            let (tx, rx) = watch::channel(false);
            let after = vec![vec![], vec![0], vec![1]];
            let no_fallbacks = vec![None; after.len()];
            let walk = walk(
                &after,
                &no_fallbacks,
                &[true, true, true],
                4,
                Some(rx),
                |_, _| async {
                    tokio::time::sleep(Duration::from_secs(100)).await;
                    StepResult::done()
                },
                |_, _| {},
            );
            let cancel = async {
                tokio::time::sleep(Duration::from_secs(150)).await;
                tx.send(true).unwrap();
            };
            let (report, ()) = tokio::join!(walk, cancel);
            let mut plan = Plan::default();
            for after in [vec![], vec![0], vec![1]] {
                plan.push(
                    crate::plan::Action::RemoveNetwork { name: "n".into() },
                    crate::plan::Cause::Down,
                    after,
                );
            }
            let result = WalkReport {
                done: report.done.clone(),
                unneeded: vec![],
                warnings: vec![],
                failed: report.failed.clone(),
                not_started: report.not_started.clone(),
                cancelled: report.cancelled,
            }
            .into_result(&plan);
            (report, result)
        });
        // Step 1 was in flight at 150s and finished at 200s.
        assert_eq!(report.done, vec![0, 1]);
        assert_eq!(report.not_started, vec![2]);
        assert!(report.cancelled);
        assert_eq!(
            plan_result,
            Err(ApplyError::Interrupted {
                done: 2,
                not_started: 1
            })
        );
    }

    #[test]
    fn a_cycle_in_the_plan_is_reported_not_passed_as_success() {
        let rt = rt();
        let report = rt.block_on(walk(
            &[vec![1], vec![0]],
            &[None; 2],
            &[true, true],
            4,
            None,
            |_, _| async { StepResult::done() },
            |_, _| {},
        ));
        assert_eq!(report.not_started, vec![0, 1]);
        assert_eq!(report.failed.len(), 1);
    }

    /// A rollout: 0 starts the new one, 1 checks it, 2 drains the old one;
    /// 3 and 4 go back if 1 fails (4 after 3), 5 goes on after 2.
    fn rollout() -> (Vec<Vec<StepId>>, Vec<Option<StepId>>) {
        (
            vec![vec![], vec![0], vec![1], vec![], vec![3], vec![2]],
            vec![None, None, None, Some(1), Some(1), None],
        )
    }

    #[test]
    fn fallbacks_are_dropped_unseen_when_their_trigger_succeeds() {
        let (after, fallback) = rollout();
        let (log, report) = simulate_with(&after, &fallback, &[1; 6], &[], 4);
        assert_eq!(report.done, vec![0, 1, 2, 5]);
        assert_eq!(report.unneeded, vec![3, 4]);
        assert!(report.not_started.is_empty());
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert!(log.iter().all(|(_, id, _)| *id != 3 && *id != 4), "{log:?}");
    }

    #[test]
    fn fallbacks_run_in_their_order_when_their_trigger_fails() {
        let (after, fallback) = rollout();
        let (log, report) = simulate_with(&after, &fallback, &[1; 6], &[1], 4);
        assert_eq!(report.failed, vec![(1, "boom".to_string())]);
        assert_eq!(report.done, vec![0, 3, 4]);
        // What came after the check never started; the fallbacks ran, 4 after 3.
        assert_eq!(report.not_started, vec![2, 5]);
        assert!(report.unneeded.is_empty());
        assert!(log.contains(&(2, 3, "start".into())), "{log:?}");
        assert!(log.contains(&(3, 4, "start".into())), "{log:?}");
    }

    #[test]
    fn a_fallback_whose_trigger_never_starts_is_not_needed() {
        let (after, fallback) = rollout();
        let (_, report) = simulate_with(&after, &fallback, &[1; 6], &[0], 4);
        assert_eq!(report.failed, vec![(0, "boom".to_string())]);
        assert_eq!(report.unneeded, vec![3, 4]);
        assert_eq!(report.not_started, vec![1, 2, 5]);
    }
}
