"""Turning the decided state into a plan: replicas per revision, phase, message, weights, timers.

Everything here is a function of the state and the observations only, so replanning the same
state gives the same plan (events and history come from transitions, not from here).
"""

from __future__ import annotations

from ._analysis import background_due, held, pause_reason, paused_on, step_due
from ._decision import Decision
from ._progress import canary_short, describe, elapsed_seconds, pods_target, widening_summary
from ._replicas import actual_weight, step_toward
from ._steps import Step, pacing, weight_at
from .types import RolloutPhase, RolloutPlan


def _plan(
    d: Decision,
    replicas: dict[str, int],
    phase: RolloutPhase,
    reason: str,
    message: str,
    *,
    complete: bool = False,
    desired_weight: int | None = None,
    requeue_after: float | None = None,
) -> RolloutPlan:
    canary = d.state.canary_revision
    weight = None
    if canary is not None:
        stable = d.observed(d.state.stable_revision)
        weight = actual_weight(stable.ready, d.observed(canary).ready)
    evaluation = d.state.evaluation
    return RolloutPlan(
        replicas=replicas,
        state=d.state,
        phase=phase,
        reason=reason,
        message=message,
        complete=complete,
        desired_weight=desired_weight,
        actual_weight=weight,
        run_evaluation=canary is not None
        and evaluation is not None
        and evaluation.result == "Running"
        and evaluation.revision == canary,
        events=tuple(d.events),
        history=tuple(d.history),
        record_revision=d.record_revision,
        requeue_after=requeue_after,
        # Only for the canary still in flight: a promotion or failure later in the call ends them.
        measure=tuple(r for r in d.measure if r.revision == canary and d.state.failure_reason is None),
    )


def _stable_only(d: Decision) -> dict[str, int]:
    stable = d.state.stable_revision
    return {} if stable is None else {stable: d.inp.replicas}


def render_suspended(
    d: Decision,
    reason: str = "Suspended",
    message: str = "spec.suspend: every revision scaled to 0, objects kept",
) -> RolloutPlan:
    """Every revision at 0 replicas, objects and rollout state kept: spec.suspend, and the spend
    cap (with its own reason and message)."""
    replicas = {revision: 0 for revision, seen in d.inp.revisions.items() if seen.exists}
    return _plan(d, replicas, "Suspended", reason, message)


def render_paused(d: Decision, steps: tuple[Step, ...]) -> RolloutPlan:
    canary = d.state.canary_revision
    if canary is None:
        return _plan(
            d,
            _stable_only(d),
            "Paused",
            "Paused",
            f"spec.paused: revision {d.state.stable_revision} stays stable, no rollout starts",
        )
    stable = d.state.stable_revision
    replicas = {r: d.observed(r).replicas for r in (stable, canary) if r is not None}
    return _plan(
        d,
        replicas,
        "Paused",
        "Paused",
        f"spec.paused: revision {canary} frozen at step {d.state.step_index} "
        f"({describe(steps[d.state.step_index])}) with replicas as observed",
        desired_weight=weight_at(steps, d.state.step_index),
    )


def render_steady(d: Decision) -> RolloutPlan:
    stable = d.state.stable_revision
    assert stable is not None
    total = d.inp.replicas
    seen = d.observed(stable)
    others = sum(o.pods for r, o in d.inp.revisions.items() if r != stable)
    available = seen.available >= total and others == 0
    message = f"revision {stable} serves 100%: {seen.available} of {total} available"
    if others:
        message += f", {others} pods of other revisions still terminating"
    override = d.state.rollback_override
    if override is not None:
        message += (
            f"; pinned by a manual rollback while the spec asks for {d.state.rollback_from}: "
            f"revert the spec to {override} or push a fix to resume rollouts"
        )
    if d.state.widenings:
        message += (
            f"; the spec widens {widening_summary(d.state.widenings)}: the NetworkPolicy keeps the "
            "approved egress until agentctl approve"
        )
    if available and d.state.widenings:
        phase: RolloutPhase = "Progressing"
        reason = "AwaitingApproval"
    elif available:
        phase = "Available"
        reason = "Available"
    else:
        first = all(entry.revision == stable for entry in d.inp.history)
        phase = "Pending" if first else "Progressing"
        reason = "WaitingForPods"
    complete = available and stable == d.inp.desired_revision and not d.state.widenings
    return _plan(d, {stable: total}, phase, reason, message, complete=complete)


def render_failed(d: Decision) -> RolloutPlan:
    failed = d.state.failed_revision
    reason = d.state.failure_reason or "RolledBack"
    stable = d.state.stable_revision
    seen = d.observed(stable)
    message = (
        f"revision {failed} failed ({reason}: {d.state.message}); stable {stable} serves 100% "
        f"({seen.available} of {d.inp.replicas} available); {failed} is not retried until the spec "
        "changes or agentctl retry"
    )
    return _plan(d, _stable_only(d), "Degraded", reason, message)


def render_blocked(d: Decision) -> RolloutPlan:
    stable = d.state.stable_revision
    keeps = f"stable {stable} keeps serving" if stable else "nothing is deployed"
    message = f"revision {d.inp.desired_revision} is held back by policy or missing Secrets; {keeps}"
    return _plan(d, _stable_only(d), "Blocked", "Blocked", message)


def render_rollout(d: Decision, steps: tuple[Step, ...]) -> RolloutPlan:
    state = d.state
    canary, stable = state.canary_revision, state.stable_revision
    assert canary is not None
    assert stable is not None
    index = state.step_index
    step = steps[index]
    weight = weight_at(steps, index)
    seen_stable, seen_canary = d.observed(stable), d.observed(canary)
    total = d.inp.replicas
    if held(d):
        return _plan(
            d,
            {stable: seen_stable.replicas, canary: seen_canary.replicas},
            "Paused",
            state.failure_reason or "AnalysisFailed",
            f"revision {canary} held at step {index} by a failed check (onFailure: Pause): "
            f"{state.message}; agentctl promote, abort or retry decides",
            desired_weight=weight,
        )
    if state.failure_reason is not None:
        return _plan(
            d,
            {stable: seen_stable.replicas, canary: seen_canary.replicas},
            "Degraded",
            state.failure_reason,
            f"revision {canary} failed at step {index} ({state.failure_reason}: {state.message}); "
            "autoRollback is off: frozen until agentctl abort, retry or promote",
            desired_weight=weight,
        )
    target = pods_target(d, steps)
    if step.kind == "recreate":
        gone = seen_stable.pods == 0 and seen_stable.replicas == 0
        new_stable, new_canary = 0, total if gone else seen_canary.replicas
    else:
        surge, unavailable = pacing(d.inp.rollout, total)
        new_stable, new_canary = step_toward(target, seen_stable, seen_canary, total, surge, unavailable)
    message = (
        f"revision {canary} at step {index + 1} of {len(steps)} ({describe(step)}): "
        f"canary {new_canary}, stable {new_stable} replicas; weight {weight}% desired"
    )
    if step.widening:
        message += f"; it widens {widening_summary(state.widenings)}: agentctl approve releases it"
    if target[1] * 100 != weight * total:
        message += (
            f"; {weight}% is approximate with {total} replicas: the canary gets {target[1]} of {total} pods"
        )
    paused = paused_on(d, index) if step.kind == "analyze" else None
    if paused is not None:
        message += (
            f"; analysis paused ({paused.verdict.reason}): {paused.verdict.message}; "
            f"measuring again every {step.interval_seconds}s, resumes when data returns"
        )
    return _plan(
        d,
        {stable: new_stable, canary: new_canary},
        "Paused" if paused is not None else "Progressing",
        pause_reason(paused) if paused is not None else _REASONS[step.kind],
        message,
        desired_weight=weight,
        requeue_after=_next_timer(d, step),
    )


_REASONS = {
    "weight": "SettingWeight",
    "promote": "Promoting",
    "recreate": "Recreating",
    "pause": "PauseStep",
    "approval": "AwaitingApproval",
    "evaluate": "Evaluating",
    "analyze": "Analyzing",
}


def _next_timer(d: Decision, step: Step) -> float | None:
    """Seconds until the soonest timer of the current step can fire."""
    elapsed = elapsed_seconds(d)
    timers: list[float] = []
    if step.kind == "pause":
        timers.append(step.duration_seconds - elapsed)
    # The deadline and the evaluation timeout fire once strictly past their limit: wake a second after.
    if step.moves_replicas and canary_short(d, step):
        timers.append(d.inp.rollout.progress_deadline_seconds - elapsed + 1)
    evaluation, spec = d.state.evaluation, d.inp.evaluation_spec
    if step.kind == "evaluate" and evaluation is not None and evaluation.result == "Running" and spec:
        timers.append(spec.timeout_seconds - (d.inp.now - evaluation.started_at).total_seconds() + 1)
    # The next measurement: once due, the controller wakes the agent when the result is in.
    due = [step_due(d, step) if step.kind == "analyze" else None, background_due(d)]
    timers.extend((at - d.inp.now).total_seconds() for at in due if at is not None)
    pending = [t for t in timers if t > 0]
    return min(pending) if pending else None
