"""``agentctl status``: what an agent's rollout looks like right now, as data and as text.

:func:`status_view` is a pure function of the objects ``status`` reads (the AgentDeployment, its
revision Deployments, its Events and its history), so the layout is unit tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api.agent import AgentDeploymentSpec, Rollout, RolloutStatus
from ..api.analysis import AnalysisRunStatus
from ..controller.history import Revision
from ..controller.scheduled_codec import reeval_state
from ..controller.status_codec import read_status
from ..controller.timefmt import format_time, parse_time
from ..render import REVISION_LABEL
from ._analysis_view import analysis_table
from ._console import Console
from ._history import format_score, format_table, format_trend

EVENTS_SHOWN = 5
CONDITION_ORDER = ("Ready", "Reconciling", "Stalled", "PolicyCompliant", "Progressing")


def describe_steps(spec: Mapping[str, Any], gated: bool = False) -> list[dict[str, Any]] | None:
    """The steps a new revision walks through (the spec's canary steps plus the final promotion,
    led by an approval when ``gated``: the canary widens what its policy gates on), or None when
    the spec no longer parses."""
    from ..rollout._steps import gated_steps

    try:
        parsed = AgentDeploymentSpec.model_validate(spec)
    except ValidationError:
        return None
    out = []
    for step in gated_steps(parsed.rollout or Rollout(), gated):
        entry: dict[str, Any] = {"kind": step.kind}
        if step.widening:
            entry["widening"] = True
        if step.kind in ("weight", "promote", "recreate"):
            entry["weight"] = step.weight
        if step.kind == "pause":
            entry["durationSeconds"] = step.duration_seconds
        if step.kind == "evaluate" and step.min_score is not None:
            entry["minScore"] = step.min_score
        if step.kind == "analyze":
            entry.update(
                count=step.count, intervalSeconds=step.interval_seconds, windowSeconds=step.window_seconds
            )
        out.append(entry)
    return out


def step_text(step: Mapping[str, Any], name: str) -> str:
    kind = step.get("kind")
    if kind == "weight":
        return f"setWeight {step.get('weight')}%"
    if kind == "pause":
        return f"pause {step.get('durationSeconds')}s"
    if kind == "approval" and step.get("widening"):
        return f"approve widening (agentctl approve {name})"
    if kind == "approval":
        return f"pause until approved (agentctl approve {name})"
    if kind == "evaluate":
        return "evaluate" + (f" (minScore {step['minScore']:g})" if "minScore" in step else "")
    if kind == "analyze":
        return (
            f"analyze {step.get('count')}x every {step.get('intervalSeconds')}s"
            f" over {step.get('windowSeconds')}s"
        )
    if kind == "promote":
        return "promote to 100%"
    if kind == "recreate":
        return "recreate at 100%"
    return str(kind)


def status_view(
    agent: Mapping[str, Any],
    deployments: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    history: Mapping[str, Revision],
) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data."""
    meta = agent.get("metadata") or {}
    spec = agent.get("spec") or {}
    status = read_status(agent.get("status"))
    stable, canary = status.stable_revision, status.canary_revision
    numbers = {rev.revision: rev.number for rev in history.values()}
    revisions = []
    for deployment in sorted(deployments, key=lambda d: numbers.get(_revision_of(d) or "", 0)):
        revision = _revision_of(deployment)
        if revision is None:
            continue
        d_status = deployment.get("status") or {}
        revisions.append(
            {
                "revision": revision,
                "number": numbers.get(revision),
                "role": "canary" if revision == canary else "stable" if revision == stable else None,
                "replicas": int((deployment.get("spec") or {}).get("replicas") or 0),
                "pods": int(d_status.get("replicas") or 0),
                "ready": int(d_status.get("readyReplicas") or 0),
            }
        )
    rollout = status.rollout or RolloutStatus()
    steps = describe_steps(spec, gated=bool(rollout.widenings) and bool(canary))
    step_index = rollout.step_index or 0
    failure = {
        "failedRevision": rollout.failed_revision,
        "failureReason": rollout.failure_reason,
        "message": rollout.message,
        "blockedRevision": rollout.blocked_revision,
    }
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "generation": meta.get("generation"),
        "observedGeneration": status.observed_generation,
        "paused": bool(spec.get("paused")),
        "suspend": bool(spec.get("suspend")),
        "phase": status.phase,
        "stableRevision": stable,
        "canaryRevision": canary,
        "currentRevision": status.current_revision,
        "revisionNumbers": {r: numbers[r] for r in (stable, canary) if r in numbers},
        "step": _current_step(steps, step_index) if canary else None,
        "desiredWeight": status.desired_weight,
        "actualWeight": status.actual_weight,
        "revisions": revisions,
        "evaluation": rollout.evaluation.to_wire() if rollout.evaluation else None,
        "approval": rollout.approval.to_wire() if rollout.approval else None,
        "widenings": [w.to_wire() for w in rollout.widenings or []],
        "failure": {k: v for k, v in failure.items() if v},
        "rollbackOverride": rollout.rollback_override,
        "analysis": rollout.analysis.to_wire() if rollout.analysis else None,
        "scheduledEvaluation": status.scheduled_evaluation.to_wire() if status.scheduled_evaluation else None,
        "conditions": _ordered_conditions([c.to_wire() for c in status.conditions or []]),
        "readiness": status.readiness.to_wire() if status.readiness else None,
        "missingSecrets": status.missing_secrets or [],
        "budget": status.budget.to_wire() if status.budget else None,
        "events": [_event(e) for e in _latest(events)],
    }


def _revision_of(deployment: Mapping[str, Any]) -> str | None:
    labels = (deployment.get("metadata") or {}).get("labels") or {}
    value = labels.get(REVISION_LABEL)
    return str(value) if value else None


def _current_step(steps: list[dict[str, Any]] | None, index: int) -> dict[str, Any]:
    if steps is None:
        return {"index": index, "count": None}
    step = steps[min(index, len(steps) - 1)] if steps else {}
    return {"index": index, "count": len(steps), **step}


def _ordered_conditions(conditions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    def rank(c: Mapping[str, Any]) -> int:
        kind = c.get("type")
        return CONDITION_ORDER.index(kind) if kind in CONDITION_ORDER else len(CONDITION_ORDER)

    return [
        {k: c.get(k) for k in ("type", "status", "reason", "message")}
        for c in sorted(conditions, key=rank)
        if isinstance(c, Mapping)
    ]


def _event_time(event: Mapping[str, Any]) -> str:
    meta = event.get("metadata") or {}
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or meta.get("creationTimestamp")
        or ""
    )


def _latest(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(events, key=_event_time)[-EVENTS_SHOWN:]


def _event(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "time": _event_time(event) or None,
        "type": event.get("type"),
        "reason": event.get("reason"),
        "message": event.get("message"),
        "count": event.get("count"),
    }


def format_status(view: Mapping[str, Any], console: Console, now: datetime) -> str:
    """The human form: one labelled line per topic, then pods, conditions and events."""
    name = view["name"]
    lines = [_headline(view, console)]

    def field(label: str, text: str) -> None:
        lines.append(f"{console.style(label.ljust(11), 'bold')}{text}")

    field("revision", _revisions_text(view))
    step = view.get("step")
    if step is None:
        field("step", "no rollout in progress")
    else:
        count = step.get("count")
        position = f"{step['index'] + 1}/{count}" if count else f"{step['index'] + 1}/?"
        field("step", f"{position} {step_text(step, name)}" if count else position)
    desired, actual = view.get("desiredWeight"), view.get("actualWeight")
    if desired is not None or actual is not None:
        field("weight", f"desired {_percent(desired)}  actual {_percent(actual)}")
    field("gates", _gates_text(view, now))
    failure = view.get("failure") or {}
    if failure.get("failedRevision") or failure.get("failureReason"):
        revision = failure.get("failedRevision") or view.get("canaryRevision") or "?"
        text = f"{revision} {failure.get('failureReason') or ''}"
        detail = failure.get("message")
        field("failed", console.style(text.strip() + (f": {detail}" if detail else ""), "red"))
    if view.get("rollbackOverride"):
        field(
            "override", f"manual rollback pins revision {view['rollbackOverride']} (revert the spec in Git)"
        )
    scheduled = view.get("scheduledEvaluation")
    if scheduled:
        field("schedule", _schedule_text(scheduled, console, now))
    field("readiness", _readiness_text(view))
    if view.get("missingSecrets"):
        field("secrets", console.style(f"missing: {', '.join(view['missingSecrets'])}", "red"))
    if view.get("budget"):
        field("budget", _budget_text(view["budget"], console))
    if view.get("analysis"):
        lines.append(console.style("analysis", "bold"))
        table = analysis_table(AnalysisRunStatus.model_validate(view["analysis"]))
        lines.extend("  " + line for line in table.splitlines())

    lines.append(console.style("pods", "bold"))
    if view["revisions"]:
        rows: list[tuple[str, ...]] = [
            (
                r["revision"],
                str(r["number"]) if r["number"] is not None else "-",
                r["role"] or "-",
                f"{r['ready']}/{r['pods']}",
                str(r["replicas"]),
            )
            for r in view["revisions"]
        ]
        lines.extend(
            "  " + line
            for line in format_table(("REVISION", "NUMBER", "ROLE", "READY", "DESIRED"), rows).splitlines()
        )
    else:
        lines.append("  no revision Deployments")

    lines.append(console.style("conditions", "bold"))
    if view["conditions"]:
        rows = [
            (c["type"] or "", c["status"] or "", c["reason"] or "", c["message"] or "")
            for c in view["conditions"]
        ]
        lines.extend(
            "  " + line for line in format_table(("TYPE", "STATUS", "REASON", "MESSAGE"), rows).splitlines()
        )
    else:
        lines.append("  none yet (has the operator seen this agent?)")

    lines.append(console.style("events", "bold"))
    if view["events"]:
        rows = [
            (
                _age(e.get("time"), now),
                e.get("type") or "",
                e.get("reason") or "",
                (e.get("message") or "").replace("\n", " "),
            )
            for e in view["events"]
        ]
        lines.extend(
            "  " + line for line in format_table(("AGE", "TYPE", "REASON", "MESSAGE"), rows).splitlines()
        )
    else:
        lines.append("  none")
    return "\n".join(lines) + "\n"


def _headline(view: Mapping[str, Any], console: Console) -> str:
    phase = view.get("phase") or "Unknown"
    colour = {"Available": "green", "Degraded": "red", "Failed": "red", "Blocked": "red"}.get(phase, "yellow")
    flags = [flag for flag, on in (("paused", view.get("paused")), ("suspended", view.get("suspend"))) if on]
    generation = ""
    if view.get("generation") is not None and view.get("observedGeneration") != view.get("generation"):
        generation = f"  (generation {view.get('generation')} not yet observed)"
    return (
        f"{console.style(str(view['name']), 'bold')} in {view['namespace']}: "
        f"{console.style(phase, 'bold', colour)}" + (f" [{', '.join(flags)}]" if flags else "") + generation
    )


def _revisions_text(view: Mapping[str, Any]) -> str:
    numbers = view.get("revisionNumbers") or {}

    def label(revision: str | None) -> str:
        if not revision:
            return "none"
        return f"{numbers[revision]} ({revision})" if revision in numbers else revision

    text = f"stable {label(view.get('stableRevision'))}"
    if view.get("canaryRevision"):
        text += f"  canary {label(view['canaryRevision'])}"
    current = view.get("currentRevision")
    if current and current not in (view.get("stableRevision"), view.get("canaryRevision")):
        text += f"  spec asks for {label(current)}"
    return text


def _schedule_text(scheduled: Mapping[str, Any], console: Console, now: datetime) -> str:
    """spec.evaluation.schedule in one line: the serving revision's trend, what runs, what is next."""
    state = reeval_state(read_status({"scheduledEvaluation": scheduled}))
    parts = [
        f"{state.schedule} (UTC)",
        f"revision {state.revision or 'none'} scores {format_trend(state.scores)}",
    ]
    if state.running is not None:
        parts.append(f"running since {_age(format_time(state.running.started_at), now)} ago")
    upcoming = parse_time(scheduled.get("nextScheduleTime"))
    if upcoming is not None and state.running is None:
        parts.append(f"next {format_time(upcoming)}" + (" (overdue: held)" if upcoming <= now else ""))
    if state.suspended_revision:
        parts.append(
            console.style(f"revision {state.suspended_revision} suspended by onRegression: Suspend", "red")
        )
    return "; ".join(parts)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value}%"


def _gates_text(view: Mapping[str, Any], now: datetime) -> str:
    parts = []
    evaluation = view.get("evaluation")
    if evaluation:
        score = evaluation.get("score")
        parts.append(
            f"evaluation {evaluation.get('result')} at step {int(evaluation.get('step', 0)) + 1}"
            + (f" score {format_score(float(score))}" if score is not None else "")
        )
    approval = view.get("approval")
    step = view.get("step") or {}
    if approval and approval.get("revision") == view.get("canaryRevision"):
        parts.append(
            f"approved by {approval.get('by') or 'an unknown user'}"
            f" at step {int(approval.get('step', 0)) + 1}, {_age(approval.get('at'), now)} ago"
        )
    if step.get("kind") == "approval" and not (
        approval
        and approval.get("revision") == view.get("canaryRevision")
        and approval.get("step") == step.get("index")
    ):
        widens = [
            f"{w.get('path')}: {w.get('before')} -> {w.get('after')}" for w in view.get("widenings") or []
        ]
        what = f" of what it widens: {'; '.join(widens)}" if widens else ""
        parts.append(f"waiting for approval{what} (agentctl approve {view['name']})")
    return "; ".join(parts) or "none"


def _budget_text(budget: Mapping[str, Any], console: Console) -> str:
    """One line: state, spend of the cap, and when the window resets (agentctl budget has more)."""
    spent, cap = budget.get("spentUSD"), budget.get("capUSD") or 0
    amount = "not measured yet" if spent is None else f"${spent:,.2f} of ${cap:,.2f}"
    if spent is not None and cap:
        amount += f" ({100 * spent / cap:.0f}%)"
    text = f"{budget.get('state', 'Ok')}: {amount}, resets {budget.get('windowEnd')}"
    if budget.get("unknown"):
        text += "; spend unknown"
    color = {"Warning": "yellow", "Exhausted": "red"}.get(str(budget.get("state")))
    return console.style(text, color) if color else text


def _readiness_text(view: Mapping[str, Any]) -> str:
    readiness = view.get("readiness")
    if not readiness:
        return "not reported yet"
    policy = f"{readiness.get('policy')} ({readiness.get('enforcement')})"
    text = f"score {readiness.get('score')}/100  policy {policy}"
    failing = readiness.get("missingRequired") or []
    warnings = readiness.get("warnings") or []
    if failing:
        text += f"  failing: {', '.join(map(str, failing))}"
    if warnings:
        text += f"  warnings: {', '.join(map(str, warnings))}"
    return text


def _age(timestamp: Any, now: datetime) -> str:
    """kubectl-style age: 42s, 5m, 3h, 2d."""
    moment = parse_time(str(timestamp)) if timestamp else None
    if moment is None:
        return "?"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
