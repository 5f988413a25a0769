"""The DriftLoop guard: an object the operator keeps re-writing with the same content is a bug.

A level-based operator writes a child when what is live differs from what it wants. If the
apiserver normalises a field the operator keeps setting (drops an empty value, rewrites a
quantity), the difference never goes away and every resync writes again, forever. Writing the
*same content* (same applied-hash) more than ``max_writes`` times within ``window`` seconds is that
loop: the tracker then holds writes of the object back for a backoff (doubling per trip, capped),
and the reconciler reports a ``DriftLoop`` condition naming kind/name (never a value) and counts it.

Everything here is pure (time is passed in), so the rules are table-tested without a cluster.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .conditions import MAX_MESSAGE
from .diff import APPLIED_HASH
from .plan import ReconcilePlan
from .timefmt import format_time

CONDITION = "DriftLoop"
DEFAULT_MAX_WRITES = 4
DEFAULT_WINDOW_SECONDS = 600.0
DEFAULT_BACKOFF_SECONDS = 600.0
MAX_BACKOFF_SECONDS = 6 * 3600.0

ObjectKey = tuple[str, str, str]
"""(kind, namespace, name) of a child."""
AgentKey = tuple[str, str]
"""(namespace, name) of the AgentDeployment that owns the child."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))


def content_of(obj: Mapping[str, Any]) -> str:
    """The applied-hash the renderer stamped on ``obj``: equal hashes, equal content."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(APPLIED_HASH, ""))


@dataclass
class _History:
    agent: AgentKey
    content: str
    writes: deque[float] = field(default_factory=deque)
    trips: int = 0
    held_until: float = 0.0


@dataclass(frozen=True)
class Loop:
    """An object caught in a write loop."""

    key: ObjectKey
    writes: int
    held_for: float


class DriftLoopTracker:
    """Write histories per child object; thread-safe, no I/O, ``now`` in monotonic seconds."""

    def __init__(
        self,
        max_writes: int = DEFAULT_MAX_WRITES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    ) -> None:
        self._max = max_writes
        self._window = window_seconds
        self._backoff = backoff_seconds
        self._lock = threading.Lock()
        self._objects: dict[ObjectKey, _History] = {}

    def record_write(self, agent: AgentKey, obj: Mapping[str, Any], now: float) -> Loop | None:
        """Note that ``agent`` wrote ``obj``; returns the Loop when this write trips the guard."""
        key, content = object_key(obj), content_of(obj)
        with self._lock:
            history = self._objects.get(key)
            if history is None or history.content != content:
                # New content (a spec change, a rollout step): a fresh history, no loop.
                history = self._objects[key] = _History(agent, content)
            history.writes.append(now)
            while history.writes and history.writes[0] <= now - self._window:
                history.writes.popleft()
            if len(history.writes) <= self._max:
                return None
            history.trips += 1
            held_for = min(self._backoff * 2 ** (history.trips - 1), MAX_BACKOFF_SECONDS)
            history.held_until = now + held_for
            writes = len(history.writes)
            history.writes.clear()
            return Loop(key, writes, held_for)

    def held(self, obj: Mapping[str, Any], now: float) -> bool:
        """Whether writes of ``obj`` (with this content) are being held back."""
        with self._lock:
            history = self._objects.get(object_key(obj))
            return history is not None and history.content == content_of(obj) and now < history.held_until

    def looping(self, agent: AgentKey, now: float) -> list[ObjectKey]:
        """The children of ``agent`` whose writes are held back now, sorted."""
        with self._lock:
            return sorted(k for k, h in self._objects.items() if h.agent == agent and now < h.held_until)

    def forget(self, agent: AgentKey) -> None:
        """Drops the histories of a deleted agent's children."""
        with self._lock:
            for key in [k for k, h in self._objects.items() if h.agent == agent]:
                del self._objects[key]


def loop_message(keys: Sequence[ObjectKey], window_seconds: float = DEFAULT_WINDOW_SECONDS) -> str:
    """Names kind/name only: no value of the object, which could be a credential, is quoted."""
    names = ", ".join(f"{kind}/{name}" for kind, _, name in keys)
    return (
        f"the operator rewrote {names} with unchanged content more than {DEFAULT_MAX_WRITES} times in "
        f"{window_seconds / 60:.0f} minutes; writes are held back. Either another writer keeps changing "
        "it (see its managedFields) or the apiserver normalises a field the operator sets (an operator "
        "bug, please report it)"
    )[:MAX_MESSAGE]


def with_drift_condition(
    status: Mapping[str, Any], loops: Sequence[ObjectKey], generation: int | None, now: datetime
) -> dict[str, Any]:
    """``status`` with a DriftLoop condition while ``loops`` is not empty, and without one after."""
    if not loops and not any(c.get("type") == CONDITION for c in status.get("conditions") or []):
        return dict(status)
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != CONDITION]
    if loops:
        previous = next((c for c in status.get("conditions") or [] if c.get("type") == CONDITION), None)
        message = loop_message(loops)
        since = previous.get("lastTransitionTime") if previous and previous.get("status") == "True" else None
        condition: dict[str, Any] = {
            "type": CONDITION,
            "status": "True",
            "reason": "WriteLoop",
            "message": message,
            "lastTransitionTime": since or format_time(now),
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        conditions.append(condition)
    return {**status, "conditions": conditions}


def guard_plan(
    plan: ReconcilePlan,
    agent: Mapping[str, Any],
    tracker: DriftLoopTracker,
    now: float,
    wall_clock: datetime,
) -> ReconcilePlan:
    """``plan`` without the writes the tracker holds back, and with the agent's DriftLoop
    condition set or cleared; the status write stays None when nothing else changed."""
    meta = agent.get("metadata") or {}
    key: AgentKey = (str(meta.get("namespace")), str(meta.get("name")))
    apply = tuple(obj for obj in plan.apply if not tracker.held(obj, now))
    live: Mapping[str, Any] = agent.get("status") or {}
    base = plan.status if plan.status is not None else live
    status: dict[str, Any] | None = with_drift_condition(
        base, tracker.looping(key, now), meta.get("generation"), wall_clock
    )
    if status == live:
        status = None
    if apply == plan.apply and status == plan.status:
        return plan
    return replace(plan, apply=apply, status=status)
