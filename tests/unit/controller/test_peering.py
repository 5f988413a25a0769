"""The HA gate follows kopf's rule: pause while a live peer has a higher priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_operator.controller.peering import outranked
from agent_operator.controller.timefmt import format_time

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def peer(priority: int, seen_ago: float, lifetime: int = 60) -> dict[str, object]:
    return {
        "priority": priority,
        "lifetime": lifetime,
        "lastseen": format_time(NOW - timedelta(seconds=seen_ago)),
    }


@pytest.mark.parametrize(
    ("peers", "expected"),
    [
        ({}, False),
        ({"me": peer(1, 0)}, False),
        ({"me": peer(1, 0), "other": peer(0, 5)}, False),
        ({"me": peer(1, 0), "other": peer(2, 5)}, True),
        ({"me": peer(1, 0), "other": peer(2, 120)}, False),  # dead: lastseen + lifetime passed
        ({"me": peer(1, 0), "other": {"priority": 5}}, False),  # never seen
        ({"me": peer(1, 0), "junk": "not a peer"}, False),
    ],
)
def test_outranked(peers: dict[str, object], expected: bool) -> None:
    assert outranked(peers, 1, NOW) is expected
