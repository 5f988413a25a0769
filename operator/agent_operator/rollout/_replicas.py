"""Replica math of a replica-split canary: surge/unavailable bounds, the split for a weight, the
weight actually served, and one reconcile's bounded move toward a split.

The bound (see docs/rollouts.md, "Pod bounds"): with ``total`` replicas, ``surge`` and
``unavailable`` from :func:`resolve_bounds`, a rollout never has more than ``total + surge`` pods of
the two revisions, and never removes an available pod while that would leave fewer than
``total - unavailable`` available (pods that are not available may always be removed).
"""

from __future__ import annotations

import re

from .types import RevisionObservation

_PERCENT = re.compile(r"^\d+%$")


def _absolute(value: int | str, total: int, round_up: bool, field: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{field}: must be a non-negative integer or a percentage such as 25%")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field}: must be a non-negative integer or a percentage such as 25%")
        return value
    if isinstance(value, str) and _PERCENT.match(value):
        scaled = total * int(value[:-1])
        return -(-scaled // 100) if round_up else scaled // 100
    raise ValueError(f"{field}: must be a non-negative integer or a percentage such as 25%, not {value!r}")


def resolve_bounds(total: int, max_surge: int | str, max_unavailable: int | str) -> tuple[int, int]:
    """(surge, unavailable) in pods, as a Deployment resolves them: a percent surge rounds up, a
    percent unavailable rounds down, and when both come out 0 one pod may be unavailable, because
    otherwise no pod could ever be replaced."""
    if total < 0:
        raise ValueError(f"replicas: must not be negative, not {total}")
    surge = _absolute(max_surge, total, True, "maxSurge")
    unavailable = _absolute(max_unavailable, total, False, "maxUnavailable")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def canary_split(total: int, weight: int) -> tuple[int, int]:
    """(stable, canary) replicas for a canary weight in percent; they always add up to ``total``.

    The canary gets ``total * weight / 100`` rounded half up, but at least one pod for any weight
    above 0 and at most ``total - 1`` for any weight below 100 (when there are two pods or more),
    so a step that asks for a canary always runs one, and one that keeps the stable keeps one.
    With a single replica any weight strictly between 0 and 100 gives the canary the pod.
    """
    if total < 0:
        raise ValueError(f"replicas: must not be negative, not {total}")
    if not 0 <= weight <= 100:
        raise ValueError(f"weight: must be between 0 and 100, not {weight}")
    if total == 0 or weight == 0:
        return total, 0
    if weight == 100:
        return 0, total
    canary = max(1, _round_half_up(total * weight, 100))
    if total >= 2:
        canary = min(canary, total - 1)
    return total - canary, canary


def actual_weight(stable_ready: int, canary_ready: int) -> int:
    """Percent of ready pods that belong to the canary (0 when nothing is ready)."""
    ready = stable_ready + canary_ready
    if ready <= 0:
        return 0
    return _round_half_up(100 * canary_ready, ready)


def _footprint(observed: RevisionObservation) -> int:
    """Pods a revision may have until its next change takes effect."""
    return max(observed.replicas, observed.pods)


def _scale_down(current: int, target: int, observed: RevisionObservation, spare: int) -> tuple[int, int]:
    """Lowest replicas toward ``target`` that removes unavailable pods first and at most ``spare``
    available ones; returns (replicas, spare left)."""
    if current <= target:
        return current, spare
    # A Deployment deletes not-ready pods before ready ones when it scales down.
    not_available = max(0, current - observed.available)
    new = max(target, current - not_available - max(0, spare))
    removed_available = max(0, (current - new) - not_available)
    return new, spare - removed_available


def step_toward(
    target: tuple[int, int],
    stable: RevisionObservation,
    canary: RevisionObservation,
    total: int,
    surge: int,
    unavailable: int,
) -> tuple[int, int]:
    """(stable, canary) replicas for this reconcile, one bounded move toward ``target``.

    Scale-ups fit under ``total + surge`` counting the other revision at its current footprint
    (its pods before this reconcile's scale-down takes effect), so the ceiling holds whichever
    Deployment acts first. Scale-downs remove pods that are not available freely and available
    ones only while ``total - unavailable`` stay available. Works in every direction: canary up
    and stable down while rolling out, the reverse when replicas grow or a weight shrinks.
    """
    want_stable, want_canary = target
    ceiling = total + surge
    spare = stable.available + canary.available - max(0, total - unavailable)
    new_stable, spare = _scale_down(stable.replicas, want_stable, stable, spare)
    new_canary, spare = _scale_down(canary.replicas, want_canary, canary, spare)
    if new_stable < want_stable:
        new_stable = min(want_stable, max(stable.replicas, ceiling - _footprint(canary)))
    if new_canary < want_canary:
        new_canary = min(want_canary, max(canary.replicas, ceiling - _footprint(stable)))
    return new_stable, new_canary
