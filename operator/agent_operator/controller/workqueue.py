"""A work queue of keys for one work function, run on a bounded pool of worker threads.

- Coalescing: a key requested while queued is queued once. The dirty flag: a key requested while
  it runs runs once more afterwards, never twice at once; distinct keys run in parallel.
- Delayed wake-ups keep only the earliest per key, and a run covers every wake-up requested
  before it started (a level-based reconcile re-derives all of its timers).
- Per-key exponential backoff after a failed run, capped, reset on success and on ``forget``.
- Fairness by strict priority between lanes: a key's first run ever, then requests and timers,
  then backoff retries. Under a burst every key runs once before any runs twice, and a new key
  never waits behind the retries of failing ones. Within a lane, groups of keys (namespaces)
  take turns, so a burst in one group does not delay the others.
- A time budget per run: a run over budget is reported once, and a spare worker joins the pool
  while it lasts, so one hung run does not hold up the others.
- Health: how long each in-flight run has taken, and whether the wake-up loop is alive.

Time comes from the injected monotonic ``clock``; :meth:`poll` queues due wake-ups and checks
budgets, and the wake-up thread started by :meth:`start` calls it at least every ``tick``.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .lanes import FairLanes, Lane

_log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Outcome:
    """What one run of the work function asks of the queue."""

    requeue_after: float | None = None
    """Run again after this many seconds (besides the periodic resync)."""
    failed: bool = False
    """A transient failure: retry after the key's backoff instead of the resync."""
    writes: int = 0


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: ``base``, twice that, four times, … up to ``cap`` seconds."""

    base: float = 1.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        return float(min(self.base * 2 ** max(failures - 1, 0), self.cap))


@dataclass(frozen=True)
class QueueHealth(Generic[K]):
    in_flight: dict[K, float]
    """Seconds each running key has been running."""
    queued: int
    scheduled: int
    over_budget: int
    wakeups_alive: bool


class WorkQueue(Generic[K]):
    """Runs ``work(key)`` for requested keys; see the module docstring for the guarantees."""

    def __init__(
        self,
        work: Callable[[K], Outcome],
        *,
        workers: int = 16,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff = Backoff(),
        resync: float | None = None,
        budget: float = 60.0,
        tick: float = 1.0,
        on_over_budget: Callable[[K, float], None] | None = None,
        group: Callable[[K], Hashable] = lambda key: None,
    ) -> None:
        self._work = work
        self._workers = workers
        self._clock = clock
        self._backoff = backoff
        self._resync = resync
        self._budget = budget
        self._tick = tick
        self._on_over_budget = on_over_budget
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)
        self._timer_wake = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._queued: FairLanes[K] = FairLanes(group)
        self._seq = 0
        self._processing: dict[K, float] = {}
        self._dirty: set[K] = set()
        self._dropped: set[K] = set()
        self._ran: set[K] = set()
        self._failures: dict[K, int] = {}
        self._due: dict[K, tuple[float, Lane]] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._over_budget: set[K] = set()
        self._threads = 0
        self._stopped = False
        self._timer: threading.Thread | None = None

    # -- requests --------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Run ``key`` as soon as a worker is free (or once more after its current run)."""
        with self._lock:
            self._dropped.discard(key)
            self._enqueue(key, Lane.REQUEST)

    def add_after(self, key: K, delay: float) -> None:
        """Run ``key`` in ``delay`` seconds; only the earliest pending wake-up per key is kept."""
        with self._lock:
            self._dropped.discard(key)
            self._schedule(key, delay, Lane.REQUEST)

    def forget(self, key: K) -> None:
        """Drop everything about ``key``: queued work, wake-ups, backoff. A run in progress
        finishes, but schedules nothing."""
        with self._lock:
            self._queued.discard(key)
            self._due.pop(key, None)
            self._dirty.discard(key)
            self._failures.pop(key, None)
            self._ran.discard(key)
            if key in self._processing:
                self._dropped.add(key)

    # -- inspection ------------------------------------------------------------------------------

    def due_in(self, key: K) -> float | None:
        """Seconds until the key's pending wake-up, or None without one."""
        with self._lock:
            due = self._due.get(key)
            return None if due is None else due[0] - self._clock()

    def failures(self, key: K) -> int:
        """Consecutive failed runs of the key (what its backoff is based on)."""
        with self._lock:
            return self._failures.get(key, 0)

    def health(self) -> QueueHealth[K]:
        with self._lock:
            now = self._clock()
            alive = self._stopped or self._timer is None or self._timer.is_alive()
            return QueueHealth(
                in_flight={key: now - started for key, started in self._processing.items()},
                queued=len(self._queued),
                scheduled=len(self._due),
                over_budget=len(self._over_budget),
                wakeups_alive=alive,
            )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (wake-ups may be pending); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._queued or self._processing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
            return True

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the wake-up thread (daemons: they never block exit)."""
        with self._lock:
            for _ in range(self._workers):
                self._spawn_worker()
        self._timer = threading.Thread(target=self._run_wakeups, name="wakeups", daemon=True)
        self._timer.start()

    def stop(self) -> None:
        """Stop taking work; runs in progress finish on their own."""
        with self._lock:
            self._stopped = True
            self._work_ready.notify_all()
            self._timer_wake.notify_all()
            self._idle.notify_all()

    def poll(self) -> None:
        """Queue every wake-up that is due, and report runs over their time budget."""
        late: list[tuple[K, float]] = []
        with self._lock:
            now = self._clock()
            while self._heap and self._heap[0][0] <= now:
                due, _, key = heapq.heappop(self._heap)
                pending = self._due.get(key)
                if pending is not None and pending[0] == due:
                    del self._due[key]
                    self._enqueue(key, pending[1])
            for key, started in self._processing.items():
                if now - started > self._budget and key not in self._over_budget:
                    self._over_budget.add(key)
                    late.append((key, now - started))
            while self._threads < self._workers + len(self._over_budget) and not self._stopped:
                self._spawn_worker()
        for key, seconds in late:
            _log.warning(
                "reconcile of %s is over its %.0fs budget (%.0fs so far)", key, self._budget, seconds
            )
            if self._on_over_budget is not None:
                self._on_over_budget(key, seconds)

    # -- internals (call with the lock held) ------------------------------------------------------

    def _enqueue(self, key: K, lane: Lane) -> None:
        if key not in self._ran:
            lane = Lane.FIRST
        if key in self._processing:
            self._dirty.add(key)
            return
        if self._queued.push(key, lane):
            self._work_ready.notify()

    def _schedule(self, key: K, delay: float, lane: Lane) -> None:
        due = self._clock() + max(delay, 0.0)
        pending = self._due.get(key)
        if pending is not None and (pending[0], pending[1]) <= (due, lane):
            return
        self._due[key] = (due, lane)
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key))
        self._timer_wake.notify()

    def _spawn_worker(self) -> None:
        self._threads += 1
        threading.Thread(target=self._run_worker, name="reconcile", daemon=True).start()

    def _surplus(self) -> bool:
        return self._stopped or self._threads > self._workers + len(self._over_budget)

    # -- threads ---------------------------------------------------------------------------------

    def _run_worker(self) -> None:
        while True:
            with self._lock:
                key = None
                while key is None:
                    if self._surplus():
                        self._threads -= 1
                        return
                    key = self._queued.pop()
                    if key is None:
                        self._work_ready.wait()
                self._processing[key] = self._clock()
                self._ran.add(key)
                # This run covers every wake-up asked for before it started.
                self._due.pop(key, None)
            outcome = Outcome(failed=True)
            try:
                outcome = self._work(key)
            except Exception:
                _log.exception("reconcile of %s failed unexpectedly", key)
            finally:
                self._finish(key, outcome)

    def _finish(self, key: K, outcome: Outcome) -> None:
        with self._lock:
            del self._processing[key]
            self._over_budget.discard(key)
            if key in self._dropped:
                self._dropped.discard(key)
            elif outcome.failed:
                failures = self._failures[key] = self._failures.get(key, 0) + 1
                self._schedule(key, self._backoff.delay(failures), Lane.RETRY)
            else:
                self._failures.pop(key, None)
                if self._resync is not None:
                    self._schedule(key, self._resync, Lane.REQUEST)
                if outcome.requeue_after is not None:
                    self._schedule(key, outcome.requeue_after, Lane.REQUEST)
            if key in self._dirty:
                self._dirty.discard(key)
                self._enqueue(key, Lane.REQUEST)
            # Wake idle workers too: a spare one started for an overrun may now leave.
            self._work_ready.notify_all()
            self._idle.notify_all()

    def _run_wakeups(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._stopped:
                        return
                    timeout = self._tick
                    if self._heap:
                        timeout = min(timeout, max(self._heap[0][0] - self._clock(), 0.0))
                    self._timer_wake.wait(timeout)
                    if self._stopped:
                        return
                self.poll()
        except Exception:
            # health() reports the dead loop, and the liveness probe restarts the operator.
            _log.exception("the wake-up loop died: resyncs and rollout timers will not fire")
