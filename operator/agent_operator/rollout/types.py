"""Inputs and outputs of the rollout state machine.

The machine is a pure function (:func:`agent_operator.rollout.plan_rollout`): the controller
gathers a :class:`RolloutInput` from the cluster, the machine returns a :class:`RolloutPlan`,
and the controller applies it. All progress lives in :class:`RolloutState`, which the controller
persists in the AgentDeployment's status, so a restart at any moment resumes at the same step and
a pause timer keeps counting from its original start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

from ..analysis.verdict import AnalysisVerdict
from ..api.agent import Egress, Evaluation, Rollout
from ..api.analysis import Analysis
from ..widening import Widening

EvaluationResult = Literal["Running", "Passed", "Failed", "TimedOut"]
RevisionOutcome = Literal["Promoted", "Aborted", "RolledBack", "Superseded"]
Verb = Literal["approve", "promote", "abort", "retry", "rollback", "budget"]
"""The human commands, each carried by its own annotation (``budget`` raises the spend cap for a
while and is the budget's, not the rollout machine's)."""
ROLLOUT_VERBS: Final[tuple[Verb, ...]] = ("approve", "promote", "abort", "retry", "rollback")
VERBS: Final[tuple[Verb, ...]] = get_args(Verb)
BUDGET_SHARE_EXCEEDED: Final = "BudgetShareExceeded"
"""Why a canary that projects past its share of the spend cap fails its rollout."""
RolloutPhase = Literal["Pending", "Progressing", "Available", "Degraded", "Paused", "Suspended", "Blocked"]


@dataclass(frozen=True)
class RevisionObservation:
    """What the cluster shows of one revision's Deployment (zeros when it does not exist)."""

    revision: str
    replicas: int = 0
    """spec.replicas the operator last set."""
    pods: int = 0
    """Pods that exist and are not terminating (Deployment status.replicas)."""
    ready: int = 0
    available: int = 0
    restarts: int = 0
    """Container restarts summed over the revision's pods (crash-loop detection)."""
    exists: bool = False


@dataclass(frozen=True)
class Approval:
    """A human released an indefinite pause."""

    revision: str
    step: int
    by: str
    at: datetime


@dataclass(frozen=True)
class EvaluationRecord:
    """State of the evaluation gate of one step."""

    revision: str
    step: int
    result: EvaluationResult
    started_at: datetime
    score: float | None = None
    message: str = ""


@dataclass(frozen=True)
class EvaluationObservation:
    """What the cluster shows of the evaluation Job the machine asked for."""

    exists: bool
    succeeded: bool = False
    failed: bool = False
    score: float | None = None
    """Parsed from the JSON the job wrote to its termination message, if any."""
    message: str = ""


@dataclass(frozen=True)
class AnalysisRequest:
    """A measurement of spec.analysis the machine asks for. ``due`` identifies it: the controller
    measures it once and hands back an :class:`AnalysisRun` with the same identity."""

    revision: str
    stable: str | None
    step: int | None
    """The analyze step, or None for background analysis."""
    due: datetime
    window_seconds: int
    metrics: tuple[str, ...] | None = None
    """The checks to run; all of spec.analysis.metrics when None."""


@dataclass(frozen=True)
class AnalysisRun:
    """One finished measurement of a canary."""

    revision: str
    step: int | None
    due: datetime
    measured_at: datetime
    verdict: AnalysisVerdict


@dataclass(frozen=True)
class Command:
    """A human command, read from an annotation agentctl sets. ``at`` identifies it so that
    each command is acted on once, across restarts."""

    verb: Verb
    at: datetime
    by: str = ""
    revision: str | None = None
    """The revision the command was aimed at (approve/promote/abort/retry)."""
    step: int | None = None
    """The step an approval was aimed at; None means whatever step the rollout sits at."""
    full: bool = False
    """promote --full: skip every remaining step."""
    to_revision: int | None = None
    """rollback --to-revision N: history number; None leaves the choice to the operator (the newest
    earlier revision that served as stable)."""
    usd: float | None = None
    """budget --override: the cap in US dollars while the override lasts."""
    for_seconds: int | None = None
    """budget --for: how long the override lasts."""
    unknown: Mapping[str, Any] = field(default_factory=dict)
    """Fields of the annotation this version does not know, kept so a rewrite loses nothing."""
    verified: bool = True
    """The annotation's identity proof verifies (or the operator runs without the webhook, so
    there is nothing to verify against). An unverified command is refused, never acted on."""


@dataclass(frozen=True)
class HistoryEntry:
    """One revision in history (a ControllerRevision)."""

    revision: str
    number: int
    served_as_stable: bool = False
    """The revision was stable at some point (first deploy, promotion or rollback target); only such
    revisions are candidates for ``agentctl rollback`` without ``--to-revision``."""


@dataclass(frozen=True)
class RolloutState:
    """Everything the machine remembers between reconciles; persisted in status."""

    stable_revision: str | None = None
    canary_revision: str | None = None
    step_index: int = 0
    step_started_at: datetime | None = None
    rollout_started_at: datetime | None = None
    restart_baseline: int = 0
    failed_revision: str | None = None
    """Aborted or rolled back; not retried until the spec changes or `agentctl retry`."""
    rollback_override: str | None = None
    """Revision a manual rollback pinned; holds while the spec still asks for ``rollback_from``."""
    rollback_from: str | None = None
    approval: Approval | None = None
    """The latest approval of the current canary."""
    evaluation: EvaluationRecord | None = None
    """The running or latest evaluation of the current canary."""
    approvals: tuple[Approval, ...] = ()
    """Every approval of the current canary, for its history entry."""
    evaluations: tuple[EvaluationRecord, ...] = ()
    """Every finished evaluation of the current canary, for its history entry."""
    handled_commands: tuple[tuple[str, datetime], ...] = ()
    """(verb, at) of the last command of each verb already acted on."""
    failure_reason: str | None = None
    """Why ``failed_revision`` failed, or why the in-flight canary is frozen (autoRollback off)."""
    blocked_revision: str | None = None
    """The desired revision policy or missing Secrets hold back (so Blocked is announced once)."""
    message: str = ""
    """Detail of ``failure_reason`` for humans."""
    analysis_passed: int = 0
    """Measurements of the current analyze step that passed."""
    analysis_measured_at: datetime | None = None
    """The last measurement of the current analyze step; the next one is an interval later."""
    background_measured_at: datetime | None = None
    """The last background measurement of the current canary."""
    analysis: AnalysisRun | None = None
    """The latest measurement (analyze step or background): the table status shows."""
    analysis_runs: tuple[AnalysisRun, ...] = ()
    """The latest measurements of the current canary (capped), for its history entry."""
    widenings: tuple[Widening, ...] = ()
    """What the current canary widens that its policy gates on: fixed when the canary starts, it
    puts an approval step before every other step. Without a canary: the egress widening of the
    spec (egress is no part of a revision) that waits for approval."""
    approved_egress: Egress | None = None
    """spec.network.egress as a human approved it for ``approved_egress_for``: the baseline a
    later egress change is compared with, until another revision becomes stable."""
    approved_egress_for: str | None = None
    """The stable revision ``approved_egress`` was approved on."""


@dataclass(frozen=True)
class RolloutInput:
    """Everything the machine needs to decide, gathered by the controller."""

    desired_revision: str
    """Revision the current spec asks for."""
    replicas: int
    rollout: Rollout
    paused: bool
    suspend: bool
    can_roll_out: bool
    """False while policy (Enforce) or missing Secrets hold the desired revision back."""
    state: RolloutState
    revisions: dict[str, RevisionObservation]
    history: tuple[HistoryEntry, ...]
    now: datetime
    commands: tuple[Command, ...] = ()
    evaluation: EvaluationObservation | None = None
    """The Job for ``state.evaluation`` if one was requested."""
    evaluation_spec: Evaluation | None = None
    """spec.evaluation: image, minScore and timeoutSeconds of the gate."""
    analysis_spec: Analysis | None = None
    """spec.analysis: the checks analyze steps and background analysis run."""
    analysis_runs: tuple[AnalysisRun, ...] = ()
    """Finished measurements the controller has for this agent (any revision, step or due time)."""
    widenings: tuple[Widening, ...] = ()
    """What the desired revision widens against the stable one, of the kinds the policy lists in
    approvalRequiredFor: a canary started for it waits for `agentctl approve` at step 0. With no
    new revision, an egress widening alone waits the same way (the NetworkPolicy holds)."""
    egress: Egress | None = None
    """spec.network.egress the spec asks for: what an approval of a widening approves."""
    budget_suspend: tuple[str, str] | None = None
    """(reason, message) when the spend cap scales every revision to 0 (the kill switch's path)."""
    budget_canary_over: tuple[str, str] | None = None
    """(revision, why) when that canary projects past its share of the spend cap."""


@dataclass(frozen=True)
class Event:
    """A decision worth a Kubernetes Event."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class HistoryUpdate:
    """A revision's outcome to record in its ControllerRevision."""

    revision: str
    outcome: RevisionOutcome
    reason: str
    approvals: tuple[Approval, ...] = ()
    evaluations: tuple[EvaluationRecord, ...] = ()
    analysis: tuple[AnalysisRun, ...] = ()


@dataclass(frozen=True)
class RolloutPlan:
    """What the controller must make true now."""

    replicas: dict[str, int]
    """Desired replicas per revision. Revisions not listed have their objects deleted."""
    state: RolloutState
    phase: RolloutPhase
    reason: str
    message: str
    complete: bool
    """The desired revision is stable and fully available, nothing else runs."""
    desired_weight: int | None = None
    actual_weight: int | None = None
    run_evaluation: bool = False
    """Create the evaluation Job for ``state.evaluation`` if it does not exist yet."""
    events: tuple[Event, ...] = ()
    history: tuple[HistoryUpdate, ...] = ()
    record_revision: str | None = None
    """A revision that starts rolling out and needs a ControllerRevision."""
    requeue_after: float | None = None
    """Seconds until a timer (pause, deadline, evaluation timeout) needs a look."""
    measure: tuple[AnalysisRequest, ...] = ()
    """Measurements that are due and not yet among ``RolloutInput.analysis_runs``."""
