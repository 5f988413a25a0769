"""Inputs, state and outputs of the scheduled re-evaluation decision (:func:`.plan_reeval`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ..api.agent import Evaluation
from ..rollout.types import EvaluationObservation, Event

ScoreResult = Literal["Passed", "Failed", "TimedOut"]


@dataclass(frozen=True)
class ScoreRecord:
    """One finished scheduled run of a revision."""

    at: datetime
    """When the result was read."""
    result: ScoreResult
    score: float | None = None
    message: str = ""
    slot: datetime | None = None
    """The cron fire time the run was started for."""

    @property
    def regressed(self) -> bool:
        return self.result != "Passed"


@dataclass(frozen=True)
class ScheduledRun:
    """A run in flight: its Job is named after (revision, slot)."""

    revision: str
    slot: datetime
    started_at: datetime


@dataclass(frozen=True)
class ReevalState:
    """What the schedule remembers between reconciles; persisted in status (one codec)."""

    schedule: str | None = None
    """The cron expression the state follows."""
    since: datetime | None = None
    """When the operator started following it: slots before are never caught up."""
    revision: str | None = None
    """The serving revision ``scores`` belong to."""
    last_slot: datetime | None = None
    """Fire time of the last run started."""
    running: ScheduledRun | None = None
    scores: tuple[ScoreRecord, ...] = ()
    """Last runs of ``revision``, oldest first (capped)."""
    suspended_revision: str | None = None
    """Revision onRegression: Suspend scaled to zero."""
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class ReevalInput:
    """Everything the decision needs, gathered by the planner."""

    spec: Evaluation | None
    """spec.evaluation; no schedule means nothing to do and no state to keep."""
    state: ReevalState
    stable_revision: str | None
    """The serving revision as stored before this reconcile."""
    canary_revision: str | None
    """A rollout in flight holds scheduled runs back (the slot is caught up once afterwards)."""
    desired_revision: str
    suspend: bool
    """spec.suspend: nothing serves, so nothing is evaluated."""
    now: datetime
    job: EvaluationObservation | None = None
    """The Job of ``state.running``, if a run is in flight."""
    history_scores: Mapping[str, tuple[ScoreRecord, ...]] = field(default_factory=dict)
    """Scores each revision's history record holds: a revision that serves again keeps its trend."""


@dataclass(frozen=True)
class Regression:
    """The EvaluationRegressed condition."""

    status: Literal["True", "False"]
    reason: str
    message: str


@dataclass(frozen=True)
class ReevalPlan:
    """What the planner must make true for the schedule."""

    state: ReevalState
    run_job: bool = False
    """The Job of ``state.running`` must exist (created when missing)."""
    suspended: bool = False
    """onRegression: Suspend holds every revision at zero replicas now."""
    condition: Regression | None = None
    """None when no schedule is set (the condition is then absent)."""
    events: tuple[Event, ...] = ()
    next_run: datetime | None = None
    requeue_after: float | None = None
    """Seconds until the next slot or the running Job's timeout."""
