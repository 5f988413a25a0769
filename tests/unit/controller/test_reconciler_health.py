"""The liveness probe fails when the operator is alive but wedged."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from agent_operator.controller.reconciler import Reconciler
from agent_operator.kube import KubeApi


class _Blocking(Reconciler):
    """A reconcile that waits on an event: stands in for one hung on an API call."""

    def __init__(self, release: threading.Event) -> None:
        super().__init__(KubeApi(api_client=None))  # no call reaches the API in these tests
        self.release = release
        self.entered = threading.Event()

    def _reconcile_once(self, namespace: str, name: str) -> Any:
        with self._guard:
            self._in_flight[(namespace, name)] = time.monotonic()
        self.entered.set()
        self.release.wait(10)
        with self._guard:
            self._in_flight.pop((namespace, name), None)
        return type("Outcome", (), {"requeue_after": None, "writes": 0})()


def test_healthy_when_nothing_hangs() -> None:
    reconciler = Reconciler(KubeApi(api_client=None))
    assert reconciler.health(stuck_after=60) == {"reconciling": 0, "scheduled": 0}


def test_a_hung_reconcile_fails_the_probe_and_recovers() -> None:
    release = threading.Event()
    reconciler = _Blocking(release)
    worker = threading.Thread(target=reconciler.request, args=("agents", "bot"))
    worker.start()
    assert reconciler.entered.wait(10)
    with pytest.raises(RuntimeError, match="agents/bot"):
        reconciler.health(stuck_after=0)
    assert reconciler.health(stuck_after=3600)["reconciling"] == 1
    release.set()
    worker.join(10)
    assert reconciler.health(stuck_after=0)["reconciling"] == 0


def test_a_dead_wakeup_loop_fails_the_probe() -> None:
    reconciler = Reconciler(KubeApi(api_client=None))
    reconciler.start_wakeups()
    reconciler.stop()
    time.sleep(0.1)
    assert reconciler.health(stuck_after=60)  # stopped on purpose: healthy
    reconciler._stopped = False  # the loop died without a stop
    with pytest.raises(RuntimeError, match="wake-up loop"):
        reconciler.health(stuck_after=60)
