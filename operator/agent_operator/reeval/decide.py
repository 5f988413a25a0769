"""plan_reeval: one reconcile's decision for spec.evaluation.schedule. Pure and level-based: the
same input gives the same plan, and replanning from the plan's own state starts nothing new and
emits no events.

The rules (docs/rollouts.md, "Scheduled re-evaluation"):

* a run starts for the latest cron slot after the last one run (or after the schedule was first
  seen): however many slots were missed (operator down, a rollout in flight, a long run), one run
  catches them up;
* only one run at a time, only of the stable revision, never while a canary is in flight or the
  agent is suspended;
* a run below minScore (or failing, or timing out) sets EvaluationRegressed and posts a Warning;
  with onRegression: Suspend the stable revision is also held at zero replicas, until the spec
  asks for another revision, a rollback makes another revision stable, or onRegression is no
  longer Suspend.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..api.agent import Evaluation
from ..api.scheduled import MAX_SCORES
from ..cron import Cron, CronError, last_fire, next_fire, parse_cron
from ..rollout.types import EvaluationObservation, Event
from .types import ReevalInput, ReevalPlan, ReevalState, Regression, ScheduledRun, ScoreRecord

LIFT_HINT = "a new revision in the spec, agentctl rollback, or onRegression: Alert lifts it"
SLOT_MARGIN_SECONDS = 0.25
_VERB = {"Passed": "passed", "Failed": "failed", "TimedOut": "timed out"}


def plan_reeval(inp: ReevalInput) -> ReevalPlan:
    spec = inp.spec
    if spec is None or spec.schedule is None:
        return ReevalPlan(state=ReevalState())
    try:
        cron = parse_cron(spec.schedule)
    except CronError:  # admission and validation keep these out; an old object must not crash us
        return ReevalPlan(state=ReevalState())
    # Status keeps seconds: deciding on whole seconds makes a replan from stored state identical.
    inp = replace(inp, now=inp.now.replace(microsecond=0))
    events: list[Event] = []
    state = _follow(inp, spec.schedule)
    state = _finish(inp, spec, state, events)
    state = _lift(inp, spec, state, events)
    state = _start(inp, cron, state)
    suspended = state.suspended_revision is not None
    upcoming = next_fire(cron, _counted_from(state))
    return ReevalPlan(
        state=state,
        run_job=state.running is not None,
        suspended=suspended,
        condition=_condition(inp, spec, state, upcoming),
        events=tuple(events),
        next_run=upcoming,
        requeue_after=_timer(inp, spec, state, upcoming),
    )


def _counted_from(state: ReevalState) -> datetime:
    assert state.since is not None
    return max(state.since, state.last_slot) if state.last_slot else state.since


def _follow(inp: ReevalInput, schedule: str) -> ReevalState:
    """Anchor a new expression at now, and follow the serving revision: its own trend, from its
    history record; a run of a revision that no longer serves is dropped (its Job ends alone)."""
    state = inp.state
    if state.schedule != schedule or state.since is None:
        state = replace(state, schedule=schedule, since=inp.now, last_slot=None, running=None)
    stable = inp.stable_revision
    if state.revision != stable:
        scores = inp.history_scores.get(stable, ()) if stable else ()
        state = replace(state, revision=stable, scores=scores[-MAX_SCORES:])
    if state.running is not None and state.running.revision != stable:
        state = replace(state, running=None)
    return state


def judge(
    observed: EvaluationObservation | None, spec: Evaluation, run: ScheduledRun, now: datetime
) -> ScoreRecord | None:
    """The finished run's record, judged as the evaluation gate judges; None while it runs."""
    record = ScoreRecord(at=now, result="Passed", slot=run.slot)
    if observed is not None and observed.exists and observed.succeeded:
        score = observed.score
        if score is None or score >= spec.min_score:
            return replace(record, score=score, message=observed.message)
        return replace(
            record, result="Failed", score=score, message=f"score {score:g} below minScore {spec.min_score:g}"
        )
    if observed is not None and observed.exists and observed.failed:
        why = f"evaluation job failed: {observed.message}" if observed.message else "evaluation job failed"
        return replace(record, result="Failed", score=observed.score, message=why)
    if (now - run.started_at).total_seconds() > spec.timeout_seconds:
        return replace(record, result="TimedOut", message=f"no result within {spec.timeout_seconds}s")
    return None


def trend(scores: tuple[ScoreRecord, ...]) -> str:
    """The scores oldest first, e.g. ``0.95 0.93 0.61``; a run without a score shows its result."""
    return " ".join(f"{s.score:g}" if s.score is not None else s.result for s in scores)


def _finish(inp: ReevalInput, spec: Evaluation, state: ReevalState, events: list[Event]) -> ReevalState:
    run = state.running
    if run is None:
        return state
    record = judge(inp.job, spec, run, inp.now)
    if record is None:
        return state
    before = state.scores[-1] if state.scores else None
    scores = (*state.scores, record)[-MAX_SCORES:]
    state = replace(state, running=None, scores=scores)
    shown = f"scores {trend(scores)}"
    if not record.regressed:
        if before is not None and before.regressed:
            events.append(
                Event(
                    "Normal",
                    "EvaluationRecovered",
                    f"scheduled evaluation of revision {run.revision} passed again ({shown})",
                )
            )
        else:
            events.append(
                Event("Normal", "ScheduledEvaluationPassed", f"revision {run.revision} passed ({shown})")
            )
        return state
    suspend = spec.on_regression == "Suspend" and _may_suspend(inp, run.revision)
    then = (
        f"every revision scaled to 0 (onRegression: Suspend); {LIFT_HINT}"
        if suspend
        else "onRegression: Alert, so it keeps serving"
    )
    events.append(
        Event(
            "Warning",
            "EvaluationRegressed",
            f"scheduled evaluation of serving revision {run.revision} {_VERB[record.result]}: "
            f"{record.message} ({shown}); {then}",
        )
    )
    if suspend:
        state = replace(state, suspended_revision=run.revision, suspended_at=inp.now)
    return state


def _may_suspend(inp: ReevalInput, revision: str) -> bool:
    """A revision the spec has already moved away from is not suspended: its successor is on its
    way and the regressed one serves until it lands."""
    return inp.desired_revision == revision and inp.stable_revision == revision


def _lift(inp: ReevalInput, spec: Evaluation, state: ReevalState, events: list[Event]) -> ReevalState:
    held = state.suspended_revision
    if held is None:
        return state
    why = None
    if spec.on_regression != "Suspend":
        why = "onRegression is no longer Suspend"
    elif inp.desired_revision != held:
        why = f"the spec asks for revision {inp.desired_revision}"
    elif inp.stable_revision != held:
        why = f"revision {inp.stable_revision} is stable now"
    if why is None:
        return state
    events.append(
        Event("Normal", "RegressionSuspensionLifted", f"revision {held} no longer held at 0 replicas: {why}")
    )
    return replace(state, suspended_revision=None, suspended_at=None)


def _start(inp: ReevalInput, cron: Cron, state: ReevalState) -> ReevalState:
    stable = inp.stable_revision
    if (
        stable is None
        or state.running is not None
        or inp.canary_revision is not None
        or inp.suspend
        or state.suspended_revision is not None
    ):
        return state
    slot = last_fire(cron, _counted_from(state), inp.now)
    if slot is None:
        return state
    return replace(state, last_slot=slot, running=ScheduledRun(stable, slot, inp.now))


def _condition(
    inp: ReevalInput, spec: Evaluation, state: ReevalState, upcoming: datetime | None
) -> Regression:
    revision = state.revision or "none"
    following = f"next run {_when(upcoming)}"
    last = state.scores[-1] if state.scores else None
    if last is None:
        return Regression(
            "False", "NotEvaluatedYet", f"no scheduled run of revision {revision} yet; {following}"
        )
    shown = f"scores {trend(state.scores)} (minScore {spec.min_score:g})"
    if not last.regressed:
        return Regression(
            "False", "Passing", f"revision {revision} passed its last run; {shown}; {following}"
        )
    reason = {"Failed": "ScoreBelowMinimum" if last.score is not None else "EvaluationFailed"}.get(
        last.result, "EvaluationTimedOut"
    )
    if state.suspended_revision is not None:
        then = f"every revision scaled to 0 (onRegression: Suspend); {LIFT_HINT}"
    else:
        then = f"it keeps serving; {following}"
    return Regression("True", reason, f"revision {revision}: {last.message}; {shown}; {then}")


def _when(moment: datetime | None) -> str:
    return "never (the expression matches no date)" if moment is None else f"at {moment:%Y-%m-%dT%H:%MZ}"


def _timer(inp: ReevalInput, spec: Evaluation, state: ReevalState, upcoming: datetime | None) -> float | None:
    """Seconds until the soonest deadline: the next slot (a slot is due from its very second on,
    so a small margin covers a timer firing early), or a second past the running Job's timeout
    (judged strictly after it). Job completion wakes the agent by its own watch event."""
    timers: list[float] = []
    if state.running is not None:
        elapsed = (inp.now - state.running.started_at).total_seconds()
        timers.append(spec.timeout_seconds - elapsed + 1)
    elif upcoming is not None:
        timers.append((upcoming - inp.now).total_seconds() + SLOT_MARGIN_SECONDS)
    pending = [t for t in timers if t > 0]
    return min(pending) if pending else None
