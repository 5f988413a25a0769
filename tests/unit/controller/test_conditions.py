"""kstatus conditions keep their transition time while nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_operator.controller.conditions import Cond, build_conditions

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def test_order_and_generation() -> None:
    out = build_conditions(
        [Cond("Stalled", "False", "NotStalled"), Cond("Ready", "True", "Available")], None, 4, T0
    )
    assert [c["type"] for c in out] == ["Ready", "Stalled"]
    assert all(c["observedGeneration"] == 4 for c in out)
    assert out[0]["lastTransitionTime"] == "2026-11-21T12:00:00Z"


def test_transition_time_kept_while_status_unchanged_and_moved_when_it_flips() -> None:
    first = build_conditions([Cond("Ready", "False", "Progressing", "waiting")], None, 1, T0)
    later = T0 + timedelta(minutes=5)
    same = build_conditions([Cond("Ready", "False", "WaitingForPods", "still waiting")], first, 1, later)
    assert same[0]["lastTransitionTime"] == first[0]["lastTransitionTime"]
    flipped = build_conditions([Cond("Ready", "True", "Available")], same, 1, later)
    assert flipped[0]["lastTransitionTime"] == "2026-11-21T12:05:00Z"


def test_long_messages_are_capped() -> None:
    out = build_conditions([Cond("Ready", "False", "X", "m" * 5000)], None, None, T0)
    assert len(out[0]["message"]) == 1024
    assert "observedGeneration" not in out[0]
