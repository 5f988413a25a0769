"""Spend measurements for the budget, run off the reconcile workers.

The planner asks for one (:class:`SpendJob`) when the next is due; :meth:`BudgetRunner.submit`
runs it once on a one-thread pool of its own (so a slow Prometheus delays neither reconciles nor
canary analysis), keeps the latest result per agent, and wakes the agent when it is in. The
Prometheus client, with its auth Secret, comes from the analysis runner's cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from ..api.analysis import Cost, PrometheusSource
from ..budget.measure import SpendError, SpendQuery, SpendUnknown, measure_spend
from ..budget.verdict import Spend
from ..kube import KubeError
from ..prom import PrometheusClient

_log = logging.getLogger(__name__)
Agent = tuple[str, str]


@dataclass(frozen=True)
class SpendJob:
    """One measurement: identified by the window it measures and when it was due."""

    fingerprint: str
    """Identifies the budget's measuring spec (Prometheus, cost, time zone)."""
    window_start: datetime
    due: datetime
    prometheus: PrometheusSource
    cost: Cost
    query: SpendQuery

    @property
    def key(self) -> tuple[str, datetime, datetime]:
        return (self.fingerprint, self.window_start, self.due)


@dataclass(frozen=True)
class SpendResult:
    job: SpendJob
    measured_at: datetime
    spend: Spend | None = None
    unknown: str | None = None
    """Prometheus did not answer (or refused): spend is unknown."""


class BudgetRunner:
    def __init__(
        self,
        client: Callable[[str, PrometheusSource], PrometheusClient],
        wake: Callable[[str, str], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._wake = wake
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="budget")
        self._lock = threading.Lock()
        self._results: dict[Agent, SpendResult] = {}
        self._pending: set[tuple[Agent, tuple[str, datetime, datetime]]] = set()

    def result(self, namespace: str, agent: str) -> SpendResult | None:
        with self._lock:
            return self._results.get((namespace, agent))

    def submit(self, namespace: str, agent: str, job: SpendJob | None) -> None:
        if job is None:
            return
        key = (namespace, agent)
        with self._lock:
            done = self._results.get(key)
            if (done is not None and done.job.key == job.key) or (key, job.key) in self._pending:
                return
            self._pending.add((key, job.key))
        self._pool.submit(self._run, namespace, agent, job)

    def forget(self, namespace: str, agent: str) -> None:
        with self._lock:
            self._results.pop((namespace, agent), None)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, namespace: str, agent: str, job: SpendJob) -> None:
        result: SpendResult | None = None
        try:
            client = self._client(namespace, job.prometheus)
            spend = measure_spend(client, job.cost, job.query)
            result = SpendResult(job, self._clock().replace(microsecond=0), spend=spend)
        except (SpendUnknown, SpendError, ValueError) as exc:
            result = SpendResult(job, self._clock().replace(microsecond=0), unknown=str(exc)[:512])
        except KubeError as exc:
            _log.warning("budget of %s/%s: reading its Prometheus Secret failed: %s", namespace, agent, exc)
        except Exception:
            _log.exception("budget of %s/%s: measuring spend failed", namespace, agent)
        finally:
            with self._lock:
                self._pending.discard(((namespace, agent), job.key))
                if result is not None:
                    self._results[(namespace, agent)] = result
        if result is not None:
            self._wake(namespace, agent)
