"""The status codec's part for ``status.scheduledEvaluation`` and the scores a ControllerRevision
keeps: typed :mod:`agent_operator.reeval` state to and from the wire models of
:mod:`agent_operator.api.scheduled`. The whole status is still read and written only through
:mod:`.status_codec` (which reads this block leniently with the rest); the history annotation only
through :mod:`.history_codec`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api.agent import AgentDeploymentStatus
from ..api.scheduled import ScheduledEvaluationStatus, ScheduledRun, ScheduledScore
from ..reeval import ReevalState, ScoreRecord
from ..reeval import ScheduledRun as Run
from .timefmt import format_time, parse_time


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def score_from_model(model: ScheduledScore) -> ScoreRecord | None:
    at = parse_time(model.at)
    if at is None:
        return None
    return ScoreRecord(
        at=at,
        result=model.result,
        score=model.score,
        message=model.message or "",
        slot=parse_time(model.slot) if model.slot else None,
    )


def score_to_model(record: ScoreRecord) -> ScheduledScore:
    return ScheduledScore(
        at=format_time(record.at),
        slot=_time(record.slot),
        result=record.result,
        score=record.score,
        message=record.message or None,
    )


def scores_from_wire(raw: Any) -> tuple[ScoreRecord, ...]:
    """Scores as stored in a history annotation; an entry that does not parse is skipped."""
    out: list[ScoreRecord] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            record = score_from_model(ScheduledScore.model_validate(item))
        except ValidationError:
            continue
        if record is not None:
            out.append(record)
    return tuple(out)


def scores_to_wire(scores: tuple[ScoreRecord, ...]) -> list[dict[str, Any]]:
    return [score_to_model(s).to_wire() for s in scores]


def reeval_state(status: AgentDeploymentStatus) -> ReevalState:
    """The schedule's memory as stored in status; missing parts degrade to "not yet"."""
    raw = status.scheduled_evaluation
    if raw is None:
        return ReevalState()
    running = None
    if raw.running is not None:
        slot, started = parse_time(raw.running.slot), parse_time(raw.running.started_at)
        if slot is not None and started is not None:
            running = Run(raw.running.revision, slot, started)
    return ReevalState(
        schedule=raw.schedule,
        since=parse_time(raw.since),
        revision=raw.revision,
        last_slot=parse_time(raw.last_schedule_time) if raw.last_schedule_time else None,
        running=running,
        scores=tuple(r for r in map(score_from_model, raw.scores or []) if r is not None),
        suspended_revision=raw.suspended_revision,
        suspended_at=parse_time(raw.suspended_at) if raw.suspended_at else None,
    )


def reeval_status(state: ReevalState, next_run: datetime | None) -> ScheduledEvaluationStatus | None:
    """The ``scheduledEvaluation`` block; None (absent) without a schedule."""
    if state.schedule is None or state.since is None:
        return None
    running = state.running
    return ScheduledEvaluationStatus(
        schedule=state.schedule,
        since=format_time(state.since),
        revision=state.revision,
        last_schedule_time=_time(state.last_slot),
        next_schedule_time=_time(next_run),
        running=ScheduledRun(
            revision=running.revision,
            slot=format_time(running.slot),
            started_at=format_time(running.started_at),
        )
        if running
        else None,
        scores=[score_to_model(s) for s in state.scores] or None,
        suspended_revision=state.suspended_revision,
        suspended_at=_time(state.suspended_at),
    )
