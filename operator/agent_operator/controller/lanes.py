"""The queued keys of the work queue, in fair order; not thread-safe (the queue holds its lock).

Each key is queued at most once, in the highest-priority lane it was asked for. Lanes are served
in strict priority; within a lane, groups of keys (namespaces) take turns, first come first
served inside a group.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from enum import IntEnum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Lane(IntEnum):
    """Priority of queued work; lower runs first."""

    FIRST = 0
    """A key that has never run (since it was first requested, or since ``forget``)."""
    REQUEST = 1
    """A change was seen, or a timer (resync, rollout step) fired."""
    RETRY = 2
    """Backoff after a failed run."""


class FairLanes(Generic[K]):
    def __init__(self, group: Callable[[K], Hashable]) -> None:
        self._group = group
        # Per lane: a FIFO per group, and the groups with work in the order they take turns.
        # Entries are never removed from the middle: a superseded one is skipped when popped.
        self._fifos: dict[Lane, dict[Hashable, deque[tuple[int, K]]]] = {lane: {} for lane in Lane}
        self._turns: dict[Lane, deque[Hashable]] = {lane: deque() for lane in Lane}
        self._queued: dict[K, tuple[Lane, int]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._queued)

    def push(self, key: K, lane: Lane) -> bool:
        """Queue ``key`` in ``lane`` unless it already waits in that lane or a better one."""
        current = self._queued.get(key)
        if current is not None and current[0] <= lane:
            return False
        self._seq += 1
        self._queued[key] = (lane, self._seq)
        group = self._group(key)
        fifo = self._fifos[lane].get(group)
        if fifo is None:
            fifo = self._fifos[lane][group] = deque()
            self._turns[lane].append(group)
        fifo.append((self._seq, key))
        return True

    def discard(self, key: K) -> None:
        self._queued.pop(key, None)

    def pop(self) -> K | None:
        """The next key to run, or None when nothing is queued."""
        for lane in Lane:
            turns, fifos = self._turns[lane], self._fifos[lane]
            while turns:
                group = turns.popleft()
                fifo = fifos[group]
                found = None
                while fifo and found is None:
                    seq, key = fifo.popleft()
                    if self._queued.get(key) == (lane, seq):  # else superseded or discarded
                        found = key
                if fifo:
                    turns.append(group)  # its next key waits for the other groups' turns
                else:
                    del fifos[group]
                if found is not None:
                    del self._queued[found]
                    return found
        return None
