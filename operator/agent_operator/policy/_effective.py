"""EffectivePolicy: a policy resolved to one level per check, concrete limits and compiled rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..api.policy import CheckLevel, Enforcement, PolicyLimits
from ._rules import CompiledRule


@dataclass(frozen=True)
class EffectivePolicy:
    """What evaluate() applies. Built-in profiles and loaded ReadinessPolicies both end up here."""

    name: str
    """ReadinessPolicy name, or builtin/<environment>."""
    enforcement: Enforcement
    """Enforce, Warn or Audit."""
    levels: Mapping[str, CheckLevel]
    """Level of every known check id."""
    limits: PolicyLimits = field(default_factory=PolicyLimits)
    """Bounds the checks apply."""
    rules: tuple[CompiledRule, ...] = ()
    """Custom CEL rules, in policy order."""
    approval_required_for: frozenset[str] = frozenset()
    """Widening kinds (agent_operator.widening) a new revision needs `agentctl approve` for."""

    def level(self, check_id: str) -> CheckLevel:
        """The check's level; a check the policy does not know about is off."""
        return self.levels.get(check_id, "off")
