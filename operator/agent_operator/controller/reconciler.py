"""Runs one reconcile of one agent: observe, plan, write. Thread-safe and coalescing.

kopf calls :meth:`Reconciler.request` from watch events of the agent and of its children, and
from the resync timer. Requests for an agent that is already reconciling set a flag instead of
queueing a second run, so a burst of events costs one extra reconcile, not one per event.
Nothing here outlives a restart: the wake-up schedule is only an optimisation over the resync
timer, and all rollout progress is in the cluster.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .._metrics import (
    POLICY_VIOLATIONS,
    RECONCILE_ERRORS,
    RECONCILE_SECONDS,
    RECONCILES,
    ROLLBACKS,
    ROLLOUTS,
)
from ..kube import AGENT_DEPLOYMENT, KubeApi, KubeError
from .analysis_runner import AnalysisRunner
from .observe import CapabilityCache, observe
from .plan import Observation, ReconcilePlan, plan_reconcile, stalled_plan
from .timefmt import format_time

_log = logging.getLogger(__name__)
Key = tuple[str, str]
MAX_ERROR_BACKOFF = 300.0
_REJECTED = frozenset({400, 403, 404, 409, 422})
"""API answers that mean the request itself is wrong, as opposed to the server being busy."""
_QUOTED_VALUE = re.compile(r'(Invalid value|Unsupported value|Duplicate value): ("(?:[^"\\]|\\.)*"|[^:,\s]+)')


def _redact(message: str) -> str:
    """The apiserver quotes rejected values; one could be a credential, so status never gets them."""
    return _QUOTED_VALUE.sub(r"\1: (redacted)", message)


@dataclass(frozen=True)
class Outcome:
    """What one reconcile did."""

    writes: int
    requeue_after: float | None


class Reconciler:
    """Reconciles agents on request; one at a time per agent, many agents in parallel."""

    def __init__(
        self,
        kube: KubeApi,
        capabilities: CapabilityCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        error_backoff: float = 10.0,
        resync_seconds: float = 60.0,
        wakeup_workers: int = 8,
        active: Callable[[str], bool] | None = None,
    ) -> None:
        self._kube = kube
        self._caps = capabilities or CapabilityCache(kube)
        self._clock = clock
        self._error_backoff = error_backoff
        self._guard = threading.Lock()
        self._running: set[Key] = set()
        self._dirty: set[Key] = set()
        self._resync = resync_seconds
        self._active = active
        """With HA peering: whether this replica is the active one for a namespace."""
        self._wakeups: list[tuple[float, Key]] = []
        self._due: dict[Key, float] = {}
        self._wake = threading.Condition(self._guard)
        self._stopped = False
        self._known: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._in_flight: dict[Key, float] = {}
        self._wakeup_thread: threading.Thread | None = None
        self._workers = ThreadPoolExecutor(max_workers=wakeup_workers, thread_name_prefix="wakeup")
        # Measurements of spec.analysis run on their own pool; a finished one wakes its agent.
        self._analysis = AnalysisRunner(kube, wake=lambda ns, n: self.schedule(ns, n, 0), clock=clock)

    # -- scheduling ------------------------------------------------------------------------------

    def health(self, stuck_after: float) -> dict[str, int]:
        """For the liveness probe: raises when the operator looks alive but cannot make progress
        (a reconcile hung for ``stuck_after`` seconds, or the wake-up loop died), so that the
        kubelet restarts it instead of leaving every agent unattended."""
        now = time.monotonic()
        with self._guard:
            stuck = sorted(k for k, since in self._in_flight.items() if now - since > stuck_after)
            running, scheduled = len(self._in_flight), len(self._due)
        if stuck:
            names = ", ".join(f"{ns}/{name}" for ns, name in stuck[:5])
            raise RuntimeError(f"{len(stuck)} reconcile(s) running for over {stuck_after:.0f}s: {names}")
        if self._wakeup_thread is not None and not self._wakeup_thread.is_alive() and not self._stopped:
            raise RuntimeError("the wake-up loop stopped: resyncs and rollout timers would never fire")
        return {"reconciling": running, "scheduled": scheduled}

    def start_wakeups(self) -> None:
        """Run the wake-up loop in a daemon thread."""
        self._wakeup_thread = threading.Thread(target=self.run_wakeups, name="wakeups", daemon=True)
        self._wakeup_thread.start()

    def known_agents(self) -> list[Key]:
        """Agents seen since start: a cache, rebuilt after a restart from kopf's initial listing."""
        with self._guard:
            return sorted(self._known)

    def forget(self, namespace: str, name: str) -> None:
        with self._guard:
            self._known.discard((namespace, name))
            self._due.pop((namespace, name), None)
        self._analysis.forget(namespace, name)
        with contextlib.suppress(KeyError):
            POLICY_VIOLATIONS.remove(namespace, name)

    def request(self, namespace: str, name: str) -> None:
        """Reconcile the agent now, or right after the reconcile already running for it."""
        key = (namespace, name)
        with self._guard:
            self._known.add(key)
            if key in self._running:
                self._dirty.add(key)
                return
            self._running.add(key)
        try:
            while True:
                outcome = self._reconcile_once(namespace, name)
                # The periodic resync is a wake-up like any other, so kopf needs no timer (and no
                # finalizer for one) and deleting an agent never waits for the operator.
                self.schedule(namespace, name, self._resync)
                if outcome.requeue_after is not None:
                    self.schedule(namespace, name, outcome.requeue_after)
                with self._guard:
                    if key not in self._dirty:
                        self._running.discard(key)
                        return
                    self._dirty.discard(key)
        except BaseException:
            with self._guard:
                self._running.discard(key)
                self._dirty.discard(key)
            raise

    def schedule(self, namespace: str, name: str, delay: float) -> None:
        """Ask for a reconcile in ``delay`` seconds (a pause ending, a deadline, the resync). Only
        the earliest wake-up per agent is kept."""
        key = (namespace, name)
        due = time.monotonic() + max(delay, 0.0)
        with self._wake:
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._wakeups, (due, key))
            self._wake.notify()

    def run_wakeups(self) -> None:
        """Loop that fires scheduled reconciles on a small pool; run it in a daemon thread."""
        while True:
            with self._wake:
                while not self._stopped and (not self._wakeups or self._wakeups[0][0] > time.monotonic()):
                    timeout = self._wakeups[0][0] - time.monotonic() if self._wakeups else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                due, key = heapq.heappop(self._wakeups)
                if self._due.get(key) != due:
                    continue  # superseded by an earlier wake-up, or the agent is gone
                del self._due[key]
            self._workers.submit(self._safe_request, *key)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._analysis.stop()

    def _safe_request(self, namespace: str, name: str) -> None:
        try:
            if self._active is not None and not self._active(namespace):
                # A paused HA replica: kopf stopped its watches, and its own wake-ups wait too.
                self.schedule(namespace, name, self._resync)
                return
            self.request(namespace, name)
        except Exception:
            _log.exception("scheduled reconcile of %s/%s failed", namespace, name)

    # -- one reconcile ---------------------------------------------------------------------------

    def _reconcile_once(self, namespace: str, name: str) -> Outcome:
        started = time.monotonic()
        key = (namespace, name)
        with self._guard:
            self._in_flight[key] = started
        obs: Observation | None = None
        try:
            obs = observe(self._kube, namespace, name, self._caps.get(), self._clock())
            if obs is None:
                return Outcome(0, None)
            obs = replace(obs, analysis=self._analysis.results(namespace, name))
            plan = plan_reconcile(obs)
            readiness = (plan.status or obs.agent.get("status") or {}).get("readiness") or {}
            POLICY_VIOLATIONS.labels(namespace, name).set(len(readiness.get("missingRequired") or []))
            try:
                self._execute(obs.agent, plan)
                self._analysis.submit(namespace, name, plan.measure)
            except KubeError as exc:
                if exc.status not in _REJECTED:
                    raise
                # The apiserver refused what we rendered (an invalid value that got past the
                # schema, a forbidden kind): retrying will not help, so say so in status.
                reason = f"{exc.status} {exc.reason}: {_redact(exc.message)}"
                self._execute(obs.agent, stalled_plan(obs, "ApplyRejected", reason))
                raise
        except KubeError as exc:
            RECONCILES.labels(namespace, name, "error").inc()
            RECONCILE_ERRORS.labels(namespace, name, f"api{exc.status}").inc()
            _log.warning(
                "reconcile failed",
                extra={
                    "namespace": namespace,
                    "agent": name,
                    "status": exc.status,
                    "error": _redact(exc.message),
                },
            )
            return Outcome(0, self._backoff(key))
        except Exception as exc:
            # One agent's unexpected failure must not affect others: say so in its status (the
            # exception text stays in the log: it could quote the spec) and retry with backoff.
            RECONCILES.labels(namespace, name, "error").inc()
            RECONCILE_ERRORS.labels(namespace, name, type(exc).__name__).inc()
            _log.exception("unexpected error reconciling %s/%s", namespace, name)
            if obs is not None:
                self._report_internal_error(obs, exc)
            return Outcome(0, self._backoff(key))
        finally:
            RECONCILE_SECONDS.observe(time.monotonic() - started)
            with self._guard:
                self._in_flight.pop(key, None)
        RECONCILES.labels(namespace, name, "ok").inc()
        with self._guard:
            self._failures.pop(key, None)
        return Outcome(plan.writes, plan.requeue_after)

    def _backoff(self, key: Key) -> float:
        """Exponential per agent, capped: a persistently failing agent is retried, not hammered."""
        with self._guard:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
        return float(min(self._error_backoff * 2 ** (failures - 1), MAX_ERROR_BACKOFF))

    def _report_internal_error(self, obs: Observation, exc: Exception) -> None:
        message = f"{type(exc).__name__} in the operator while reconciling; details in the operator log"
        try:
            self._execute(obs.agent, stalled_plan(obs, "InternalError", message))
        except Exception:
            _log.exception("could not report the error in status")

    def _execute(self, body: Mapping[str, Any], plan: ReconcilePlan) -> None:
        meta = body.get("metadata", {})
        namespace, name = meta.get("namespace"), meta.get("name")
        # Deletions first: an emergency rollback removes the bad revision before scaling the
        # target up, which is what keeps the pod count within replicas + maxSurge.
        for ref in plan.delete:
            self._kube.delete(ref.kind, ref.name, ref.namespace, uid=ref.uid)
        for obj in plan.apply:
            self._kube.apply(obj)
        for obj in plan.create:
            try:
                self._kube.create(obj)
            except KubeError as exc:
                if exc.status != 409:  # already created by an earlier reconcile
                    raise
        if plan.status is not None:
            self._kube.apply_status(AGENT_DEPLOYMENT, name, namespace, plan.status)
        now = format_time(self._clock())
        for event in plan.events:
            if event.reason == "RolloutStarted":
                ROLLOUTS.labels(namespace, name).inc()
            elif event.reason == "RolledBack":
                ROLLBACKS.labels(namespace, name, "automatic" if event.type == "Warning" else "manual").inc()
            log = _log.warning if event.type == "Warning" else _log.info
            log(event.message, extra={"namespace": namespace, "agent": name, "reason": event.reason})
            try:
                self._kube.post_event(
                    body, type_=event.type, reason=event.reason, message=event.message, when=now
                )
            except KubeError as exc:
                # Events are best effort; the decision is already in status.
                _log.warning("could not post event %s: %s", event.reason, exc)
