"""The budget in status, exported as gauges for alerting."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from .._metrics import BUDGET_CAP_USD, BUDGET_EXHAUSTED, BUDGET_SPENT_USD, BUDGET_UNKNOWN, BUDGET_WARNING

BUDGET_GAUGES = (BUDGET_SPENT_USD, BUDGET_CAP_USD, BUDGET_WARNING, BUDGET_EXHAUSTED, BUDGET_UNKNOWN)


def export_budget(key: tuple[str, str], budget: Mapping[str, Any] | None) -> None:
    """The budget in status as gauges, for alerting; none for an agent without an enforced cap."""
    if not isinstance(budget, Mapping):
        for gauge in BUDGET_GAUGES:
            with contextlib.suppress(KeyError):
                gauge.remove(*key)
        return
    state = budget.get("state")
    BUDGET_SPENT_USD.labels(*key).set(float(budget.get("spentUSD") or 0))
    BUDGET_CAP_USD.labels(*key).set(float(budget.get("capUSD") or 0))
    BUDGET_WARNING.labels(*key).set(1 if state in ("Warning", "Exhausted") else 0)
    BUDGET_EXHAUSTED.labels(*key).set(1 if state == "Exhausted" else 0)
    BUDGET_UNKNOWN.labels(*key).set(1 if budget.get("unknown") else 0)
