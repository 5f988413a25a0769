"""A fake cluster for the rollout machine: applies plans to per-revision pod counts.

Pods a plan adds exist at once and become available one reconcile later, unless their revision is
marked broken (never Ready) or crashing (restarts climb every reconcile). Scale-downs remove
unavailable pods first, as a ReplicaSet does. Bounds are asserted after every single change.

The machine's memory goes through the operator's own stores and codecs, as in the cluster: every
step writes the status dict, the ControllerRevision bodies and the command annotations, and the
next step parses them back. Nothing is handed to the machine that the stores did not carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_operator.analysis.verdict import AnalysisVerdict
from agent_operator.api.agent import AgentDeployment, Evaluation, Rollout
from agent_operator.api.analysis import Analysis
from agent_operator.controller.commands import command_annotation, parse_commands
from agent_operator.controller.history import history_entries, new_revision, parse_history, with_outcome
from agent_operator.controller.status_codec import state_from_status, state_to_status
from agent_operator.rollout import (
    AnalysisRequest,
    AnalysisRun,
    Command,
    EvaluationObservation,
    HistoryEntry,
    HistoryUpdate,
    RevisionObservation,
    RolloutInput,
    RolloutPlan,
    RolloutState,
    plan_rollout,
)
from agent_operator.widening import Widening

T0 = datetime(2026, 1, 1, tzinfo=UTC)

AGENT = AgentDeployment.model_validate(
    {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "sim", "namespace": "agents", "uid": "u-sim"},
        "spec": {"environment": "development", "container": {"image": "sim@sha256:" + "0" * 64}},
    }
)
"""The agent whose ControllerRevisions the simulator stores (the spec snapshot is not used)."""


def status_of(state: RolloutState) -> dict[str, Any]:
    """The part of an AgentDeployment status that carries the machine's memory."""
    return state_to_status(state)


def stored_revision(revision: str, number: int, *, served_as_stable: bool = False) -> dict[str, Any]:
    """A ControllerRevision body as the operator writes it, optionally promoted."""
    body = new_revision(AGENT, revision, number)
    if not served_as_stable:
        return body
    (entry,) = parse_history([body]).values()
    return with_outcome(entry, HistoryUpdate(revision, "Promoted", "test"), T0)


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
    status: dict[str, Any] = field(default_factory=dict)
    """The AgentDeployment status as stored."""
    now: datetime = T0
    revisions: dict[str, Revision] = field(default_factory=dict)
    stored_history: list[dict[str, Any]] = field(default_factory=list)
    """ControllerRevision bodies as stored."""
    annotations: dict[str, str] = field(default_factory=dict)
    """The AgentDeployment annotations as stored (where commands travel)."""
    broken: set[str] = field(default_factory=set)
    crashing: set[str] = field(default_factory=set)
    commands: list[Command] = field(default_factory=list)
    """Commands a human issues; written as annotations before each step, as agentctl does."""
    evaluation: EvaluationObservation | None = None
    paused: bool = False
    suspend: bool = False
    budget_suspend: tuple[str, str] | None = None
    budget_canary_over: tuple[str, str] | None = None
    can_roll_out: bool = True
    bounds: tuple[int, int] | None = None
    """(ceiling, floor) to assert at every moment, if set."""
    plans: list[RolloutPlan] = field(default_factory=list)
    analysis_spec: Analysis | None = None
    analyst: Callable[[AnalysisRequest], AnalysisVerdict | None] | None = None
    """Plays the controller's measurements: the verdict of a request, or None while it runs."""
    runs: list[AnalysisRun] = field(default_factory=list)
    """Finished measurements, handed to the machine as the controller's runner does."""
    requests: list[AnalysisRequest] = field(default_factory=list)
    widenings: tuple[Widening, ...] = ()
    """What the desired revision widens that its policy gates on (the controller computes it)."""

    @property
    def state(self) -> RolloutState:
        return state_from_status(self.status)

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return history_entries(parse_history(self.stored_history))

    def stored_commands(self) -> tuple[Command, ...]:
        for c in self.commands:
            self.annotations.update(
                command_annotation(
                    c.verb,
                    at=c.at,
                    by=c.by,
                    revision=c.revision,
                    step=c.step,
                    full=c.full,
                    to_revision=c.to_revision,
                )
            )
        commands, problems = parse_commands(self.annotations)
        assert not problems, problems
        return commands

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
            history=self.history,
            now=self.now,
            commands=self.stored_commands(),
            evaluation=self.evaluation,
            evaluation_spec=self.evaluation_spec,
            analysis_spec=self.analysis_spec,
            analysis_runs=tuple(self.runs),
            widenings=self.widenings,
            budget_suspend=self.budget_suspend,
            budget_canary_over=self.budget_canary_over,
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
        self._measure(plan)
        return plan

    def _measure(self, plan: RolloutPlan) -> None:
        for request in plan.measure:
            self.requests.append(request)
            verdict = self.analyst(request) if self.analyst else None
            if verdict is not None and not any(
                (r.revision, r.step, r.due) == (request.revision, request.step, request.due)
                for r in self.runs
            ):
                self.runs.append(AnalysisRun(request.revision, request.step, request.due, self.now, verdict))

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
        self.status = status_of(plan.state)
        if plan.record_revision is not None:
            number = max((e.number for e in self.history), default=0) + 1
            self.stored_history.append(new_revision(AGENT, plan.record_revision, number))
        for update in plan.history:
            stored = parse_history(self.stored_history)
            if update.revision in stored:
                updated = with_outcome(stored[update.revision], update, self.now)
                self.stored_history = [
                    updated if b["metadata"]["name"] == updated["metadata"]["name"] else b
                    for b in self.stored_history
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
