"""The built-in profiles, used when no ReadinessPolicy selects an agent.

Levels come from each check's definition; the limits below are the profile's own data.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..api.policy import WIDENING_KINDS, PolicyLimits
from ._effective import EffectivePolicy
from ._registry import CHECKS
from ._types import PROFILES, ProfileName

PROFILE_LIMITS: Mapping[ProfileName, PolicyLimits] = MappingProxyType(
    {
        # Strict: a stuck task is cut after 15 minutes, retries stay modest, every image is pinned
        # by digest and one pod can fail without an outage.
        "production": PolicyLimits(
            max_timeout_seconds=900, max_retry_limit=5, require_image_digest=True, min_replicas=2
        ),
        "staging": PolicyLimits(
            max_timeout_seconds=1800, max_retry_limit=10, require_image_digest=False, min_replicas=1
        ),
        "development": PolicyLimits(require_image_digest=False),
    }
)


# Production: every widening of the blast radius waits for a human; elsewhere none does.
PROFILE_APPROVALS: Mapping[ProfileName, frozenset[str]] = MappingProxyType(
    {"production": frozenset(WIDENING_KINDS), "staging": frozenset(), "development": frozenset()}
)


def _profile(name: ProfileName) -> EffectivePolicy:
    return EffectivePolicy(
        name=f"builtin/{name}",
        enforcement="Enforce",
        levels=MappingProxyType({check.id: check.level_in(name) for check in CHECKS.values()}),
        limits=PROFILE_LIMITS[name],
        approval_required_for=PROFILE_APPROVALS[name],
    )


BUILTIN_PROFILES: Mapping[ProfileName, EffectivePolicy] = MappingProxyType(
    {name: _profile(name) for name in PROFILES}
)


def builtin_policy(environment: ProfileName) -> EffectivePolicy:
    """The built-in profile of an environment: production strict, development only the basics."""
    return BUILTIN_PROFILES[environment]
