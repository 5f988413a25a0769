"""The one reader and writer of the AgentDeployment status, through the pydantic status models.

The same models (:class:`~agent_operator.api.agent.AgentDeploymentStatus` and the ones it holds)
generate the CRD schema, so what the operator writes and ``agentctl`` reads is what the apiserver
admits. Reading is lenient: a field that is missing, hand-edited into the wrong shape or written by
a newer operator in a form this one does not know degrades to "not set", one field at a time, never
the whole status. Keys this version does not know are carried through to the next write unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic import ValidationError

from ..analysis.status import run_status
from ..analysis.verdict import AnalysisVerdict, MetricResult, Reason
from ..api.agent import AgentDeploymentStatus, ApprovalStatus, EvaluationStatus, RolloutStatus, WideningStatus
from ..api.analysis import AnalysisRunStatus
from ..api.base import ApiModel
from ..api.policy import WIDENING_KINDS
from ..rollout.types import AnalysisRun, Approval, EvaluationRecord, RolloutState
from ..widening import Widening
from .timefmt import format_time, parse_time

M = TypeVar("M", bound=ApiModel)


def _keys(model: type[ApiModel]) -> frozenset[str]:
    return frozenset(info.alias or name for name, info in model.model_fields.items())


STATUS_KEYS = _keys(AgentDeploymentStatus)
ROLLOUT_KEYS = _keys(RolloutStatus)


def _drop(data: Any, path: tuple[int | str, ...]) -> bool:
    """Remove the value at ``path`` (a key or list index); False when there is nothing there."""
    for step in path[:-1]:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return False
    try:
        del data[path[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def lenient(model: type[M], raw: Any) -> M:
    """``raw`` validated as ``model``, dropping each offending field (or the list item or object
    that lacks a required field) until what is left validates."""
    data = copy.deepcopy(dict(raw)) if isinstance(raw, Mapping) else {}
    for _ in range(200):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = tuple(error["loc"])
            # A missing required field spoils the object that lacks it; anything else, itself.
            path = loc[:-1] if error["type"] == "missing" else loc
            if not path or not _drop(data, path):
                break
    return model()


def read_status(raw: Mapping[str, Any] | None) -> AgentDeploymentStatus:
    """The stored status as the typed model."""
    return lenient(AgentDeploymentStatus, {k: v for k, v in (raw or {}).items() if k in STATUS_KEYS})


def write_status(status: AgentDeploymentStatus, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status to store: ``status`` on the wire, plus the keys of ``previous`` this version does
    not know (top level and in ``rollout``), so a newer operator's fields survive a downgrade."""
    out = status.to_wire()
    previous = previous or {}
    for key, value in previous.items():
        if key not in STATUS_KEYS:
            out.setdefault(key, value)
    old_rollout = previous.get("rollout")
    if isinstance(old_rollout, Mapping) and "rollout" in out:
        for key, value in old_rollout.items():
            if key not in ROLLOUT_KEYS:
                out["rollout"].setdefault(key, value)
    return out


def approval_from_wire(raw: Any) -> Approval | None:
    """An approval as stored (status or history gates); None when it does not parse."""
    try:
        model = ApprovalStatus.model_validate(raw)
    except ValidationError:
        return None
    return _approval(model)


def evaluation_from_wire(raw: Any) -> EvaluationRecord | None:
    """An evaluation as stored (status or history gates); None when it does not parse."""
    try:
        model = EvaluationStatus.model_validate(raw)
    except ValidationError:
        return None
    return _evaluation(model)


def analysis_from_wire(raw: Any) -> AnalysisRun | None:
    """A measurement as stored (status or history gates); None when it does not parse."""
    try:
        model = AnalysisRunStatus.model_validate(raw)
    except ValidationError:
        return None
    return _analysis(model)


def analysis_to_wire(run: AnalysisRun) -> dict[str, Any]:
    return _analysis_status(run).to_wire()


def _analysis(model: AnalysisRunStatus) -> AnalysisRun | None:
    at = parse_time(model.measured_at)
    if at is None:
        return None
    rows = tuple(
        MetricResult(
            name=m.name,
            verdict=m.verdict,
            reason=cast(Reason, m.reason),
            canary=m.canary,
            stable=m.stable,
            canary_samples=m.canary_samples,
            stable_samples=m.stable_samples,
            limit=m.limit,
            threshold=m.threshold,
            message="",
        )
        for m in model.metrics
    )
    verdict = AnalysisVerdict(model.verdict, model.action, model.reason, model.message, rows)
    return AnalysisRun(model.revision, model.step, at, at, verdict)


def _analysis_status(run: AnalysisRun) -> AnalysisRunStatus:
    return run_status(
        run.verdict, revision=run.revision, step=run.step, measured_at=format_time(run.measured_at)
    )


def approval_to_wire(a: Approval) -> dict[str, Any]:
    return _approval_status(a).to_wire()


def evaluation_to_wire(e: EvaluationRecord) -> dict[str, Any]:
    return _evaluation_status(e).to_wire()


def _approval(model: ApprovalStatus) -> Approval | None:
    at = parse_time(model.at)
    return None if at is None else Approval(model.revision, model.step, model.by, at)


def _evaluation(model: EvaluationStatus) -> EvaluationRecord | None:
    started = parse_time(model.started_at)
    if started is None:
        return None
    return EvaluationRecord(
        revision=model.revision,
        step=model.step,
        result=model.result,
        started_at=started,
        score=model.score,
        message=model.message or "",
    )


def _approval_status(a: Approval) -> ApprovalStatus:
    return ApprovalStatus(revision=a.revision, step=a.step, by=a.by, at=format_time(a.at))


def _evaluation_status(e: EvaluationRecord) -> EvaluationStatus:
    return EvaluationStatus(
        revision=e.revision,
        step=e.step,
        result=e.result,
        started_at=format_time(e.started_at),
        score=e.score,
        message=e.message or None,
    )


def _widening(raw: WideningStatus) -> Widening | None:
    for kind in WIDENING_KINDS:
        if raw.kind == kind:
            return Widening(kind, raw.path, raw.before, raw.after)
    return None  # a kind a newer operator knows: not this one's gate


def _widening_status(w: Widening) -> WideningStatus:
    return WideningStatus(kind=w.kind, path=w.path, before=w.before, after=w.after)


def rollout_state(status: AgentDeploymentStatus) -> RolloutState:
    """The rollout machine's memory, as stored in status."""
    raw = status.rollout or RolloutStatus()
    handled = sorted(
        (verb, at) for verb, text in (raw.handled_commands or {}).items() if (at := parse_time(text))
    )
    return RolloutState(
        stable_revision=status.stable_revision,
        canary_revision=status.canary_revision,
        step_index=raw.step_index or 0,
        step_started_at=parse_time(raw.step_started_at),
        rollout_started_at=parse_time(raw.started_at),
        restart_baseline=raw.restart_baseline or 0,
        failed_revision=raw.failed_revision,
        rollback_override=raw.rollback_override,
        rollback_from=raw.rollback_from,
        approval=_approval(raw.approval) if raw.approval else None,
        evaluation=_evaluation(raw.evaluation) if raw.evaluation else None,
        approvals=tuple(a for a in map(_approval, raw.approvals or []) if a is not None),
        evaluations=tuple(e for e in map(_evaluation, raw.evaluations or []) if e is not None),
        handled_commands=tuple(handled),
        failure_reason=raw.failure_reason,
        blocked_revision=raw.blocked_revision,
        message=raw.message or "",
        analysis_passed=raw.analysis_passed or 0,
        analysis_measured_at=parse_time(raw.analysis_measured_at),
        background_measured_at=parse_time(raw.background_measured_at),
        analysis=_analysis(raw.analysis) if raw.analysis else None,
        analysis_runs=tuple(r for r in map(_analysis, raw.analysis_runs or []) if r is not None),
        widenings=tuple(w for w in map(_widening, raw.widenings or []) if w is not None),
        approved_egress=raw.approved_egress,
        approved_egress_for=raw.approved_egress_for,
    )


def state_from_status(raw: Mapping[str, Any] | None) -> RolloutState:
    """The persisted rollout state of a stored status dict; missing parts degrade to defaults."""
    return rollout_state(read_status(raw))


def rollout_status(state: RolloutState) -> RolloutStatus:
    """The ``rollout`` status block (stable and canary revisions are top-level status fields)."""
    return RolloutStatus(
        step_index=state.step_index,
        step_started_at=format_time(state.step_started_at) if state.step_started_at else None,
        started_at=format_time(state.rollout_started_at) if state.rollout_started_at else None,
        restart_baseline=state.restart_baseline or None,
        failed_revision=state.failed_revision or None,
        failure_reason=state.failure_reason or None,
        blocked_revision=state.blocked_revision or None,
        rollback_override=state.rollback_override or None,
        rollback_from=state.rollback_from or None,
        approval=_approval_status(state.approval) if state.approval else None,
        evaluation=_evaluation_status(state.evaluation) if state.evaluation else None,
        approvals=[_approval_status(a) for a in state.approvals] or None,
        evaluations=[_evaluation_status(e) for e in state.evaluations] or None,
        handled_commands={verb: format_time(at) for verb, at in state.handled_commands} or None,
        message=state.message or None,
        analysis=_analysis_status(state.analysis) if state.analysis else None,
        analysis_runs=[_analysis_status(r) for r in state.analysis_runs] or None,
        analysis_passed=state.analysis_passed or None,
        analysis_measured_at=_time(state.analysis_measured_at),
        background_measured_at=_time(state.background_measured_at),
        widenings=[_widening_status(w) for w in state.widenings] or None,
        approved_egress=state.approved_egress,
        approved_egress_for=state.approved_egress_for,
    )


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def state_to_status(state: RolloutState) -> dict[str, Any]:
    """The status fields that carry the machine's memory: ``stableRevision``, ``canaryRevision``
    and the ``rollout`` block."""
    return AgentDeploymentStatus(
        stable_revision=state.stable_revision,
        canary_revision=state.canary_revision,
        rollout=rollout_status(state),
    ).to_wire()
