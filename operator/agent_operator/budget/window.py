"""The daily budget window: from midnight to midnight in the budget's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """One day of spend, as UTC instants (a day is 23 or 25 hours across a DST change)."""

    start: datetime
    end: datetime
    timezone: str

    def elapsed_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.start).total_seconds())

    def remaining_seconds(self, now: datetime) -> float:
        return max(0.0, (self.end - now).total_seconds())

    def describe(self) -> str:
        zone = ZoneInfo(self.timezone)
        start = self.start.astimezone(zone)
        return f"{start:%Y-%m-%d} 00:00-24:00 {self.timezone}"


def _midnight(day: datetime, zone: ZoneInfo) -> datetime:
    # Where a DST change skips midnight, 00:00 read with the offset before the change is the
    # instant the local day starts (01:00 new time).
    return datetime.combine(day.date(), time(0), tzinfo=zone).astimezone(UTC)


def window_at(now: datetime, timezone: str) -> Window:
    """The window ``now`` falls in: today's midnight to tomorrow's, in ``timezone``."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = _midnight(local, zone)
    end = _midnight(local + timedelta(days=1), zone)
    if start > now:  # a midnight skipped by DST and normalised forward past now
        start = _midnight(local - timedelta(days=1), zone)
    return Window(start, end, timezone)
