"""The budget's clock: the system clock, or a clock a file sets (drills and tests).

The daily window resets at midnight; nobody should wait for midnight to see it happen. With
``agentctl run --budget-clock-file PATH`` the budget reads the time from PATH (RFC 3339) plus the
time passed since the file was last written: writing 23:59:50 makes midnight ten seconds away,
and writing a new time moves the clock at once. Only the budget's window, measurement schedule
and overrides use it; rollouts, analysis and status times keep the system clock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .timefmt import parse_time


class FileClock:
    def __init__(self, path: Path, system: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._path = path
        self._system = system
        self._lock = threading.Lock()
        self._seen: tuple[int, datetime | None] = (-1, None)

    def __call__(self) -> datetime:
        now = self._system()
        try:
            stat = os.stat(self._path)
        except OSError:
            return now  # no file: the system clock
        with self._lock:
            if stat.st_mtime_ns != self._seen[0]:
                self._seen = (stat.st_mtime_ns, parse_time(self._path.read_text().strip()))
            base = self._seen[1]
        if base is None:
            return now
        written = datetime.fromtimestamp(stat.st_mtime_ns / 1e9, UTC)
        return base + max(now - written, timedelta(0))
