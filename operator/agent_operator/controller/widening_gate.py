"""Which widenings gate the desired revision, and what egress the shared NetworkPolicy serves.

Egress is no part of a revision (a network change never starts a rollout, so narrowing it applies
at once), so its baseline is not only the stable revision's snapshot: an egress widening a human
approved on the stable revision becomes the baseline until another revision is stable. While an
egress widening waits for approval, the shared objects keep the baseline egress.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..api.agent import AgentDeploymentSpec, Egress, Network
from ..policy import EffectivePolicy
from ..rollout.types import RolloutState
from ..widening import Widening, required, widenings
from .history import Revision


def baseline_egress(history: Mapping[str, Revision], state: RolloutState) -> Egress | None:
    """The egress a human last let the agent have: approved on the stable revision, else the
    stable revision's snapshot; None before the first revision (or when its snapshot is unreadable)."""
    stable = state.stable_revision
    if stable is not None and state.approved_egress_for == stable and state.approved_egress is not None:
        return state.approved_egress
    previous = history.get(stable) if stable is not None else None
    if previous is None or previous.spec is None:
        return None
    network = previous.spec.network
    return (network.egress if network else None) or Egress()


def _with_egress(spec: AgentDeploymentSpec, egress: Egress) -> AgentDeploymentSpec:
    network = (spec.network or Network()).model_copy(update={"egress": egress})
    return spec.model_copy(update={"network": network})


def gating_widenings(
    spec: AgentDeploymentSpec,
    policy: EffectivePolicy,
    history: Mapping[str, Revision],
    state: RolloutState,
) -> tuple[Widening, ...]:
    """The widenings of ``spec`` over the stable revision (its egress over the baseline) that need
    `agentctl approve`. None for a first revision (nothing to compare with: the readiness checks
    judge it) or when the policy gates nothing."""
    stable = state.stable_revision
    previous = history.get(stable) if stable is not None else None
    egress = baseline_egress(history, state)
    if not policy.approval_required_for or previous is None or previous.spec is None or egress is None:
        return ()
    before = _with_egress(previous.spec, egress)
    return tuple(required(widenings(before, spec), sorted(policy.approval_required_for)))


def held_egress(
    spec: AgentDeploymentSpec, policy: EffectivePolicy, history: Mapping[str, Revision], state: RolloutState
) -> Egress | None:
    """The egress the shared objects keep instead of the spec's while its widening waits for
    approval (``state`` as the rollout machine left it); None when they may follow the spec."""
    if "egress" not in policy.approval_required_for:
        return None
    egress = baseline_egress(history, state)
    if egress is None:
        return None
    return egress if widenings(_with_egress(spec, egress), spec) else None
