"""The daily window: midnight to midnight in budget.timezone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_operator.budget import window_at


@pytest.mark.parametrize(
    ("now", "zone", "start", "end"),
    [
        ("2026-12-02T12:00:00+00:00", "UTC", "2026-12-02T00:00:00+00:00", "2026-12-03T00:00:00+00:00"),
        ("2026-12-02T00:00:00+00:00", "UTC", "2026-12-02T00:00:00+00:00", "2026-12-03T00:00:00+00:00"),
        ("2026-12-02T23:59:59+00:00", "UTC", "2026-12-02T00:00:00+00:00", "2026-12-03T00:00:00+00:00"),
        # Berlin is UTC+1 in winter: its day starts at 23:00 UTC the evening before.
        (
            "2026-12-02T23:30:00+00:00",
            "Europe/Berlin",
            "2026-12-02T23:00:00+00:00",
            "2026-12-03T23:00:00+00:00",
        ),
        (
            "2026-12-02T22:30:00+00:00",
            "Europe/Berlin",
            "2026-12-01T23:00:00+00:00",
            "2026-12-02T23:00:00+00:00",
        ),
        # New York springs forward on 2026-03-08: that day has 23 hours.
        (
            "2026-03-08T12:00:00+00:00",
            "America/New_York",
            "2026-03-08T05:00:00+00:00",
            "2026-03-09T04:00:00+00:00",
        ),
        # ...and falls back on 2026-11-01: 25 hours.
        (
            "2026-11-01T12:00:00+00:00",
            "America/New_York",
            "2026-11-01T04:00:00+00:00",
            "2026-11-02T05:00:00+00:00",
        ),
        # Kathmandu is UTC+5:45.
        (
            "2026-12-02T12:00:00+00:00",
            "Asia/Kathmandu",
            "2026-12-01T18:15:00+00:00",
            "2026-12-02T18:15:00+00:00",
        ),
    ],
)
def test_window(now: str, zone: str, start: str, end: str) -> None:
    window = window_at(datetime.fromisoformat(now), zone)
    assert (window.start, window.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert window.start <= datetime.fromisoformat(now) < window.end


def test_elapsed_and_remaining() -> None:
    now = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
    window = window_at(now, "UTC")
    assert (window.elapsed_seconds(now), window.remaining_seconds(now)) == (18 * 3600, 6 * 3600)
    assert window.describe() == "2026-12-02 00:00-24:00 UTC"
