"""kstatus conditions: Ready, Reconciling and Stalled, plus PolicyCompliant and Progressing.

A condition keeps its lastTransitionTime while its status stays the same, so a resync that
changes nothing produces an identical status and therefore no write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from .timefmt import format_time

MAX_MESSAGE = 1024
CONDITION_ORDER = ("Ready", "Reconciling", "Stalled", "PolicyCompliant", "Progressing")


@dataclass(frozen=True)
class Cond:
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str = ""


def build_conditions(
    wanted: Iterable[Cond],
    previous: Iterable[Mapping[str, Any]] | None,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Wire conditions in a fixed order, carrying transition times over from ``previous``."""
    before = {c.get("type"): c for c in previous or []}
    out: list[dict[str, Any]] = []
    for cond in sorted(
        wanted, key=lambda c: CONDITION_ORDER.index(c.type) if c.type in CONDITION_ORDER else 99
    ):
        old = before.get(cond.type)
        since = old.get("lastTransitionTime") if old and old.get("status") == cond.status else None
        wire: dict[str, Any] = {
            "type": cond.type,
            "status": cond.status,
            "reason": cond.reason,
            "message": cond.message[:MAX_MESSAGE],
            "lastTransitionTime": since or format_time(now),
        }
        if generation is not None:
            wire["observedGeneration"] = generation
        out.append(wire)
    return out
