"""CHECKS: every built-in check, by stable id, in report order."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import (
    _checks_delivery,
    _checks_network,
    _checks_runtime,
    _checks_secrets,
    _checks_security,
    _checks_workload,
)
from ._types import CheckDefinition

CATEGORY_ORDER: tuple[str, ...] = (
    "probes",
    "resources",
    "security",
    "network",
    "secrets",
    "image",
    "runtime",
    "availability",
    "observability",
    "rollout",
    "evaluation",
)


def _ordered() -> list[CheckDefinition]:
    every = [
        *_checks_workload.DEFINITIONS,
        *_checks_security.DEFINITIONS,
        *_checks_network.DEFINITIONS,
        *_checks_secrets.DEFINITIONS,
        *_checks_runtime.DEFINITIONS,
        *_checks_delivery.DEFINITIONS,
    ]
    ids = [d.id for d in every]
    if len(set(ids)) != len(ids):
        raise RuntimeError("duplicate check id")  # a programming error, caught at import by every test
    return sorted(every, key=lambda d: CATEGORY_ORDER.index(d.category))


CHECKS: Mapping[str, CheckDefinition] = MappingProxyType({d.id: d for d in _ordered()})
