"""resolve_bounds, canary_split, actual_weight and step_toward, table-driven and exhaustive."""

from __future__ import annotations

import itertools

import pytest

from agent_operator.rollout import (
    RevisionObservation,
    actual_weight,
    canary_split,
    resolve_bounds,
    step_toward,
)


@pytest.mark.parametrize(
    ("total", "surge", "unavailable", "expected"),
    [
        (10, "25%", "25%", (3, 2)),  # surge rounds up, unavailable rounds down
        (4, "25%", "25%", (1, 1)),
        (1, "25%", 0, (1, 0)),
        (1, "25%", "25%", (1, 0)),
        (3, 0, 0, (0, 1)),  # both zero: one pod may be unavailable so progress is possible
        (0, "25%", "25%", (0, 1)),
        (5, 2, 1, (2, 1)),
        (5, "100%", "100%", (5, 5)),
        (5, "0%", "0%", (0, 1)),
        (7, "150%", 0, (11, 0)),
    ],
)
def test_resolve_bounds(
    total: int, surge: int | str, unavailable: int | str, expected: tuple[int, int]
) -> None:
    assert resolve_bounds(total, surge, unavailable) == expected


@pytest.mark.parametrize(
    ("surge", "unavailable"), [(-1, 0), (0, -1), ("25", 0), (0, "x%"), ("-5%", 0), (True, 0), ("2.5%", 0)]
)
def test_resolve_bounds_rejects_bad_values(surge: int | str, unavailable: int | str) -> None:
    with pytest.raises(ValueError, match="non-negative integer or a percentage"):
        resolve_bounds(4, surge, unavailable)


@pytest.mark.parametrize(("total", "weight"), list(itertools.product(range(21), range(101))))
def test_canary_split_invariants(total: int, weight: int) -> None:
    stable, canary = canary_split(total, weight)
    assert stable + canary == total
    assert stable >= 0
    assert canary >= 0
    if total == 0 or weight == 0:
        assert canary == 0
    elif weight == 100:
        assert stable == 0
    else:
        assert canary >= 1
        if total >= 2:
            assert stable >= 1
        # Never further from the asked weight than the clamps force it.
        exact = total * weight / 100
        clamped = min(max(exact, 1), total - 1) if total >= 2 else 1
        assert abs(canary - clamped) <= 0.5


@pytest.mark.parametrize(
    ("name", "total", "weight", "expected"),
    [
        ("no replicas", 0, 50, (0, 0)),
        ("weight 0", 5, 0, (5, 0)),
        ("weight 100", 5, 100, (0, 5)),
        ("single replica, small weight gets the pod", 1, 1, (0, 1)),
        ("single replica, half", 1, 50, (0, 1)),
        ("single replica, weight 0", 1, 0, (1, 0)),
        ("single replica, weight 100", 1, 100, (0, 1)),
        ("two replicas, 99% keeps a stable pod", 2, 99, (1, 1)),
        ("ten percent of ten", 10, 10, (9, 1)),
        ("round half up", 10, 25, (7, 3)),
        ("round half up at 5", 10, 5, (9, 1)),
        ("tiny weight still one canary", 20, 1, (19, 1)),
        ("just below a half rounds down", 3, 16, (3 - 1, 1)),
        ("half of three rounds up", 3, 50, (1, 2)),
        ("ninety-five of twenty", 20, 95, (1, 19)),
    ],
)
def test_canary_split_named_cases(name: str, total: int, weight: int, expected: tuple[int, int]) -> None:
    assert canary_split(total, weight) == expected, name


@pytest.mark.parametrize(("total", "weight"), [(-1, 10), (3, -1), (3, 101)])
def test_canary_split_rejects_out_of_range(total: int, weight: int) -> None:
    with pytest.raises(ValueError, match="must"):
        canary_split(total, weight)


@pytest.mark.parametrize(
    ("stable_ready", "canary_ready", "expected"),
    [(0, 0, 0), (5, 0, 0), (0, 3, 100), (3, 1, 25), (2, 1, 33), (1, 2, 67), (1, 1, 50), (7, 1, 13)],
)
def test_actual_weight(stable_ready: int, canary_ready: int, expected: int) -> None:
    assert actual_weight(stable_ready, canary_ready) == expected


def _obs(
    name: str, replicas: int, available: int | None = None, pods: int | None = None
) -> RevisionObservation:
    available = replicas if available is None else available
    pods = replicas if pods is None else pods
    return RevisionObservation(
        name,
        replicas=replicas,
        pods=pods,
        ready=available,
        available=available,
        exists=replicas > 0 or pods > 0,
    )


@pytest.mark.parametrize(
    ("name", "target", "stable", "canary", "bounds", "expected"),
    [
        ("canary first within surge", (3, 2), _obs("s", 5), _obs("c", 0), (5, 1, 0), (5, 1)),
        ("stable waits for the canary", (3, 2), _obs("s", 5), _obs("c", 1, 0), (5, 1, 0), (5, 1)),
        ("stable down once canary ready", (3, 2), _obs("s", 5), _obs("c", 1), (5, 1, 0), (4, 1)),
        ("both move with surge and unavailable", (3, 2), _obs("s", 5), _obs("c", 0), (5, 1, 1), (4, 1)),
        ("no surge: stable first", (3, 2), _obs("s", 5), _obs("c", 0), (5, 0, 1), (4, 0)),
        ("unavailable stable pods go first", (3, 2), _obs("s", 5, 3), _obs("c", 1), (5, 1, 0), (3, 1)),
        ("at target stays", (3, 2), _obs("s", 3), _obs("c", 2), (5, 1, 0), (3, 2)),
        ("replicas grew: both up", (6, 4), _obs("s", 3), _obs("c", 2), (10, 3, 0), (6, 4)),
        ("replicas shrank: both down", (2, 2), _obs("s", 6), _obs("c", 4), (4, 1, 0), (2, 2)),
        ("canary down, stable up (abort-like)", (5, 0), _obs("s", 3), _obs("c", 2), (5, 1, 0), (4, 2)),
        ("canary down once stable ready", (5, 0), _obs("s", 4), _obs("c", 2), (5, 1, 0), (4, 1)),
        (
            "surge counts pods still terminating",
            (3, 2),
            _obs("s", 4, pods=5),
            _obs("c", 1),
            (5, 1, 0),
            (4, 1),
        ),
        ("single replica", (0, 1), _obs("s", 1), _obs("c", 0), (1, 1, 0), (1, 1)),
        ("single replica swaps when ready", (0, 1), _obs("s", 1), _obs("c", 1), (1, 1, 0), (0, 1)),
    ],
)
def test_step_toward_table(
    name: str,
    target: tuple[int, int],
    stable: RevisionObservation,
    canary: RevisionObservation,
    bounds: tuple[int, int, int],
    expected: tuple[int, int],
) -> None:
    total, surge, unavailable = bounds
    assert step_toward(target, stable, canary, total, surge, unavailable) == expected, name


def _states(limit: int) -> list[RevisionObservation]:
    return [
        _obs("x", replicas, available) for replicas in range(limit + 1) for available in range(replicas + 1)
    ]


@pytest.mark.parametrize(
    ("total", "surge", "unavailable"), [(1, 1, 0), (3, 1, 0), (3, 0, 1), (4, 2, 1), (5, 0, 1)]
)
def test_step_toward_never_breaks_the_bounds(total: int, surge: int, unavailable: int) -> None:
    """Every small starting point and target: the planned sum never exceeds total + surge unless it
    already did, and available pods removed never take availability below total - unavailable."""
    ceiling, floor = total + surge, total - unavailable
    for stable, canary in itertools.product(_states(ceiling), repeat=2):
        for weight in range(0, 101, 10):
            target = canary_split(total, weight)
            new_stable, new_canary = step_toward(target, stable, canary, total, surge, unavailable)
            footprint = stable.replicas + canary.replicas
            assert new_stable + new_canary <= max(ceiling, footprint)
            # Scale-ups fit beside the other revision's current pods.
            if new_canary > canary.replicas:
                assert new_canary + stable.replicas <= ceiling
            if new_stable > stable.replicas:
                assert new_stable + canary.replicas <= ceiling
            # Available pods left if every removal takes unavailable pods first.
            left = min(stable.available, new_stable) + min(canary.available, new_canary)
            assert left >= min(floor, stable.available + canary.available)
            # Never moves away from the target.
            assert min(stable.replicas, target[0]) <= new_stable <= max(stable.replicas, target[0])
            assert min(canary.replicas, target[1]) <= new_canary <= max(canary.replicas, target[1])
