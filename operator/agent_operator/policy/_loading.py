"""Turning ReadinessPolicy objects into EffectivePolicies, and picking the one that judges an agent."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ..api import AgentDeployment, ApiError, ReadinessPolicy
from ..api.core import LabelSelector
from ..api.policy import PolicyLimits
from ._effective import EffectivePolicy
from ._profiles import builtin_policy
from ._registry import CHECKS
from ._rules import CompiledRule, compile_rule
from ._shapes import selects
from ._types import PROFILES, PolicyError, ProfileName


def _base_profile(policy: ReadinessPolicy) -> ProfileName:
    """The strictest built-in profile among the environments the policy selects."""
    chosen = policy.spec.selector.environments or list(PROFILES)
    return next(p for p in PROFILES if p in chosen)


def _merge_limits(base: PolicyLimits, override: PolicyLimits | None) -> PolicyLimits:
    if override is None:
        return base
    return base.model_copy(update=override.model_dump(exclude_none=True))


def _unknown_check(check_id: str) -> ApiError:
    close = difflib.get_close_matches(check_id, list(CHECKS), n=1)
    hint = f"; did you mean {close[0]}?" if close else "; see docs/checks.md for the known check ids"
    return ApiError(f"spec.checks.{check_id}", f"unknown check{hint}")


def load_policy(policy: ReadinessPolicy) -> EffectivePolicy:
    """Resolve a ReadinessPolicy: built-in base levels and limits, its overrides, compiled rules.

    The base is the built-in profile of the environments the policy selects (the strictest when it
    selects several, production when it selects all). Raises PolicyError listing every problem.
    """
    errors: list[ApiError] = []
    overrides = policy.spec.checks or {}
    errors.extend(_unknown_check(check_id) for check_id in overrides if check_id not in CHECKS)
    rules: list[CompiledRule] = []
    for index, rule in enumerate(policy.spec.rules or []):
        compiled = compile_rule(rule, index)
        if isinstance(compiled, ApiError):
            errors.append(compiled)
        else:
            rules.append(compiled)
    if errors:
        raise PolicyError(errors)
    base = builtin_policy(_base_profile(policy))
    return EffectivePolicy(
        name=policy.metadata.name,
        enforcement=policy.spec.enforcement,
        levels=MappingProxyType({**base.levels, **overrides}),
        limits=_merge_limits(base.limits, policy.spec.limits),
        rules=tuple(rules),
        approval_required_for=(
            base.approval_required_for
            if policy.spec.approval_required_for is None
            else frozenset(policy.spec.approval_required_for)
        ),
    )


def _label_selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    return selector is None or selects(selector.to_wire(), labels)


def policy_selects(
    policy: ReadinessPolicy, agent: AgentDeployment, namespace_labels: Mapping[str, str] | None = None
) -> bool:
    """Every part of the policy's selector that is set matches the agent.

    Unknown namespace labels count as none: a namespaceSelector with requirements then does not match.
    """
    selector = policy.spec.selector
    if selector.environments is not None and agent.spec.environment not in selector.environments:
        return False
    if not _label_selector_matches(selector.namespace_selector, namespace_labels or {}):
        return False
    return _label_selector_matches(selector.agent_selector, agent.metadata.labels or {})


def select_policy(
    agent: AgentDeployment,
    policies: Sequence[ReadinessPolicy],
    namespace_labels: Mapping[str, str] | None = None,
) -> EffectivePolicy:
    """The policy that judges ``agent``: of those selecting it, the highest spec.priority, then the
    alphabetically first name; the built-in profile of spec.environment when none selects it.

    Raises PolicyError when the winning policy itself is invalid rather than silently judging the
    agent by a weaker one.
    """
    matching = [p for p in policies if policy_selects(p, agent, namespace_labels)]
    if not matching:
        return builtin_policy(agent.spec.environment)
    winner = min(matching, key=lambda p: (-p.spec.priority, p.metadata.name))
    return load_policy(winner)
