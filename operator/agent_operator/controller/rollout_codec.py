"""Rollout state to and from the AgentDeployment status, where it is persisted."""

from __future__ import annotations

from typing import Any, cast

from ..rollout.types import Approval, EvaluationRecord, EvaluationResult, RolloutState
from .timefmt import format_time, parse_time


def state_from_status(status: dict[str, Any] | None) -> RolloutState:
    """The persisted rollout state; a missing or partly hand-edited status degrades to defaults."""
    status = status or {}
    raw: dict[str, Any] = status.get("rollout") or {}
    approval = None
    if isinstance(raw.get("approval"), dict):
        a = raw["approval"]
        at = parse_time(a.get("at"))
        if at is not None and a.get("revision") is not None:
            approval = Approval(
                revision=str(a["revision"]), step=int(a.get("step", 0)), by=str(a.get("by", "")), at=at
            )
    evaluation = None
    if isinstance(raw.get("evaluation"), dict):
        e = raw["evaluation"]
        started = parse_time(e.get("startedAt"))
        if started is not None and e.get("result") in ("Running", "Passed", "Failed", "TimedOut"):
            evaluation = EvaluationRecord(
                revision=str(e.get("revision", "")),
                step=int(e.get("step", 0)),
                result=cast(EvaluationResult, e["result"]),
                started_at=started,
                score=float(e["score"]) if e.get("score") is not None else None,
                message=str(e.get("message") or ""),
            )
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
        approval=approval,
        evaluation=evaluation,
        handled_commands=tuple(handled),
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
        ("rollbackOverride", state.rollback_override),
        ("rollbackFrom", state.rollback_from),
    ):
        if value:
            out[key] = value
    if state.approval:
        out["approval"] = {
            "revision": state.approval.revision,
            "step": state.approval.step,
            "by": state.approval.by,
            "at": format_time(state.approval.at),
        }
    if state.evaluation:
        ev: dict[str, Any] = {
            "revision": state.evaluation.revision,
            "step": state.evaluation.step,
            "result": state.evaluation.result,
            "startedAt": format_time(state.evaluation.started_at),
        }
        if state.evaluation.score is not None:
            ev["score"] = state.evaluation.score
        if state.evaluation.message:
            ev["message"] = state.evaluation.message
        out["evaluation"] = ev
    if state.handled_commands:
        out["handledCommands"] = {verb: format_time(at) for verb, at in state.handled_commands}
    if state.message:
        out["message"] = state.message
    return out
