"""Scheduled re-evaluation of the serving revision: its status (schedule state and score trend).

The spec side (``spec.evaluation.schedule`` and ``onRegression``) lives on
:class:`~agent_operator.api.agent.Evaluation`; the state here is read and written only through
:mod:`agent_operator.controller.status_codec`.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from .base import ApiModel

MAX_SCORES: Final = 10
"""Scores kept per revision: enough to see a drift as a trend, small enough for an annotation."""


class ScheduledScore(ApiModel):
    """One finished scheduled run."""

    at: str
    """When the result was read."""
    slot: str | None = None
    """The cron fire time the run was started for."""
    result: Literal["Passed", "Failed", "TimedOut"]
    """Passed, Failed (score below minScore, or the Job failed) or TimedOut."""
    score: float | None = None
    """Score the job reported."""
    message: str | None = None
    """Why it failed."""


class ScheduledRun(ApiModel):
    """The scheduled run in flight."""

    revision: str
    """Revision under evaluation (the stable one when it started)."""
    slot: str
    """The cron fire time it runs for."""
    started_at: str
    """When the Job was requested; timeoutSeconds counts from here."""


class ScheduledEvaluationStatus(ApiModel):
    """Where spec.evaluation.schedule stands: it lives only here, so a restart loses nothing."""

    schedule: str
    """The cron expression this state follows; a new expression starts counting afresh."""
    since: str
    """When the operator started following this expression; slots before it are not caught up."""
    revision: str | None = None
    """The serving revision the scores belong to."""
    last_schedule_time: str | None = None
    """The fire time of the last run started."""
    next_schedule_time: str | None = None
    """The next fire time; in the past while a run, a rollout or a suspension holds it back."""
    running: ScheduledRun | None = None
    """The run in flight; none other starts until it ends."""
    scores: list[ScheduledScore] | None = Field(default=None, max_length=MAX_SCORES)
    """The last runs of revision, oldest first."""
    suspended_revision: str | None = None
    """Revision scaled to zero by onRegression: Suspend."""
    suspended_at: str | None = None
    """When that suspension began."""
