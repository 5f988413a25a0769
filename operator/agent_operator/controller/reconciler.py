"""Runs one reconcile of one agent: observe, plan, write; scheduling is the work queue's job.

kopf's handlers call :meth:`Reconciler.request` and :meth:`Reconciler.schedule` from watch
events; both only queue the agent (see workqueue.py for coalescing, backoff and fairness), so a
kopf thread never waits on a reconcile. Nothing here outlives a restart: the wake-up schedule
is only an optimisation over the resync, and all rollout progress is in the cluster.

Errors have classes (kube/client.py): a final answer to a write (the apiserver refused what we
rendered) becomes ``Stalled``/``ApplyRejected`` at once and is not retried until the agent's
inputs change (its spec, a referenced Secret or policy, its children, the operator version) or
a long backoff passes; a transient one (unreachable, throttled, 5xx) is retried by the queue
with capped exponential backoff.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from .._metrics import (
    BUDGET_CAP_USD,
    BUDGET_EXHAUSTED,
    BUDGET_SPENT_USD,
    BUDGET_UNKNOWN,
    BUDGET_WARNING,
    DRIFT_LOOPS,
    POLICY_VIOLATIONS,
    RECONCILE_ERRORS,
    RECONCILE_OVER_BUDGET,
    RECONCILE_SECONDS,
    RECONCILES,
    ROLLBACKS,
    ROLLOUTS,
)
from ..kube import AGENT_DEPLOYMENT, KubeApi, KubeError
from .analysis_runner import AnalysisRunner
from .budget_runner import BudgetRunner
from .driftloop import DriftLoopTracker, guard_plan
from .normalise import ServerForms, settle, with_server_forms
from .observe import CapabilityCache, observe
from .plan import Observation, ReconcilePlan, plan_reconcile, stalled_plan
from .status import APPLY_REJECTED, INTERNAL_ERROR, apply_rejected_message, internal_error_message
from .timefmt import format_time
from .workqueue import Backoff, Outcome, WorkQueue

_log = logging.getLogger(__name__)
Key = tuple[str, str]
TRANSIENT_BACKOFF = Backoff(base=1.0, cap=300.0)
REJECTED_BACKOFF = Backoff(base=300.0, cap=3600.0)
"""How soon a write the apiserver refused is tried again with unchanged inputs: the answer is
final for that body, but an admission webhook or a quota may change its mind eventually."""


@dataclass(frozen=True)
class _Rejection:
    """A final apply error remembered for the inputs it was given."""

    target: tuple[str, str]
    """Kind and name of the refused object."""
    inputs: str
    message: str
    attempts: int
    retry_at: float


def inputs_fingerprint(obs: Observation, target: tuple[str, str]) -> str:
    """Everything a final answer to a write of ``target`` (kind, name) depended on: when none of
    it changed, neither will the answer. Of the children only the refused one counts (deleting
    it is how a human clears an immutable field); the others change as the operator writes them."""
    meta = obs.agent.get("metadata") or {}
    live = [
        (c.get("metadata") or {}).get("uid")
        for c in obs.children
        if (c.get("kind"), (c.get("metadata") or {}).get("name")) == target
    ]
    inputs = {
        "generation": meta.get("generation"),
        "operator": __version__,
        "secrets": sorted(obs.secret_names),
        "namespaceLabels": dict(obs.namespace_labels),
        "policies": [p.model_dump(mode="json") for p in obs.policies],
        "capabilities": asdict(obs.capabilities),
        "refused": [*target, live],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


_BUDGET_GAUGES = (BUDGET_SPENT_USD, BUDGET_CAP_USD, BUDGET_WARNING, BUDGET_EXHAUSTED, BUDGET_UNKNOWN)


def _export_budget(key: Key, budget: Mapping[str, Any] | None) -> None:
    """The budget in status as gauges, for alerting; none for an agent without an enforced cap."""
    if not isinstance(budget, Mapping):
        for gauge in _BUDGET_GAUGES:
            with contextlib.suppress(KeyError):
                gauge.remove(*key)
        return
    state = budget.get("state")
    BUDGET_SPENT_USD.labels(*key).set(float(budget.get("spentUSD") or 0))
    BUDGET_CAP_USD.labels(*key).set(float(budget.get("capUSD") or 0))
    BUDGET_WARNING.labels(*key).set(1 if state in ("Warning", "Exhausted") else 0)
    BUDGET_EXHAUSTED.labels(*key).set(1 if state == "Exhausted" else 0)
    BUDGET_UNKNOWN.labels(*key).set(1 if budget.get("unknown") else 0)


class Reconciler:
    """Reconciles agents on request; one at a time per agent, many agents in parallel."""

    def __init__(
        self,
        kube: KubeApi,
        capabilities: CapabilityCache | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        resync_seconds: float = 60.0,
        workers: int = 16,
        budget_seconds: float = 60.0,
        active: Callable[[str], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        drift_loops: DriftLoopTracker | None = None,
        budget_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._kube = kube
        self._caps = capabilities or CapabilityCache(kube)
        self._clock = clock
        self._monotonic = monotonic
        self._active = active
        """With HA peering: whether this replica is the active one for a namespace."""
        self._guard = threading.Lock()
        self._known: set[Key] = set()
        self._rejected: dict[Key, _Rejection] = {}
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

    # -- requests (from kopf's handlers) -------------------------------------------------------

    def request(self, namespace: str, name: str) -> None:
        """Reconcile the agent soon, or once more right after the reconcile running for it."""
        with self._guard:
            self._known.add((namespace, name))
        self.queue.add((namespace, name))

    def schedule(self, namespace: str, name: str, delay: float) -> None:
        """Reconcile the agent in ``delay`` seconds (a pause ending, a deadline, child events)."""
        self.queue.add_after((namespace, name), delay)

    def forget(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        with self._guard:
            self._known.discard(key)
            self._rejected.pop(key, None)
        self.queue.forget(key)
        self._drift.forget(key)
        self._forms.forget(namespace)
        self._analysis.forget(namespace, name)
        self._budget.forget(namespace, name)
        for gauge in (POLICY_VIOLATIONS, *_BUDGET_GAUGES):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)

    def known_agents(self) -> list[Key]:
        """Agents seen since start: a cache, rebuilt after a restart from kopf's initial listing."""
        with self._guard:
            return sorted(self._known)

    def start_wakeups(self) -> None:
        self.queue.start()

    def stop(self) -> None:
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
        return {"reconciling": len(health.in_flight), "queued": health.queued, "scheduled": health.scheduled}

    # -- one reconcile ---------------------------------------------------------------------------

    def _reconcile(self, key: Key) -> Outcome:
        namespace, name = key
        if self._active is not None and not self._active(namespace):
            return Outcome()  # a paused HA replica: kopf stopped its watches; the resync waits too
        started = time.monotonic()
        obs: Observation | None = None
        try:
            obs = observe(self._kube, namespace, name, self._caps.get(), self._clock())
            if obs is None:
                return Outcome()
            outcome = self._plan_and_write(key, obs)
        except KubeError as exc:
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
            spend=self._budget.result(*key),
            budget_now=self._budget_clock(),
        )
        plan = settle(obs, plan_reconcile(obs), self._forms, self._kube.dry_run_apply, plan_reconcile)
        plan = guard_plan(plan, obs.agent, self._drift, self._monotonic(), self._clock())
        readiness = (plan.status or obs.agent.get("status") or {}).get("readiness") or {}
        POLICY_VIOLATIONS.labels(*key).set(len(readiness.get("missingRequired") or []))
        _export_budget(key, (plan.status or obs.agent.get("status") or {}).get("budget"))
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
                self._rejected[key] = _Rejection(target, inputs, message, attempts, now + delay)
            RECONCILE_ERRORS.labels(*key, f"api{exc.status}").inc()
            _log.warning(
                "the apiserver refused a write; reported as Stalled",
                extra={"namespace": key[0], "agent": key[1], "status": exc.status, "error": exc.summary()},
            )
            self._execute(obs.agent, stalled_plan(obs, APPLY_REJECTED, message))
            return Outcome(requeue_after=delay)
        with self._guard:
            self._rejected.pop(key, None)
        return Outcome(requeue_after=plan.requeue_after, writes=plan.writes)

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
        for ref in plan.delete:
            self._kube.delete(ref.kind, ref.name, ref.namespace, uid=ref.uid)
        for obj in plan.apply:
            self._kube.apply(obj)
            self._note_write(namespace, name, obj)
        for obj in plan.create:
            try:
                self._kube.create(obj)
            except KubeError as exc:
                if exc.status != 409:  # AlreadyExists: created by an earlier reconcile
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
                _log.warning("could not post event %s: %s", event.reason, exc.summary())
