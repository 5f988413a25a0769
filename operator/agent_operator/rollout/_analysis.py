"""Canary analysis in the machine: when a measurement is due, and what a finished one means.

The machine never measures. It asks for a measurement (an :class:`AnalysisRequest` in the plan)
once its interval has passed; the controller measures off the reconcile workers and hands the
result back as an observation (``RolloutInput.analysis_runs``), identified by revision, step and
due time. Consuming a result moves ``analysis_measured_at`` on, so the same result is never
counted twice and replanning from the plan's own state emits nothing.

- An analyze step completes after ``count`` passing measurements. A failed one rolls back (or,
  with ``onFailure: Pause``, holds the canary for a human). An inconclusive one pauses the step
  and it keeps measuring: the step resumes on its own when data returns.
- Background analysis measures every ``background.intervalSeconds`` during every step and acts
  on failures only, at once, mid-step.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from ..analysis.status import event_for
from ._decision import Decision, fail_canary
from ._steps import Step
from .types import AnalysisRequest, AnalysisRun

RUNS_KEPT = 5
"""Measurements of a canary kept in state for its history entry."""
INCONCLUSIVE_REASONS = {"NoData": "InsufficientData", "StableNoData": "InsufficientData"}
"""Reasons a paused analysis reports; the per-check reasons stay in the table."""
HOLD_REASON = "AnalysisFailed"

Verdict = Literal["wait", "done", "failed"]


def step_due(d: Decision, step: Step) -> datetime | None:
    """When the current analyze step's next measurement is due."""
    since = d.state.analysis_measured_at or d.state.step_started_at
    return None if since is None else since + timedelta(seconds=step.interval_seconds)


def background_due(d: Decision) -> datetime | None:
    spec = d.inp.analysis_spec
    if spec is None or spec.background is None or d.state.canary_revision is None:
        return None
    since = d.state.background_measured_at or d.state.rollout_started_at
    return None if since is None else since + timedelta(seconds=spec.background.interval_seconds)


def _result(d: Decision, step: int | None, due: datetime) -> AnalysisRun | None:
    canary = d.state.canary_revision
    return next(
        (r for r in d.inp.analysis_runs if (r.revision, r.step, r.due) == (canary, step, due)),
        None,
    )


def _request(
    d: Decision, step: int | None, due: datetime, window: int, metrics: tuple[str, ...] | None
) -> None:
    canary = d.state.canary_revision
    assert canary is not None
    if d.inp.now >= due:
        d.measure.append(AnalysisRequest(canary, d.state.stable_revision, step, due, window, metrics))


def _consume(d: Decision, run: AnalysisRun) -> None:
    d.update(analysis=run, analysis_runs=(*d.state.analysis_runs, run)[-RUNS_KEPT:])
    type_, reason, message = event_for(run.verdict, run.revision)
    d.emit("Normal" if type_ == "Normal" else "Warning", reason, message)


def _act_on_failure(d: Decision, run: AnalysisRun) -> None:
    """A failed measurement: roll back, or hold the canary where it is for a human."""
    verdict = run.verdict
    if verdict.action == "Rollback":
        fail_canary(d, "RolledBack", "AnalysisFailed", verdict.message, roll_back=d.inp.rollout.auto_rollback)
        return
    d.emit(
        "Warning",
        "AnalysisHold",
        f"revision {run.revision} is held at step {d.state.step_index} (onFailure: Pause): "
        f"{verdict.message}; agentctl promote, abort or retry decides"[:1024],
    )
    d.update(failure_reason=HOLD_REASON, message=verdict.message)


def check_background(d: Decision) -> bool:
    """Take a finished background measurement, or ask for the next; True when it stopped the canary."""
    spec = d.inp.analysis_spec
    due = background_due(d)
    if spec is None or spec.background is None or due is None:
        return False
    run = _result(d, None, due)
    if run is None:
        _request(d, None, due, spec.background.window_seconds, None)
        return False
    d.update(background_measured_at=run.measured_at)
    _consume(d, run)
    if run.verdict.verdict == "Failed":
        _act_on_failure(d, run)
        return True
    # Background analysis acts on failures only: inconclusive data never stops a step.
    due = background_due(d)
    if due is not None:
        _request(d, None, due, spec.background.window_seconds, None)
    return False


def check_analyze(d: Decision, step: Step, index: int) -> Verdict:
    if d.inp.analysis_spec is None:
        fail_canary(d, "RolledBack", "AnalysisFailed", "spec.analysis is missing", roll_back=False)
        return "failed"
    due = step_due(d, step)
    assert due is not None
    run = _result(d, index, due)
    if run is None:
        _request(d, index, due, step.window_seconds, step.metrics)
        return "wait"
    d.update(analysis_measured_at=run.measured_at)
    _consume(d, run)
    verdict = run.verdict
    if verdict.action == "Continue":
        d.update(analysis_passed=d.state.analysis_passed + 1)
        if d.state.analysis_passed >= step.count:
            return "done"
    elif verdict.verdict == "Failed":
        _act_on_failure(d, run)
        return "failed"
    # Not done yet, or inconclusive (paused, measuring again every interval): the next measurement.
    due = step_due(d, step)
    assert due is not None
    _request(d, index, due, step.window_seconds, step.metrics)
    return "wait"


def paused_on(d: Decision, index: int) -> AnalysisRun | None:
    """The latest measurement of the current analyze step when it paused the step."""
    run = d.state.analysis
    if run is None or (run.revision, run.step) != (d.state.canary_revision, index):
        return None
    return run if run.verdict.action == "Pause" and run.verdict.verdict != "Failed" else None


def pause_reason(run: AnalysisRun) -> str:
    return INCONCLUSIVE_REASONS.get(run.verdict.reason, run.verdict.reason)


def held(d: Decision) -> bool:
    """The canary is held by a failed check with onFailure: Pause (not rolled back)."""
    run = d.state.analysis
    return (
        d.state.failure_reason == HOLD_REASON
        and run is not None
        and run.revision == d.state.canary_revision
        and run.verdict.action == "Pause"
    )
