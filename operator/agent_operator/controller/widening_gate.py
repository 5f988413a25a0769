"""Which widenings gate the desired revision: the spec against the stable revision's snapshot,
filtered by the kinds the agent's policy lists in approvalRequiredFor."""

from __future__ import annotations

from collections.abc import Mapping

from ..api.agent import AgentDeploymentSpec
from ..policy import EffectivePolicy
from ..widening import Widening, required, widenings
from .history import Revision


def gating_widenings(
    spec: AgentDeploymentSpec,
    policy: EffectivePolicy,
    history: Mapping[str, Revision],
    stable: str | None,
) -> tuple[Widening, ...]:
    """The widenings of ``spec`` over the stable revision that need `agentctl approve`. None for a
    first revision (nothing to compare with: the readiness checks judge it) or when the policy
    gates nothing."""
    if stable is None or not policy.approval_required_for:
        return ()
    previous = history.get(stable)
    if previous is None or previous.spec is None:
        return ()
    return tuple(required(widenings(previous.spec, spec), sorted(policy.approval_required_for)))
