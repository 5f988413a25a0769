"""Status and events: every condition, event and message text the planner produces lives here.

Status is built as the typed :class:`AgentDeploymentStatus` and stored through
:mod:`.status_codec`; nothing here quotes an exception's text, which could carry spec or Secret
content: an unexpected error is named by its type only, and the details go to the operator log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..api.agent import AgentDeployment, AgentDeploymentStatus, ReadinessSummary
from ..api.budget import BudgetStatus
from ..api.meta import Condition
from ..policy import ReadinessReport
from ..reeval import ReevalPlan
from ..render import AGENT_LABEL, APPLIED_HASH
from ..rollout.types import Event, RevisionObservation, RolloutPlan
from .conditions import MAX_MESSAGE, Cond, build_conditions
from .scheduled_codec import reeval_status
from .status_codec import read_status, rollout_status, write_status

APPLY_REJECTED = "ApplyRejected"
REGRESSED = "EvaluationRegressed"
"""Condition of spec.evaluation.schedule: True while the serving revision's last run failed."""
INTERNAL_ERROR = "InternalError"


def apply_rejected_message(summary: str) -> str:
    """What status says about a write the apiserver refused: ``summary`` is the error's kind, name,
    status and field paths (``KubeError.summary``), never a value or the raw apiserver text."""
    return (
        f"{summary}; the operator retries when the spec, a referenced object or the operator version changes"
    )


def internal_error_message(exc: BaseException) -> str:
    """What status says about a bug in the operator: the exception's type, never its text."""
    return f"{type(exc).__name__} in the operator while reconciling; details in the operator log"


def _conditions(
    wanted: Sequence[Cond], previous: AgentDeploymentStatus, generation: int | None, now: datetime
) -> list[Condition]:
    before = [c.to_wire() for c in previous.conditions or []]
    return [Condition.model_validate(c) for c in build_conditions(wanted, before, generation, now)]


def stalled_status(
    previous: Mapping[str, Any], generation: int | None, reason: str, message: str, now: datetime
) -> tuple[dict[str, Any], tuple[Event, ...]]:
    """Status and events of an agent that cannot be acted on: every other field kept as it was."""
    conditions = [
        Cond("Ready", "False", reason, message),
        Cond("Reconciling", "False", reason, "the spec cannot be acted on until it is fixed"),
        Cond("Stalled", "True", reason, message),
    ]
    before = read_status(previous)
    typed = before.model_copy(
        update={
            "observed_generation": generation,
            "phase": "Failed",
            "conditions": _conditions(conditions, before, generation, now),
        }
    )
    events: tuple[Event, ...] = ()
    if _condition(before, "Stalled") != ("True", reason, message[:MAX_MESSAGE]):
        events = (Event("Warning", reason, message),)
    return write_status(typed, previous), events


def _condition(status: AgentDeploymentStatus, type_: str) -> tuple[str, str, str] | None:
    for c in status.conditions or []:
        if c.type == type_:
            return (c.status, c.reason or "", c.message or "")
    return None


def agent_status(
    agent: AgentDeployment,
    previous: Mapping[str, Any],
    report: ReadinessReport,
    desired: str,
    missing: list[str],
    rollout: RolloutPlan,
    revisions: Mapping[str, RevisionObservation],
    command_problems: list[str],
    now: datetime,
    scheduled: ReevalPlan | None = None,
    budget: BudgetStatus | None = None,
    budget_conditions: Sequence[Cond] = (),
) -> dict[str, Any]:
    """The full new status of an agent the planner acted on; ``scheduled``: the decision for
    spec.evaluation.schedule (its state and the EvaluationRegressed condition)."""
    generation = agent.metadata.generation
    state = rollout.state
    blocked_by_policy = report.blocked and desired not in (state.stable_revision, state.rollback_override)
    done = rollout.complete and rollout.phase == "Available"
    moving = rollout.phase in ("Pending", "Progressing")
    conditions = [
        Cond("Ready", "True" if done else "False", "Available" if done else rollout.reason, rollout.message),
        Cond(
            "Reconciling",
            "True" if moving else "False",
            rollout.reason if moving else "Idle",
            rollout.message if moving else "",
        ),
        _stalled_condition(rollout, report, missing, blocked_by_policy),
        _policy_condition(report),
        _progressing_condition(rollout),
        *budget_conditions,
    ]
    regression = scheduled.condition if scheduled is not None else None
    if regression is not None:
        conditions.append(Cond(REGRESSED, regression.status, regression.reason, regression.message))
    typed = AgentDeploymentStatus(
        observed_generation=generation,
        phase=rollout.phase,
        conditions=_conditions(conditions, read_status(previous), generation, now),
        replicas=sum(r.pods for r in revisions.values()),
        ready_replicas=sum(r.ready for r in revisions.values()),
        available_replicas=sum(r.available for r in revisions.values()),
        updated_replicas=revisions[desired].pods if desired in revisions else 0,
        selector=f"{AGENT_LABEL}={agent.metadata.name}",
        current_revision=desired,
        stable_revision=state.stable_revision,
        canary_revision=state.canary_revision,
        desired_weight=rollout.desired_weight,
        actual_weight=rollout.actual_weight,
        readiness=ReadinessSummary(
            ready=report.ready,
            score=report.score,
            policy=report.policy,
            enforcement=report.enforcement,
            missing_required=list(report.missing_required),
            warnings=list(report.warnings),
        ),
        missing_secrets=missing or None,
        command_problems=command_problems or None,
        rollout=rollout_status(state),
        scheduled_evaluation=reeval_status(scheduled.state, scheduled.next_run) if scheduled else None,
        budget=budget,
    )
    return write_status(typed, previous)


def _stalled_condition(
    rollout: RolloutPlan, report: ReadinessReport, missing: list[str], blocked_by_policy: bool
) -> Cond:
    if rollout.phase == "Blocked" and blocked_by_policy:
        return Cond(
            "Stalled",
            "True",
            "PolicyViolation",
            f"{report.policy} requires: {', '.join(report.missing_required)}",
        )
    if rollout.phase == "Blocked" and missing:
        return Cond("Stalled", "True", "SecretsMissing", f"waiting for Secrets: {', '.join(missing)}")
    if rollout.phase == "Degraded" and rollout.state.failed_revision:
        return Cond("Stalled", "True", rollout.reason, rollout.message)
    return Cond("Stalled", "False", "NotStalled")


def _policy_condition(report: ReadinessReport) -> Cond:
    if report.ready and not report.warnings:
        return Cond("PolicyCompliant", "True", "AllChecksPass", f"{report.policy}: score {report.score}")
    if report.ready:
        return Cond(
            "PolicyCompliant",
            "True",
            "RequiredChecksPass",
            f"{report.policy}: warnings: {', '.join(report.warnings)}",
        )
    reason = {
        "Enforce": "RequiredChecksFailing",
        "Warn": "RequiredChecksFailingWarnOnly",
        "Audit": "RequiredChecksFailingAuditOnly",
    }
    return Cond(
        "PolicyCompliant",
        "False",
        reason[report.enforcement],
        f"{report.policy} ({report.enforcement}): failing: {', '.join(report.missing_required)}",
    )


def _progressing_condition(rollout: RolloutPlan) -> Cond:
    if rollout.phase == "Paused":
        # spec.paused says RolloutPaused; a pause the rollout decided itself says why
        # (InsufficientData, PrometheusUnreachable, AnalysisFailed).
        why = "RolloutPaused" if rollout.reason == "Paused" else rollout.reason
        return Cond("Progressing", "Unknown", why, rollout.message)
    if rollout.phase == "Degraded":
        return Cond("Progressing", "False", rollout.reason, rollout.message)
    if rollout.complete:
        return Cond("Progressing", "True", "RolloutComplete", rollout.message)
    return Cond(
        "Progressing",
        "True" if rollout.phase in ("Pending", "Progressing") else "False",
        rollout.reason,
        rollout.message,
    )


def command_events(previous: AgentDeploymentStatus, problems: list[str]) -> list[Event]:
    """One warning per malformed command annotation, when the set of problems changes."""
    if problems == (previous.command_problems or []):
        return []
    return [Event("Warning", "InvalidCommand", p) for p in problems]


def policy_events(
    previous: AgentDeploymentStatus,
    report: ReadinessReport,
    missing: list[str],
    desired: str,
    stable: str | None,
) -> list[Event]:
    events: list[Event] = []
    before = previous.readiness or ReadinessSummary()
    failing = list(report.missing_required)
    changed = (before.missing_required or []) != failing or (before.warnings or []) != list(report.warnings)
    if changed and failing:
        if report.blocked:
            held = f"revision {desired} is not rolled out" + (
                f"; {stable} keeps serving" if stable and stable != desired else ""
            )
            events.append(
                Event(
                    "Warning",
                    "PolicyViolation",
                    f"{report.policy}: failing required checks {', '.join(failing)}; {held}",
                )
            )
        elif report.enforcement == "Warn":
            events.append(
                Event(
                    "Warning",
                    "PolicyWarning",
                    f"{report.policy}: failing required checks {', '.join(failing)} (Warn: rolled out)",
                )
            )
        else:
            events.append(
                Event(
                    "Normal",
                    "PolicyAudit",
                    f"{report.policy}: failing required checks {', '.join(failing)} (Audit)",
                )
            )
    elif changed and report.warnings:
        events.append(
            Event("Normal", "PolicyWarning", f"{report.policy}: warnings {', '.join(report.warnings)}")
        )
    if missing and previous.missing_secrets != missing:
        events.append(
            Event("Warning", "SecretsMissing", f"revision {desired} waits for Secrets: {', '.join(missing)}")
        )
    return events


def change_event(
    applied: Sequence[Mapping[str, Any]],
    deleted: Sequence[str],
    live: Mapping[tuple[str, str, str], Mapping[str, Any]],
    previous: AgentDeploymentStatus,
    status: AgentDeploymentStatus,
) -> Event:
    """One event per reconcile that writes (``deleted`` as ``Kind/name``). Rewrites of objects the
    agent's spec did not ask to change are called out as drift: somebody edited or deleted what the
    operator owns."""
    settled = previous.phase == "Available" and all(
        getattr(previous, k) == getattr(status, k)
        for k in ("observed_generation", "current_revision", "stable_revision")
    )
    created: list[str] = []
    updated: list[str] = []
    reverted: list[str] = []
    recreated: list[str] = []
    for obj in applied:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        old = live.get((str(obj.get("apiVersion")), str(obj.get("kind")), str(obj["metadata"]["name"])))
        if old is None:
            (recreated if settled else created).append(name)
        elif (old.get("metadata", {}).get("annotations") or {}).get(APPLIED_HASH) == obj["metadata"][
            "annotations"
        ][APPLIED_HASH]:
            reverted.append(name)
        else:
            updated.append(name)
    parts = [
        f"{verb} {', '.join(names)}"
        for verb, names in (
            ("created", created),
            ("updated", updated),
            ("recreated deleted", recreated),
            ("reverted edits to", reverted),
            ("deleted", list(deleted)),
        )
        if names
    ]
    return Event("Normal", "DriftCorrected" if (reverted or recreated) else "Applied", "; ".join(parts))
