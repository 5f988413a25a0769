"""plan_rollout: one reconcile's decision for an AgentDeployment's revisions."""

from __future__ import annotations

from dataclasses import replace

from ..api.agent import Egress
from ..widening import Widening
from ._commands import apply_commands
from ._decision import Decision, fail_canary, supersede_canary
from ._progress import advance, start_canary, widening_summary
from ._render import (
    render_blocked,
    render_failed,
    render_paused,
    render_rollout,
    render_steady,
    render_suspended,
)
from ._steps import Step, gated_steps
from .types import BUDGET_SHARE_EXCEEDED, HistoryUpdate, RolloutInput, RolloutPlan, RolloutState


def plan_rollout(inp: RolloutInput) -> RolloutPlan:
    """Decide what the cluster must look like now. Pure and level-based: the same input gives the
    same plan, and replanning from the plan's own state emits no events (see docs/rollouts.md)."""
    steps = gated_steps(inp.rollout, bool(_gate(inp)))
    d = Decision(inp, _fit_to_steps(inp.state, steps))
    apply_commands(d, steps)
    _release_override(d)
    _forget_failure_when_spec_moved(d)
    if inp.suspend:
        return render_suspended(d)
    if inp.budget_suspend is not None:
        # The spend cap takes the kill switch's path; the spec is not touched.
        return render_suspended(d, *inp.budget_suspend)
    # A manual rollback left no canary, so a paused agent plans exactly the rollback target.
    if inp.paused:
        return render_paused(d, steps)
    return _decide(d, steps)


def _decide(d: Decision, steps: tuple[Step, ...]) -> RolloutPlan:
    inp, state = d.inp, d.state
    desired = state.rollback_override or inp.desired_revision
    if state.stable_revision is None:
        if not inp.can_roll_out:
            return _block(d, desired)
        _first_deploy(d, desired)
        return render_steady(d)
    if desired == state.stable_revision:
        d.update(blocked_revision=None)
        supersede_canary(d, keep=None, why=f"the spec asks for the stable revision {desired} again")
        _hold_egress(d)
        return render_steady(d)
    if desired == state.failed_revision:
        d.update(blocked_revision=None)
        supersede_canary(d, keep=None, why=f"the spec asks for the failed revision {desired}")
        return render_failed(d)
    if not inp.can_roll_out:
        return _block(d, desired)
    d.update(blocked_revision=None)
    start_canary(d, steps)
    _check_budget_share(d)
    advance(d, steps)
    if d.state.failed_revision == desired:
        return render_failed(d)
    if d.state.canary_revision is None:
        return render_steady(d)
    return render_rollout(d, steps)


def _hold_egress(d: Decision) -> None:
    """No new revision, but the spec widens egress (which is shared, no part of a revision): the
    NetworkPolicy keeps the approved egress and status says what waits for agentctl approve."""
    inp, state = d.inp, d.state
    approved = state.approved_egress_for == state.stable_revision and state.approved_egress == (
        inp.egress or Egress()
    )
    egress = tuple(w for w in inp.widenings if w.kind == "egress")
    waiting = () if approved or state.rollback_override is not None else egress
    if waiting and not state.widenings:
        d.emit(
            "Warning",
            "AwaitingApproval",
            f"the spec widens the egress of revision {state.stable_revision} ({widening_summary(waiting)}): "
            "the NetworkPolicy keeps the approved egress until agentctl approve",
        )
    if waiting != state.widenings:
        d.update(widenings=waiting)


def _gate(inp: RolloutInput) -> tuple[Widening, ...]:
    """The widenings that gate the revision the steps are for: the in-flight canary's, as fixed
    when it started (a policy edited mid-rollout must not shift its step index), else those of the
    desired revision, which a canary started in this reconcile takes."""
    state = inp.state
    if state.canary_revision is not None and state.canary_revision == inp.desired_revision:
        return state.widenings
    return inp.widenings


def _check_budget_share(d: Decision) -> None:
    """A canary projected past its share of the spend cap fails its rollout, before it can
    exhaust the whole budget (autoRollback off: frozen, as any failure)."""
    over = d.inp.budget_canary_over
    canary = d.state.canary_revision
    if over is None or canary is None or over[0] != canary or d.state.failure_reason is not None:
        return
    fail_canary(d, "RolledBack", BUDGET_SHARE_EXCEEDED, over[1], roll_back=d.inp.rollout.auto_rollback)


def _fit_to_steps(state: RolloutState, steps: tuple[Step, ...]) -> RolloutState:
    """The rollout section is not part of the revision, so steps can shrink mid-rollout: a step
    index past the end means the promotion."""
    if state.step_index < len(steps):
        return state
    return replace(state, step_index=len(steps) - 1, step_started_at=None)


def _release_override(d: Decision) -> None:
    state = d.state
    if state.rollback_override is None or d.inp.desired_revision == state.rollback_from:
        return
    d.emit(
        "Normal",
        "RollbackReleased",
        f"the spec moved from {state.rollback_from} to {d.inp.desired_revision}: the manual rollback "
        f"to {state.rollback_override} no longer pins the agent",
    )
    d.update(rollback_override=None, rollback_from=None)


def _forget_failure_when_spec_moved(d: Decision) -> None:
    failed = d.state.failed_revision
    if failed is not None and d.inp.desired_revision != failed:
        d.update(failed_revision=None, failure_reason=None, message="")


def _block(d: Decision, desired: str) -> RolloutPlan:
    canary = d.state.canary_revision
    if canary is not None:
        d.clear_canary()
    if d.state.blocked_revision != desired:
        scaled = f"; canary {canary} scaled away" if canary else ""
        d.emit(
            "Warning",
            "Blocked",
            f"revision {desired} is held back by policy or missing Secrets{scaled}",
        )
        d.update(blocked_revision=desired)
    return render_blocked(d)


def _first_deploy(d: Decision, desired: str) -> None:
    d.update(stable_revision=desired, blocked_revision=None)
    d.record_revision = desired
    d.history.append(HistoryUpdate(desired, "Promoted", "first revision: no steps"))
    d.emit("Normal", "RolloutStarted", f"first revision {desired} goes straight to {d.inp.replicas} replicas")
