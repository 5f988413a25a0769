"""Runs one reconcile of one agent: observe, plan, write; scheduling is the work queue's job.

The watch cache (cache.py) calls :meth:`Reconciler.request`, :meth:`Reconciler.schedule` and
:meth:`Reconciler.forget` as changes arrive; they only queue the agent (see workqueue.py for
coalescing, backoff and fairness), so an informer never waits on a reconcile. A reconcile reads
the cache only, and writes what it changed back into it (write-through), so the next reconcile
never acts on a copy older than its own last write. Status is written with the observed
resourceVersion as a precondition: status computed from a stale copy is refused (409) and the
reconcile runs again, so status never goes back. Nothing here outlives a restart: the wake-up
schedule is only an optimisation over the resync, and all rollout progress is in the cluster.

Errors have classes (kube/client.py): a final answer to a write (the apiserver refused what we
rendered) becomes ``Stalled``/``ApplyRejected`` at once and is not retried until the agent's
inputs change (its spec, a referenced Secret or policy, its children, the operator version) or
a long backoff passes; a transient one (unreachable, throttled, 5xx) is retried by the queue
with capped exponential backoff.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .._metrics import (
    DRIFT_LOOPS,
    POLICY_VIOLATIONS,
    RECONCILE_ERRORS,
    RECONCILE_OVER_BUDGET,
    RECONCILE_SECONDS,
    RECONCILES,
    ROLLBACKS,
    ROLLOUTS,
)
from ..kube import AGENT_DEPLOYMENT, KubeApi, KubeError, kind_of
from .analysis_runner import AnalysisRunner
from .budget_metrics import BUDGET_GAUGES, export_budget
from .budget_runner import BudgetRunner
from .cache import ClusterCache
from .driftloop import DriftLoopTracker, guard_plan
from .normalise import ServerForms, settle, with_server_forms
from .observe import PolicyCache, observe
from .plan import Observation, ReconcilePlan, plan_reconcile, stalled_plan
from .proof_keys import ProofKeys
from .rejections import REJECTED_BACKOFF, Rejection, inputs_fingerprint
from .status import APPLY_REJECTED, INTERNAL_ERROR, apply_rejected_message, internal_error_message
from .timefmt import format_time
from .workqueue import Backoff, Outcome, WorkQueue

_log = logging.getLogger(__name__)
Key = tuple[str, str]
TRANSIENT_BACKOFF = Backoff(base=1.0, cap=300.0)
DEFAULT_RESYNC_SECONDS = 3600.0
"""The safety resync re-plans every agent from the cache (no request) once an hour: a wake-up that
was missed by a bug heals within the hour, at about one reconcile per agent per hour of CPU.
controller-runtime's 10 hours bound staleness too loosely for rollouts that run in minutes."""
STALE_CACHE_RETRY_SECONDS = 1.0
STARTUP_SYNC_SECONDS = 60.0
FOLLOW_UP_SECONDS = 0.2
"""A reconcile that wrote is followed by one more, from the cache (no request): a plan may decide
from the state it has just written (a step completed, a write loop detected), and our own writes
wake nobody through the watch (write-through), as a controller's own updates did not either."""


def _after_writes(plan: ReconcilePlan) -> float | None:
    if not plan.writes:
        return plan.requeue_after
    return FOLLOW_UP_SECONDS if plan.requeue_after is None else min(plan.requeue_after, FOLLOW_UP_SECONDS)


class Reconciler:
    """Reconciles agents on request; one at a time per agent, many agents in parallel."""

    def __init__(
        self,
        kube: KubeApi,
        cache: ClusterCache,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        resync_seconds: float = DEFAULT_RESYNC_SECONDS,
        workers: int = 16,
        budget_seconds: float = 60.0,
        active: Callable[[str], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        drift_loops: DriftLoopTracker | None = None,
        proof_keys: ProofKeys | None = None,
        budget_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._kube = kube
        self._cache = cache
        self._policies = PolicyCache(cache.store)
        cache.on_policies = self._policies.invalidate
        self._proof_keys = proof_keys
        """With the webhook: command annotations are acted on only when their proof verifies."""
        self._clock = clock
        self._monotonic = monotonic
        self._active = active
        """With HA peering: whether this replica is the active one for a namespace."""
        self._guard = threading.Lock()
        self._rejected: dict[Key, Rejection] = {}
        self._drift = drift_loops or DriftLoopTracker()
        self._forms = ServerForms()
        self.queue: WorkQueue[Key] = WorkQueue(
            self._reconcile,
            workers=workers,
            clock=monotonic,
            backoff=TRANSIENT_BACKOFF,
            resync=resync_seconds,
            budget=budget_seconds,
            on_over_budget=lambda key, _: RECONCILE_OVER_BUDGET.labels(*key).inc(),
            group=lambda key: key[0],  # namespaces take turns: one tenant's burst delays no other
        )
        # Measurements of spec.analysis run on their own pool; a finished one wakes its agent.
        self._analysis = AnalysisRunner(kube, wake=lambda ns, n: self.schedule(ns, n, 0), clock=clock)
        # Spend of budgets, on a pool of its own; its clock decides the daily window.
        self._budget_clock = budget_clock or clock
        self._budget = BudgetRunner(
            self._analysis.client, wake=lambda ns, n: self.schedule(ns, n, 0), clock=self._budget_clock
        )

    # -- requests (from the watch cache) -------------------------------------------------------

    def request(self, namespace: str, name: str) -> None:
        """Reconcile the agent soon, or once more right after the reconcile running for it."""
        self.queue.add((namespace, name))

    def schedule(self, namespace: str, name: str, delay: float) -> None:
        """Reconcile the agent in ``delay`` seconds (a pause ending, a deadline, child events)."""
        self.queue.add_after((namespace, name), delay)

    def forget(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self._guard:
            self._rejected.pop(key, None)
        self.queue.forget(key)
        self._drift.forget(key)
        self._forms.forget(namespace)
        self._analysis.forget(namespace, name)
        self._budget.forget(namespace, name)
        for gauge in (POLICY_VIOLATIONS, *BUDGET_GAUGES):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)

    @property
    def cache(self) -> ClusterCache:
        return self._cache

    def known_agents(self) -> list[Key]:
        """Agents in the watch cache."""
        return self._cache.agents()

    def start(self) -> None:
        """Fill the cache (one list per kind) and start reconciling; reconciles wait until the
        cache has caught up."""
        self._cache.start(self)
        # Workers start once every kind is listed (or after a minute, when some API is unreachable:
        # reconciles then wait per agent): under the start-up burst every agent's first reconcile is
        # a real one, in the first-run lane, rather than a wait for the cache.
        if not self._cache.wait_synced(STARTUP_SYNC_SECONDS):
            _log.warning(
                "the watch cache is still catching up on %s; reconciles wait for it",
                self._cache.store.stale_kinds(),
            )
        self.queue.start()

    def stop(self) -> None:
        self._cache.stop()
        self.queue.stop()
        self._analysis.stop()
        self._budget.stop()

    def health(self, stuck_after: float) -> dict[str, int]:
        """For the liveness probe: raises when the operator looks alive but cannot make progress
        (a reconcile hung for ``stuck_after`` seconds, or the wake-up loop died), so that the
        kubelet restarts it instead of leaving every agent unattended."""
        health = self.queue.health()
        stuck = sorted(key for key, age in health.in_flight.items() if age > stuck_after)
        if stuck:
            names = ", ".join(f"{ns}/{name}" for ns, name in stuck[:5])
            raise RuntimeError(f"{len(stuck)} reconcile(s) running for over {stuck_after:.0f}s: {names}")
        if not health.wakeups_alive:
            raise RuntimeError("the wake-up loop stopped: resyncs and rollout timers would never fire")
        cache = self._cache.health()
        return {
            "reconciling": len(health.in_flight),
            "queued": health.queued,
            "scheduled": health.scheduled,
            **cache,
        }

    # -- one reconcile ---------------------------------------------------------------------------

    def _reconcile(self, key: Key) -> Outcome:
        namespace, name = key
        if self._active is not None and not self._active(namespace):
            return Outcome()  # a paused HA replica: kopf stopped its watches; the resync waits too
        if not self._cache.synced():
            # A watch is catching up (start-up, or after the apiserver came back): acting on what
            # it has not delivered yet would only write twice.
            return Outcome(requeue_after=STALE_CACHE_RETRY_SECONDS)
        started = time.monotonic()
        obs: Observation | None = None
        try:
            caps = self._cache.capabilities()
            obs = observe(self._cache.store, self._policies.get(), namespace, name, caps, self._clock())
            if obs is None:
                return Outcome()
            outcome = self._plan_and_write(key, obs)
        except KubeError as exc:
            if exc.stale:
                # Our copy of the agent was older than the apiserver's: the newer one is on its
                # way through the watch; plan again from it.
                _log.info("stale cache; reconciling again", extra={"namespace": namespace, "agent": name})
                return Outcome(requeue_after=STALE_CACHE_RETRY_SECONDS)
            RECONCILES.labels(namespace, name, "error").inc()
            RECONCILE_ERRORS.labels(namespace, name, f"api{exc.status}").inc()
            log = {"namespace": namespace, "agent": name, "status": exc.status, "error": exc.summary()}
            _log.warning("reconcile failed; retrying with backoff", extra=log)
            return Outcome(failed=True)
        except Exception as exc:
            # One agent's unexpected failure must not affect others: say so in its status (the
            # exception text stays in the log: it could quote the spec) and retry with backoff.
            RECONCILES.labels(namespace, name, "error").inc()
            RECONCILE_ERRORS.labels(namespace, name, type(exc).__name__).inc()
            _log.exception("unexpected error reconciling %s/%s", namespace, name)
            if obs is not None:
                self._report(obs, INTERNAL_ERROR, internal_error_message(exc))
            return Outcome(failed=True)
        finally:
            RECONCILE_SECONDS.observe(time.monotonic() - started)
        RECONCILES.labels(namespace, name, "ok").inc()
        return outcome

    def _plan_and_write(self, key: Key, obs: Observation) -> Outcome:
        # Compare with the apiserver's own form of our apply, and hold back writes caught looping.
        obs = replace(
            with_server_forms(obs, self._forms),
            analysis=self._analysis.results(*key),
            command_keys=self._proof_keys.keys() if self._proof_keys else None,
            spend=self._budget.result(*key),
            budget_now=self._budget_clock(),
        )
        plan = settle(obs, plan_reconcile(obs), self._forms, self._kube.dry_run_apply, plan_reconcile)
        plan = guard_plan(plan, obs.agent, self._drift, self._monotonic(), self._clock())
        readiness = (plan.status or obs.agent.get("status") or {}).get("readiness") or {}
        POLICY_VIOLATIONS.labels(*key).set(len(readiness.get("missingRequired") or []))
        export_budget(key, (plan.status or obs.agent.get("status") or {}).get("budget"))
        now = self._monotonic()
        with self._guard:
            rejected = self._rejected.get(key)
        unchanged = rejected is not None and rejected.inputs == inputs_fingerprint(obs, rejected.target)
        if rejected is not None and unchanged and now < rejected.retry_at:
            # Same inputs as the refused write: the same answer would come back. Keep status
            # truthful (a no-op when it already says so) and wait for a change or the backoff.
            self._execute(obs.agent, stalled_plan(obs, APPLY_REJECTED, rejected.message))
            return Outcome(requeue_after=rejected.retry_at - now)
        try:
            self._execute(obs.agent, plan)
            self._analysis.submit(*key, plan.measure)
            self._budget.submit(*key, plan.spend)
        except KubeError as exc:
            if not exc.final:
                raise
            target = (exc.kind, exc.name)
            inputs = inputs_fingerprint(obs, target)
            again = rejected is not None and (rejected.target, rejected.inputs) == (target, inputs)
            attempts = rejected.attempts + 1 if rejected is not None and again else 1
            delay = REJECTED_BACKOFF.delay(attempts)
            message = apply_rejected_message(exc.summary())
            with self._guard:
                self._rejected[key] = Rejection(target, inputs, message, attempts, now + delay)
            RECONCILE_ERRORS.labels(*key, f"api{exc.status}").inc()
            _log.warning(
                "the apiserver refused a write; reported as Stalled",
                extra={"namespace": key[0], "agent": key[1], "status": exc.status, "error": exc.summary()},
            )
            self._execute(obs.agent, stalled_plan(obs, APPLY_REJECTED, message))
            return Outcome(requeue_after=delay)
        with self._guard:
            self._rejected.pop(key, None)
        return Outcome(requeue_after=_after_writes(plan), writes=plan.writes)

    def _note_write(self, namespace: str, name: str, obj: Mapping[str, Any]) -> None:
        loop = self._drift.record_write((namespace, name), obj, self._monotonic())
        if loop is not None:
            kind, _, child = loop.key
            DRIFT_LOOPS.labels(namespace, name, kind).inc()
            _log.error(
                "write loop: %s/%s rewritten %d times with unchanged content; holding writes for %.0fs",
                *(kind, child, loop.writes, loop.held_for),
                extra={"namespace": namespace, "agent": name, "reason": "DriftLoop"},
            )

    def _remember(self, stored: Mapping[str, Any]) -> None:
        """Write-through: what the apiserver answered a write with is newer than any copy the
        watch has delivered so far."""
        if not stored.get("metadata"):
            return
        obj = dict(stored)
        obj["metadata"] = {k: v for k, v in stored["metadata"].items() if k != "managedFields"}
        self._cache.store.upsert(kind_of(obj), obj)

    def _report(self, obs: Observation, reason: str, message: str) -> None:
        try:
            self._execute(obs.agent, stalled_plan(obs, reason, message))
        except Exception:
            _log.exception("could not report the error in status")

    def _execute(self, body: Mapping[str, Any], plan: ReconcilePlan) -> None:
        meta = body.get("metadata", {})
        namespace, name = meta.get("namespace"), meta.get("name")
        # Deletions first: an emergency rollback removes the bad revision before scaling the
        # target up, which is what keeps the pod count within replicas + maxSurge.
        store = self._cache.store
        for ref in plan.delete:
            self._kube.delete(ref.kind, ref.name, ref.namespace, uid=ref.uid)
            gone = {"namespace": ref.namespace, "name": ref.name, "uid": ref.uid}
            store.remove(ref.kind, {"metadata": gone})
        for obj in plan.apply:
            self._remember(self._kube.apply(obj))
            self._note_write(namespace, name, obj)
        for obj in plan.create:
            try:
                self._remember(self._kube.create(obj))
            except KubeError as exc:
                if exc.status != 409:  # AlreadyExists: created by an earlier reconcile
                    raise
        if plan.status is not None:
            version = str(meta.get("resourceVersion") or "") or None
            stored = self._kube.apply_status(
                AGENT_DEPLOYMENT, name, namespace, plan.status, resource_version=version
            )
            self._remember(stored)
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
                _log.warning("could not post event %s: %s", event.reason, exc.summary())
