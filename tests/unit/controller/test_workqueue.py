"""The work queue, tested through its public interface only.

Time is a fake clock passed to the constructor and advanced by the test; concurrency is driven by
threading events. Nothing here asserts on how long anything took: waits have generous timeouts
that only bound a failing test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from agent_operator.controller.workqueue import Backoff, Outcome, WorkQueue

WAIT = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A work function: records each run; per-key behaviour is set by the test."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.failing: set[str] = set()
        self.blocking: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self.on_run: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self.running: set[str] = set()
        self.overlaps: list[str] = []

    def block(self, key: str) -> threading.Event:
        self.entered[key] = threading.Event()
        release = self.blocking[key] = threading.Event()
        return release

    def __call__(self, key: str) -> Outcome:
        with self._lock:
            if key in self.running:
                self.overlaps.append(key)
            self.running.add(key)
            self.runs.append(key)
        try:
            if key in self.on_run:
                self.on_run.pop(key)()
            if key in self.blocking:
                self.entered[key].set()
                self.blocking.pop(key).wait(WAIT)
            return Outcome(failed=key in self.failing)
        finally:
            with self._lock:
                self.running.discard(key)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def work() -> Recorder:
    return Recorder()


@pytest.fixture
def queues() -> Iterator[list[WorkQueue[str]]]:
    made: list[WorkQueue[str]] = []
    yield made
    for queue in made:
        queue.stop()


def make(queues: list[WorkQueue[str]], work: Recorder, clock: FakeClock, **kwargs: object) -> WorkQueue[str]:
    queue: WorkQueue[str] = WorkQueue(work, clock=clock, **kwargs)  # type: ignore[arg-type]
    queues.append(queue)
    return queue


def test_a_key_requested_while_queued_runs_once(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue = make(queues, work, clock, workers=1)
    for key in ("a", "a", "b", "a"):
        queue.add(key)
    queue.start()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a", "b"]


def test_a_key_requested_while_running_runs_once_more_never_twice_at_once(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    queue = make(queues, work, clock, workers=4)
    release = work.block("a")
    queue.start()
    queue.add("a")
    assert work.entered["a"].wait(WAIT)
    queue.add("a")
    queue.add("a")
    release.set()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a", "a"]
    assert work.overlaps == []


def test_distinct_keys_run_in_parallel(queues: list, work: Recorder, clock: FakeClock) -> None:
    both = threading.Barrier(2, timeout=WAIT)
    met: list[str] = []
    work.on_run["a"] = lambda: met.append("a") if both.wait() is not None else None
    work.on_run["b"] = lambda: met.append("b") if both.wait() is not None else None
    queue = make(queues, work, clock, workers=2)
    queue.start()
    queue.add("a")
    queue.add("b")
    assert queue.wait_idle(WAIT)
    assert sorted(met) == ["a", "b"]  # each got past the barrier: they ran at the same time


def test_only_the_earliest_wakeup_is_kept_and_a_run_covers_the_others(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    queue = make(queues, work, clock, workers=1)
    queue.start()
    for delay in (10, 5, 20):
        queue.add_after("a", delay)
    assert queue.due_in("a") == pytest.approx(5)
    clock.advance(4)
    queue.poll()
    assert work.runs == []
    clock.advance(1)
    queue.poll()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a"]
    assert queue.due_in("a") is None
    clock.advance(30)
    queue.poll()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a"]


def test_a_successful_run_schedules_the_resync_and_its_requeue(queues: list, clock: FakeClock) -> None:
    queue: WorkQueue[str] = WorkQueue(lambda key: Outcome(requeue_after=7), clock=clock, resync=60)
    queues.append(queue)
    queue.start()
    queue.add("a")
    assert queue.wait_idle(WAIT)
    assert queue.due_in("a") == pytest.approx(7)


def test_backoff_doubles_is_capped_and_resets_on_success(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    queue = make(queues, work, clock, workers=1, backoff=Backoff(base=1, cap=4))
    queue.start()
    work.failing.add("a")
    queue.add("a")
    seen = []
    for attempt in range(4):
        assert queue.wait_idle(WAIT)
        delay = queue.due_in("a")
        assert delay is not None
        seen.append(delay)
        if attempt == 3:
            work.failing.clear()  # the next retry succeeds
        clock.advance(delay)
        queue.poll()
    assert seen == [1, 2, 4, 4]
    assert queue.wait_idle(WAIT)
    assert queue.failures("a") == 0
    assert queue.due_in("a") is None
    work.failing.add("a")
    queue.add("a")
    assert queue.wait_idle(WAIT)
    assert queue.due_in("a") == pytest.approx(1)


def test_forget_resets_backoff_and_drops_wakeups(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue = make(queues, work, clock, workers=1, backoff=Backoff(base=1, cap=100))
    queue.start()
    work.failing.add("a")
    queue.add("a")
    assert queue.wait_idle(WAIT)
    queue.add("a")
    assert queue.wait_idle(WAIT)
    assert queue.failures("a") == 2
    queue.forget("a")
    assert queue.failures("a") == 0
    assert queue.due_in("a") is None
    clock.advance(100)
    queue.poll()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a", "a"]


def test_forget_during_a_run_schedules_nothing_after_it(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    queue = make(queues, work, clock, workers=1, resync=60)
    release = work.block("a")
    queue.start()
    queue.add("a")
    assert work.entered["a"].wait(WAIT)
    queue.add("a")  # dirty
    queue.forget("a")
    release.set()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["a"]
    assert queue.due_in("a") is None


def test_a_new_key_never_waits_behind_retries(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue = make(queues, work, clock, workers=1, backoff=Backoff(base=1, cap=1))
    queue.start()
    work.failing.update({"bad1", "bad2", "bad3"})
    for key in ("bad1", "bad2", "bad3", "good"):
        queue.add(key)
    assert queue.wait_idle(WAIT)
    release = work.block("hold")
    queue.add("hold")
    assert work.entered["hold"].wait(WAIT)
    clock.advance(1)
    queue.poll()  # the three retries are due now, and wait for the worker
    queue.add("good")  # a known agent changed
    queue.add("new")  # a new agent
    release.set()
    assert queue.wait_idle(WAIT)
    assert work.runs[5:] == ["new", "good", "bad1", "bad2", "bad3"]


def test_under_a_burst_every_key_runs_once_before_any_runs_twice(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    queue = make(queues, work, clock, workers=1)
    first = [f"k{i}" for i in range(10)]
    late = [f"late{i}" for i in range(5)]
    for key in first:
        work.on_run[key] = lambda key=key: queue.add(key)  # type: ignore[misc]
    work.on_run["k0"] = lambda: [queue.add(k) for k in ["k0", *late]] and None  # type: ignore[func-returns-value]
    for key in first:
        queue.add(key)
    queue.start()
    assert queue.wait_idle(WAIT)
    assert sorted(work.runs[:15]) == sorted(first + late)
    assert sorted(work.runs[15:]) == sorted(first)


def test_groups_take_turns_within_a_lane(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue: WorkQueue[str] = WorkQueue(work, clock=clock, workers=1, group=lambda key: key.split("/")[0])
    queues.append(queue)
    for key in ("noisy/1", "noisy/2", "noisy/3", "noisy/4", "quiet/1", "other/1", "quiet/2"):
        queue.add(key)
    queue.start()
    assert queue.wait_idle(WAIT)
    assert work.runs == ["noisy/1", "quiet/1", "other/1", "noisy/2", "quiet/2", "noisy/3", "noisy/4"]


def test_a_run_over_budget_is_reported_once_and_does_not_block_others(
    queues: list, work: Recorder, clock: FakeClock
) -> None:
    reports: list[tuple[str, float]] = []
    reported = threading.Event()

    def report(key: str, seconds: float) -> None:
        reports.append((key, seconds))
        reported.set()

    queue = make(queues, work, clock, workers=1, budget=10, on_over_budget=report)
    release = work.block("slow")
    queue.start()
    queue.add("slow")
    assert work.entered["slow"].wait(WAIT)
    clock.advance(11)
    queue.poll()  # or the wake-up thread does: either way, one report
    assert reported.wait(WAIT)
    queue.poll()
    assert reports == [("slow", 11)]
    assert queue.health().over_budget == 1
    quick = threading.Event()
    work.on_run["quick"] = quick.set
    queue.add("quick")
    assert quick.wait(WAIT)  # ran on a spare worker while "slow" still holds the only one
    release.set()
    assert queue.wait_idle(WAIT)
    assert queue.health().over_budget == 0


def test_health_reports_how_long_each_run_has_taken(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue = make(queues, work, clock, workers=2)
    release = work.block("a")
    queue.start()
    queue.add("a")
    queue.add_after("b", 50)
    assert work.entered["a"].wait(WAIT)
    clock.advance(30)
    health = queue.health()
    assert health.in_flight == {"a": 30}
    assert health.scheduled == 1
    assert health.wakeups_alive
    release.set()
    assert queue.wait_idle(WAIT)
    assert queue.health().in_flight == {}


def test_health_tells_when_the_wakeup_loop_died(queues: list, work: Recorder, clock: FakeClock) -> None:
    def explode(key: str, seconds: float) -> None:
        raise RuntimeError("boom")

    queue = make(queues, work, clock, workers=1, budget=1, tick=0.01, on_over_budget=explode)
    release = work.block("a")
    queue.start()
    queue.add("a")
    assert work.entered["a"].wait(WAIT)
    clock.advance(2)  # the wake-up loop's next poll calls the exploding callback
    died = threading.Event()
    for _ in range(1000):
        if not queue.health().wakeups_alive:
            died.set()
            break
        died.wait(0.01)
    release.set()
    assert died.is_set()


def test_a_stopped_queue_is_healthy(queues: list, work: Recorder, clock: FakeClock) -> None:
    queue = make(queues, work, clock)
    queue.start()
    queue.stop()
    assert queue.health().wakeups_alive
