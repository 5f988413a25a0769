"""Rollout state to and from the AgentDeployment status, where it is persisted."""

from __future__ import annotations

from typing import Any, cast

from ..rollout.types import Approval, EvaluationRecord, EvaluationResult, RolloutState
from .timefmt import format_time, parse_time


def _approval(raw: Any) -> Approval | None:
    if not isinstance(raw, dict):
        return None
    at = parse_time(raw.get("at"))
    if at is None or raw.get("revision") is None:
        return None
    return Approval(
        revision=str(raw["revision"]), step=int(raw.get("step", 0)), by=str(raw.get("by", "")), at=at
    )


def _evaluation(raw: Any) -> EvaluationRecord | None:
    if not isinstance(raw, dict):
        return None
    started = parse_time(raw.get("startedAt"))
    if started is None or raw.get("result") not in ("Running", "Passed", "Failed", "TimedOut"):
        return None
    return EvaluationRecord(
        revision=str(raw.get("revision", "")),
        step=int(raw.get("step", 0)),
        result=cast(EvaluationResult, raw["result"]),
        started_at=started,
        score=float(raw["score"]) if raw.get("score") is not None else None,
        message=str(raw.get("message") or ""),
    )


def approval_to_wire(a: Approval) -> dict[str, Any]:
    return {"revision": a.revision, "step": a.step, "by": a.by, "at": format_time(a.at)}


def evaluation_to_wire(e: EvaluationRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "revision": e.revision,
        "step": e.step,
        "result": e.result,
        "startedAt": format_time(e.started_at),
    }
    if e.score is not None:
        out["score"] = e.score
    if e.message:
        out["message"] = e.message
    return out


def state_from_status(status: dict[str, Any] | None) -> RolloutState:
    """The persisted rollout state; a missing or partly hand-edited status degrades to defaults."""
    status = status or {}
    raw: dict[str, Any] = status.get("rollout") or {}
    handled = []
    for verb, at_text in sorted((raw.get("handledCommands") or {}).items()):
        at = parse_time(at_text)
        if at is not None:
            handled.append((str(verb), at))
    return RolloutState(
        stable_revision=status.get("stableRevision"),
        canary_revision=status.get("canaryRevision"),
        step_index=int(raw.get("stepIndex") or 0),
        step_started_at=parse_time(raw.get("stepStartedAt")),
        rollout_started_at=parse_time(raw.get("startedAt")),
        restart_baseline=int(raw.get("restartBaseline") or 0),
        failed_revision=raw.get("failedRevision"),
        rollback_override=raw.get("rollbackOverride"),
        rollback_from=raw.get("rollbackFrom"),
        approval=_approval(raw.get("approval")),
        evaluation=_evaluation(raw.get("evaluation")),
        approvals=tuple(a for a in map(_approval, raw.get("approvals") or []) if a is not None),
        evaluations=tuple(e for e in map(_evaluation, raw.get("evaluations") or []) if e is not None),
        handled_commands=tuple(handled),
        failure_reason=raw.get("failureReason"),
        blocked_revision=raw.get("blockedRevision"),
        message=str(raw.get("message") or ""),
    )


def state_to_status(state: RolloutState) -> dict[str, Any]:
    """The ``rollout`` status block (stable and canary revisions are top-level status fields)."""
    out: dict[str, Any] = {"stepIndex": state.step_index}
    if state.step_started_at:
        out["stepStartedAt"] = format_time(state.step_started_at)
    if state.rollout_started_at:
        out["startedAt"] = format_time(state.rollout_started_at)
    if state.restart_baseline:
        out["restartBaseline"] = state.restart_baseline
    for key, value in (
        ("failedRevision", state.failed_revision),
        ("failureReason", state.failure_reason),
        ("blockedRevision", state.blocked_revision),
        ("rollbackOverride", state.rollback_override),
        ("rollbackFrom", state.rollback_from),
    ):
        if value:
            out[key] = value
    if state.approval:
        out["approval"] = approval_to_wire(state.approval)
    if state.evaluation:
        out["evaluation"] = evaluation_to_wire(state.evaluation)
    if state.approvals:
        out["approvals"] = [approval_to_wire(a) for a in state.approvals]
    if state.evaluations:
        out["evaluations"] = [evaluation_to_wire(e) for e in state.evaluations]
    if state.handled_commands:
        out["handledCommands"] = {verb: format_time(at) for verb, at in state.handled_commands}
    if state.message:
        out["message"] = state.message
    return out
