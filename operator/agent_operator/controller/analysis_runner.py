"""Measurements of spec.analysis, run off the reconcile workers.

The planner asks for measurements (:class:`MeasureJob`); the reconciler hands them to
:meth:`AnalysisRunner.submit`, which runs each once on a small bounded pool and keeps the result,
keyed by agent, analysis spec fingerprint, revision, step and due time. The next reconcile reads
the results as part of its observation (:meth:`AnalysisRunner.results`), and a finished
measurement wakes its agent up. A slow or unreachable Prometheus (client retries, timeouts) so
holds up only this pool, never a reconcile.

The Prometheus auth Secret is read here, on the pool, once per measurement: the client is cached
per address and Secret resourceVersion. Its values go to the client only, never to a log, status
or Event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from ..analysis.measure import AnalysisError, Revisions, client_for, measure
from ..api.analysis import Analysis, PrometheusSource
from ..kube import KubeApi, KubeError
from ..kube.kinds import SECRET
from ..prom import PrometheusClient
from ..rollout.types import AnalysisRequest, AnalysisRun

_log = logging.getLogger(__name__)
Agent = tuple[str, str]
ResultKey = tuple[str, str, int | None, datetime]
"""(fingerprint, revision, step, due)."""
RESULTS_KEPT = 8
"""Results kept per agent: the machine only ever asks for the next measurement of each kind."""
ERROR_TTL_SECONDS = 30.0
"""A failed setup (rejected query, missing Secret) is tried again this long after, so a fixed
Secret is picked up without a spec change."""


def fingerprint(analysis: Analysis) -> str:
    """Identifies spec.analysis: results measured under an older spec are not used."""
    text = json.dumps(analysis.to_wire(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class MeasureJob:
    """One measurement the planner wants: the rollout machine's request plus the spec it runs."""

    fingerprint: str
    analysis: Analysis
    request: AnalysisRequest


@dataclass(frozen=True)
class AnalysisResult:
    """A finished measurement, or why it could not run (``error`` names the metric or Secret)."""

    fingerprint: str
    revision: str
    run: AnalysisRun | None = None
    error: str | None = None
    job: MeasureJob | None = None
    """With an error: the job, which the planner submits again (it reruns once the error is stale)."""
    finished: float = 0.0
    """time.monotonic() when it finished."""


class AnalysisRunner:
    def __init__(
        self,
        kube: KubeApi,
        wake: Callable[[str, str], None],
        clock: Callable[[], datetime],
        workers: int = 2,
    ) -> None:
        self._kube = kube
        self._wake = wake
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analysis")
        self._lock = threading.Lock()
        self._results: dict[Agent, OrderedDict[ResultKey, AnalysisResult]] = {}
        self._pending: set[tuple[Agent, ResultKey]] = set()
        self._clients: dict[tuple[str, str | None, str, int], PrometheusClient] = {}

    def results(self, namespace: str, agent: str) -> tuple[AnalysisResult, ...]:
        """Finished measurements of the agent; an error stays until a new attempt replaces it."""
        with self._lock:
            return tuple(self._results.get((namespace, agent), {}).values())

    def submit(self, namespace: str, agent: str, jobs: Sequence[MeasureJob]) -> None:
        """Start the measurements not already finished or running."""
        now = time.monotonic()
        for job in jobs:
            r = job.request
            key: ResultKey = (job.fingerprint, r.revision, r.step, r.due)
            with self._lock:
                kept = self._results.get((namespace, agent))
                done = kept.get(key) if kept is not None else None
                fresh = done is not None and (done.error is None or now - done.finished < ERROR_TTL_SECONDS)
                if fresh or ((namespace, agent), key) in self._pending:
                    continue
                self._pending.add(((namespace, agent), key))
            self._pool.submit(self._run, namespace, agent, key, job)

    def forget(self, namespace: str, agent: str) -> None:
        with self._lock:
            self._results.pop((namespace, agent), None)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, namespace: str, agent: str, key: ResultKey, job: MeasureJob) -> None:
        result: AnalysisResult | None = None
        request = job.request
        try:
            client = self.client(namespace, job.analysis.prometheus)
            revisions = Revisions(namespace, agent, request.revision, request.stable, request.window_seconds)
            verdict = measure(client, job.analysis, revisions, names=request.metrics)
            # Second precision, as status stores it: the next due time is computed from it.
            at = self._clock().replace(microsecond=0)
            run = AnalysisRun(request.revision, request.step, request.due, at, verdict)
            result = AnalysisResult(job.fingerprint, request.revision, run=run)
        except (AnalysisError, ValueError) as exc:
            result = AnalysisResult(job.fingerprint, request.revision, error=str(exc), job=job)
        except KubeError as exc:
            # Reading the Secret failed for a transient reason: the next reconcile asks again.
            _log.warning("analysis of %s/%s: reading its Prometheus Secret failed: %s", namespace, agent, exc)
        except Exception:
            _log.exception("analysis of %s/%s failed", namespace, agent)
        finally:
            with self._lock:
                self._pending.discard(((namespace, agent), key))
                if result is not None:
                    kept = self._results.setdefault((namespace, agent), OrderedDict())
                    kept[key] = replace(result, finished=time.monotonic())
                    while len(kept) > RESULTS_KEPT:
                        kept.popitem(last=False)
        if result is not None:
            self._wake(namespace, agent)

    def client(self, namespace: str, source: PrometheusSource) -> PrometheusClient:
        """The cached client for ``source`` (also used by the budget runner); reads its Secret."""
        data: Mapping[str, str] | None = None
        version = ""
        if source.secret_name is not None:
            secret = self._kube.get(SECRET, source.secret_name, namespace)
            if secret is None:
                raise ValueError(
                    f"spec.analysis.prometheus.secretName: Secret {source.secret_name} does not exist"
                )
            data = dict(secret.get("data") or {})
            version = str((secret.get("metadata") or {}).get("resourceVersion", ""))
        cache_key = (source.address, source.secret_name, version, source.timeout_seconds)
        with self._lock:
            cached = self._clients.get(cache_key)
        if cached is not None:
            return cached
        client = client_for(source, data)
        with self._lock:
            # One client per address and Secret version: an older version's client is dropped.
            for old in [k for k in self._clients if k[:2] == cache_key[:2]]:
                del self._clients[old]
            self._clients[cache_key] = client
        return client
