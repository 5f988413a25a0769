"""A fake cluster for the rollout machine: applies plans to per-revision pod counts.

Pods a plan adds exist at once and become available one reconcile later, unless their revision is
marked broken (never Ready) or crashing (restarts climb every reconcile). Scale-downs remove
unavailable pods first, as a ReplicaSet does. Bounds are asserted after every single change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from agent_operator.api.agent import Evaluation, Rollout
from agent_operator.rollout import (
    Command,
    EvaluationObservation,
    HistoryEntry,
    RevisionObservation,
    RolloutInput,
    RolloutPlan,
    RolloutState,
    plan_rollout,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def assert_replan_is_quiet(inp: RolloutInput, plan: RolloutPlan) -> None:
    """Level-based: planning again from the plan's own state, with nothing observed changed, gives
    the same plan without the transition outputs (events, history, a revision to record)."""
    again = plan_rollout(replace(inp, state=plan.state))
    assert again == replace(plan, events=(), history=(), record_revision=None), (plan, again)


@dataclass
class Revision:
    replicas: int = 0
    available: int = 0
    pending: int = 0
    restarts: int = 0

    @property
    def pods(self) -> int:
        return self.available + self.pending


@dataclass
class Sim:
    rollout: Rollout
    replicas: int
    desired: str
    evaluation_spec: Evaluation | None = None
    state: RolloutState = field(default_factory=RolloutState)
    now: datetime = T0
    revisions: dict[str, Revision] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    crashing: set[str] = field(default_factory=set)
    commands: list[Command] = field(default_factory=list)
    evaluation: EvaluationObservation | None = None
    paused: bool = False
    suspend: bool = False
    can_roll_out: bool = True
    bounds: tuple[int, int] | None = None
    """(ceiling, floor) to assert at every moment, if set."""
    plans: list[RolloutPlan] = field(default_factory=list)

    def observe(self) -> dict[str, RevisionObservation]:
        return {
            name: RevisionObservation(
                name, r.replicas, r.pods, r.available, r.available, r.restarts, exists=True
            )
            for name, r in self.revisions.items()
        }

    def input(self) -> RolloutInput:
        return RolloutInput(
            desired_revision=self.desired,
            replicas=self.replicas,
            rollout=self.rollout,
            paused=self.paused,
            suspend=self.suspend,
            can_roll_out=self.can_roll_out,
            state=self.state,
            revisions=self.observe(),
            history=tuple(self.history),
            now=self.now,
            commands=tuple(self.commands),
            evaluation=self.evaluation,
            evaluation_spec=self.evaluation_spec,
        )

    def reconcile(self, seconds: float = 10) -> RolloutPlan:
        """Advance the clock, let pending pods start, plan once and apply the plan."""
        self.now += timedelta(seconds=seconds)
        self._start_pods()
        inp = self.input()
        plan = plan_rollout(inp)
        assert_replan_is_quiet(inp, plan)
        self.plans.append(plan)
        self.apply(plan)
        return plan

    def replan(self) -> RolloutPlan:
        """Plan again with nothing changed (what a restarted operator does)."""
        return plan_rollout(self.input())

    def _start_pods(self) -> None:
        for name, r in self.revisions.items():
            if name in self.crashing and r.pods:
                r.restarts += 1
            if name not in self.broken:
                r.available += r.pending
                r.pending = 0

    def apply(self, plan: RolloutPlan) -> None:
        self.state = plan.state
        if plan.record_revision is not None:
            number = max((e.number for e in self.history), default=0) + 1
            self.history.append(HistoryEntry(plan.record_revision, number))
        for update in plan.history:
            if update.outcome == "Promoted":
                self.history = [
                    replace(e, served_as_stable=True) if e.revision == update.revision else e
                    for e in self.history
                ]
        emergency = plan.phase == "Degraded" or any(
            e.reason in ("RolledBack", "Superseded", "Aborted") for e in plan.events
        )
        before = self.available()
        # The controller contract: revisions the plan leaves out are deleted first. Then the worst
        # order for the ceiling: every scale-up lands before any scale-down.
        for name in [n for n in self.revisions if n not in plan.replicas]:
            self._scale(name, 0, before, emergency)
            del self.revisions[name]
        for name, want in plan.replicas.items():
            if want > self.revisions.setdefault(name, Revision()).replicas:
                self._scale(name, want, before, emergency)
        for name, want in plan.replicas.items():
            if want < self.revisions[name].replicas:
                self._scale(name, want, before, emergency)

    def _scale(self, name: str, want: int, before: int, emergency: bool) -> None:
        r = self.revisions[name]
        if want > r.pods:
            r.pending += want - r.pods
        else:
            excess = r.pods - want
            dropped_pending = min(excess, r.pending)
            r.pending -= dropped_pending
            r.available -= excess - dropped_pending
        r.replicas = want
        self._check(before, emergency)

    def available(self) -> int:
        return sum(r.available for r in self.revisions.values())

    def pods(self) -> int:
        return sum(r.pods for r in self.revisions.values())

    def _check(self, before: int, emergency: bool) -> None:
        if self.bounds is None:
            return
        ceiling, floor = self.bounds
        assert self.pods() <= ceiling, f"{self.pods()} pods > {ceiling} at {self.now}: {self.revisions}"
        if not emergency:
            assert self.available() >= min(floor, before), (
                f"{self.available()} available < {floor} at {self.now}: {self.revisions}"
            )

    def run_until(self, done: str, limit: int = 100, seconds: float = 10) -> RolloutPlan:
        """Reconcile until the plan's phase is ``done``."""
        for _ in range(limit):
            plan = self.reconcile(seconds)
            if plan.phase == done:
                return plan
        raise AssertionError(f"never reached {done}: {self.plans[-1]}")
