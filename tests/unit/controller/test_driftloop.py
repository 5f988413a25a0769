"""The DriftLoop guard: pure rules, table-tested with an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent_operator.controller.diff import with_applied_hash
from agent_operator.controller.driftloop import (
    CONDITION,
    DriftLoopTracker,
    guard_plan,
    loop_message,
    with_drift_condition,
)
from agent_operator.controller.plan import ReconcilePlan

AGENT = ("agents", "support-bot")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _deployment(replicas: int = 1, name: str = "support-bot-stable") -> dict[str, Any]:
    return with_applied_hash(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "agents"},
            "spec": {"replicas": replicas},
        }
    )


def _agent(status: dict[str, Any] | None = None, generation: int = 3) -> dict[str, Any]:
    meta = {"name": "support-bot", "namespace": "agents", "generation": generation}
    body: dict[str, Any] = {"metadata": meta}
    if status is not None:
        body["status"] = status
    return body


@pytest.mark.parametrize(
    ("times", "trips_at"),
    [
        ([0, 60, 120, 180], None),  # four writes: the limit, not beyond it
        ([0, 60, 120, 180, 240], 4),  # the fifth within ten minutes trips
        ([0, 200, 400, 600, 800, 1000], None),  # spread out: the window forgets old writes
        ([0, 1, 2, 3, 700, 701, 702, 703], None),
    ],
)
def test_identical_rewrites_trip_only_beyond_the_limit_within_the_window(
    times: list[float], trips_at: int | None
) -> None:
    tracker = DriftLoopTracker(max_writes=4, window_seconds=600)
    tripped = [i for i, t in enumerate(times) if tracker.record_write(AGENT, _deployment(), t) is not None]
    assert tripped == ([] if trips_at is None else [trips_at])


def test_changed_content_is_never_a_loop() -> None:
    """A rollout step rewrites the same Deployment with new replicas: progress, not a loop."""
    tracker = DriftLoopTracker(max_writes=2, window_seconds=600)
    assert all(tracker.record_write(AGENT, _deployment(replicas=r), r) is None for r in range(10))


def test_a_loop_holds_writes_back_doubling_and_names_only_kind_and_name() -> None:
    tracker = DriftLoopTracker(max_writes=1, window_seconds=600, backoff_seconds=100)
    obj = _deployment()
    assert tracker.record_write(AGENT, obj, 0) is None
    loop = tracker.record_write(AGENT, obj, 1)
    assert loop is not None
    assert (loop.key, loop.writes, loop.held_for) == (("Deployment", "agents", "support-bot-stable"), 2, 100)
    assert tracker.held(obj, 50)
    assert not tracker.held(_deployment(replicas=2), 50), "new content is written at once"
    assert tracker.looping(AGENT, 50) == [("Deployment", "agents", "support-bot-stable")]
    assert tracker.looping(("other", "agent"), 50) == []
    assert not tracker.held(obj, 101)
    tracker.record_write(AGENT, obj, 102)
    second = tracker.record_write(AGENT, obj, 103)
    assert second is not None
    assert second.held_for == 200
    tracker.forget(AGENT)
    assert tracker.looping(AGENT, 104) == []


def test_message_is_redacted_by_construction() -> None:
    message = loop_message([("Deployment", "agents", "support-bot-stable")])
    assert "Deployment/support-bot-stable" in message
    assert "agents" not in message.replace("support-bot", "")


def test_condition_is_set_kept_and_cleared() -> None:
    status = {"phase": "Available", "conditions": [{"type": "Ready", "status": "True"}]}
    loops = [("Deployment", "agents", "x")]
    looped = with_drift_condition(status, loops, 3, NOW)
    assert [c["type"] for c in looped["conditions"]] == ["Ready", CONDITION]
    later = with_drift_condition(looped, loops, 3, datetime(2027, 1, 1, tzinfo=UTC))
    assert later == looped, "an unchanged loop keeps its transition time: no status write"
    assert with_drift_condition(looped, [], 3, NOW) == status
    assert with_drift_condition(status, [], 3, NOW) == status


def test_guard_plan_drops_held_writes_and_costs_no_status_write_once_reported() -> None:
    tracker = DriftLoopTracker(max_writes=1, window_seconds=600, backoff_seconds=100)
    looping, other = _deployment(), _deployment(name="support-bot-canary")
    tracker.record_write(AGENT, looping, 0)
    assert tracker.record_write(AGENT, looping, 1) is not None
    plan = ReconcilePlan(apply=(looping, other))

    first = guard_plan(plan, _agent({"phase": "Available"}), tracker, 2, NOW)
    assert first.apply == (other,)
    assert first.status is not None
    assert [c["type"] for c in first.status["conditions"]] == [CONDITION]

    settled = guard_plan(ReconcilePlan(apply=(looping,)), _agent(first.status), tracker, 3, NOW)
    assert settled.apply == ()
    assert settled.status is None

    # The planner rebuilds status without the condition; the guard keeps it, so no write.
    rebuilt = {"phase": "Available", "conditions": []}
    assert guard_plan(ReconcilePlan(status=rebuilt), _agent(first.status), tracker, 4, NOW).status is None

    # After the hold, the condition clears with one status write.
    cleared = guard_plan(ReconcilePlan(), _agent(first.status), tracker, 500, NOW)
    assert cleared.status == {"phase": "Available", "conditions": []}


def test_an_agent_without_loops_gets_its_plan_back_unchanged() -> None:
    plan = ReconcilePlan(apply=(_deployment(),), status={"phase": "Available"})
    assert guard_plan(plan, _agent(), DriftLoopTracker(), 0, NOW) is plan
