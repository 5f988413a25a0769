"""The reconcile planner: observed cluster state in, the writes that make it right out.

Pure: it takes an :class:`Observation` gathered by the controller and returns a
:class:`ReconcilePlan`. It runs the same policy engine and renderer as `agentctl`, and the rollout
state machine, as five named steps after parsing the spec (invalid: Stalled, touch nothing):

1. :func:`_desired`: the revision the spec asks for, its policy verdict and missing Secrets;
2. :func:`_decide_rollout`: which revisions run with how many replicas (the rollout machine);
3. :func:`_objects_and_prunes`: every serving revision rendered from its own snapshot plus the
   shared objects, keeping only what differs from the live objects; what is no longer wanted
   (children, history beyond the limit) is pruned;
4. :func:`.history.history_writes`: ControllerRevisions to record or annotate with an outcome;
5. :mod:`.status`: the status (written only when it changed) and events.

A bug in here is not the spec's fault: it propagates, the controller logs the traceback and
reports ``InternalError`` in status with the exception's type only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api import AgentDeployment, ReadinessPolicy, format_validation_error
from ..api.agent import AgentDeploymentStatus, Rollout
from ..budget import CanaryShare
from ..kube.kinds import CONTROLLER_REVISION, Kind, kind_of
from ..policy import EffectivePolicy, ReadinessReport, evaluate, select_policy
from ..reeval import LIFT_HINT
from ..render import APPLY_ORDER, REVISION_LABEL, ClusterCapabilities, revision_hash
from ..rollout import plan_rollout
from ..rollout.types import ROLLOUT_VERBS, Command, Event, RevisionObservation, RolloutInput, RolloutPlan
from .analysis_runner import ERROR_TTL_SECONDS, AnalysisResult, MeasureJob, fingerprint
from .budget_plan import BudgetPlan, plan_budget
from .budget_runner import SpendJob, SpendResult
from .command_proof import verifier
from .commands import parse_commands
from .desired import desired_objects, label, object_key, revision_observations
from .diff import applied_hash, needs_apply
from .evaluation import evaluation_job, job_name
from .history import Revision, history_entries, history_writes, parse_history, to_prune
from .scheduled import job_observation, scheduled_decision, scheduled_job, score_record
from .secrets import required_secrets
from .status import agent_status, change_event, command_events, policy_events, stalled_status
from .status_codec import read_status, state_from_status
from .widening_gate import gating_widenings, held_egress

SECRET_RECHECK_SECONDS = 10.0


@dataclass(frozen=True)
class Observation:
    """Everything the planner may look at, read from the cluster by the controller."""

    agent: Mapping[str, Any]
    children: tuple[Mapping[str, Any], ...] = ()
    """Every object of CHILD_KINDS labelled with the agent's name."""
    history: tuple[Mapping[str, Any], ...] = ()
    """The agent's ControllerRevisions."""
    jobs: tuple[Mapping[str, Any], ...] = ()
    """The agent's evaluation Jobs."""
    pods: tuple[Mapping[str, Any], ...] = ()
    """The agent's pods and its evaluation pods."""
    policies: tuple[ReadinessPolicy, ...] = ()
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()
    capabilities: ClusterCapabilities = field(default_factory=ClusterCapabilities)
    now: datetime = field(default_factory=lambda: datetime.min)
    analysis: tuple[AnalysisResult, ...] = ()
    """Finished measurements of spec.analysis (from the controller's analysis runner)."""
    normalised: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Children as the apiserver stores them, keyed by applied-hash (controller/normalise.py)."""
    command_keys: tuple[bytes, ...] | None = field(default=None, repr=False)
    """Keys that verify command annotations' identity proofs (controller/command_proof.py); None
    when the operator serves no webhook, so nothing can vouch for a command's ``by``."""
    spend: SpendResult | None = None
    """The latest spend measurement of the agent's budget (from the controller's budget runner)."""
    budget_now: datetime | None = None
    """The budget clock (``now`` when unset): tests move it to cross midnight without sleeping."""


@dataclass(frozen=True)
class ObjectRef:
    """An object to delete."""

    kind: Kind
    name: str
    namespace: str | None
    uid: str | None = None


@dataclass(frozen=True)
class ReconcilePlan:
    """The writes of one reconcile, in the order the controller executes them: ``delete`` first
    (an emergency rollback removes the bad revision before the target scales up), then ``apply``
    (history records first, then children in dependency order), then ``create`` (evaluation Jobs),
    then ``status``, then ``events``."""

    apply: tuple[dict[str, Any], ...] = ()
    create: tuple[dict[str, Any], ...] = ()
    delete: tuple[ObjectRef, ...] = ()
    status: dict[str, Any] | None = None
    """The full new status, or None when the live one is already right."""
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None
    measure: tuple[MeasureJob, ...] = ()
    """Measurements of spec.analysis to run off the reconcile workers (not writes)."""
    spend: SpendJob | None = None
    """The budget's next spend measurement, when due (not a write)."""

    @property
    def writes(self) -> int:
        return len(self.apply) + len(self.create) + len(self.delete) + (self.status is not None)


def plan_reconcile(obs: Observation) -> ReconcilePlan:
    """What to write so that the cluster matches the AgentDeployment in ``obs``."""
    body = obs.agent
    try:
        agent = AgentDeployment.model_validate(
            {k: body[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in body}
        )
    except ValidationError as exc:
        lines = [str(e) for e in format_validation_error(exc, AgentDeployment)]
        return stalled_plan(
            obs,
            "InvalidSpec",
            "; ".join(lines[:5]) + (f" (+{len(lines) - 5} more)" if len(lines) > 5 else ""),
        )
    return _plan(obs, agent)


def stalled_plan(obs: Observation, reason: str, message: str) -> ReconcilePlan:
    """Touch no child; report why the agent cannot be acted on (kstatus Stalled)."""
    previous: dict[str, Any] = dict(obs.agent.get("status") or {})
    generation = obs.agent.get("metadata", {}).get("generation")
    status, events = stalled_status(previous, generation, reason, message, obs.now)
    return ReconcilePlan(status=None if status == previous else status, events=events)


@dataclass(frozen=True)
class _Desired:
    revision: str
    report: ReadinessReport
    missing: list[str]
    """Secrets the spec references that do not exist."""
    policy: EffectivePolicy

    @property
    def can_roll(self) -> bool:
        return not self.report.blocked and not self.missing


def _plan(obs: Observation, agent: AgentDeployment) -> ReconcilePlan:
    previous: dict[str, Any] = dict(obs.agent.get("status") or {})
    verify = None
    if obs.command_keys is not None:
        verify = verifier(obs.command_keys, agent.metadata.namespace or "", agent.metadata.name)
    commands, command_problems = parse_commands(agent.metadata.annotations, verify)
    before = read_status(previous)
    budget = plan_budget(
        agent,
        before.budget,
        obs.spend,
        commands,
        _canary_share(before),
        obs.budget_now or obs.now,
    )
    broken = _analysis_error(obs, agent)
    if broken is not None and broken.error is not None and budget.suspend is None:
        # Try again now and then: a Secret created later, or Prometheus fixed, heals it. The spend
        # cap keeps being measured meanwhile, and when it says zero replicas the plan below goes on
        # (the cap fails closed even while canary analysis is broken).
        retry = (broken.job,) if broken.job is not None else ()
        stalled = stalled_plan(obs, "AnalysisError", broken.error)
        return replace(stalled, measure=retry, spend=budget.job, requeue_after=ERROR_TTL_SECONDS)
    history = parse_history(obs.history)
    revisions = revision_observations(obs.children, obs.pods)

    desired = _desired(obs, agent)
    # spec.evaluation.schedule first: onRegression: Suspend holds the rollout at zero replicas.
    scheduled = scheduled_decision(agent, previous, obs.jobs, obs.pods, desired.revision, history, obs.now)
    rollout = _decide_rollout(obs, agent, desired, history, revisions, commands, scheduled.suspended, budget)
    apply, delete, live = _objects_and_prunes(obs, agent, desired, history, rollout)
    # History first: a revision's snapshot exists before anything runs it.
    records = history_writes(agent, history, rollout, obs.now)
    busy = {label(r, REVISION_LABEL) or "" for r in records}
    apply = [*records, *score_record(scheduled, history, busy), *apply]
    create = [*_evaluation_jobs(obs, agent, rollout), *scheduled_job(agent, scheduled, obs.jobs)]

    status = agent_status(
        agent, previous, desired.report, desired.revision, desired.missing, rollout, revisions,
        command_problems, obs.now, scheduled, budget.status, budget.conditions,
    )  # fmt: skip
    stable = rollout.state.stable_revision
    events = [
        *rollout.events,
        *policy_events(before, desired.report, desired.missing, desired.revision, stable),
        *command_events(before, command_problems),
        *scheduled.events,
        *budget.events,
    ]
    if apply or delete:
        deleted = [f"{r.kind.kind}/{r.name}" for r in delete]
        events.append(change_event(apply, deleted, live, before, read_status(status)))
    requeue = min(
        (t for t in (rollout.requeue_after, scheduled.requeue_after) if t is not None), default=None
    )
    if desired.missing:
        # Secrets are not watched (that would stream their values into the operator); look again
        # soon instead, so the agent recovers by itself once the Secret exists.
        requeue = min(requeue or SECRET_RECHECK_SECONDS, SECRET_RECHECK_SECONDS)
    if budget.requeue_after is not None:
        requeue = min(requeue or budget.requeue_after, budget.requeue_after)
    analysis = agent.spec.analysis
    measure = (
        tuple(MeasureJob(fingerprint(analysis), analysis, r) for r in rollout.measure) if analysis else ()
    )
    return ReconcilePlan(
        apply=tuple(apply),
        create=tuple(create),
        delete=tuple(delete),
        status=None if status == previous else status,
        events=tuple(events),
        requeue_after=requeue,
        measure=measure,
        spend=budget.job,
    )


def _current_results(obs: Observation, agent: AgentDeployment) -> list[AnalysisResult]:
    """Results measured under the current spec.analysis (an edited spec measures afresh)."""
    analysis = agent.spec.analysis
    if analysis is None:
        return []
    current = fingerprint(analysis)
    return [r for r in obs.analysis if r.fingerprint == current]


def _analysis_error(obs: Observation, agent: AgentDeployment) -> AnalysisResult | None:
    """Why the current canary's analysis cannot run (a query Prometheus rejects, a missing
    Secret): the agent is Stalled with the message, which names the metric or the Secret."""
    canary = (obs.agent.get("status") or {}).get("canaryRevision")
    errors = [r for r in _current_results(obs, agent) if r.error and r.revision == canary]
    return errors[-1] if errors else None


def _desired(obs: Observation, agent: AgentDeployment) -> _Desired:
    """Step 1: the revision the spec asks for, computed once here, and whether it may roll out."""
    policy = select_policy(agent, obs.policies, obs.namespace_labels)
    report = evaluate(agent, policy, obs.capabilities)
    missing = sorted(required_secrets(agent.spec) - obs.secret_names)
    return _Desired(revision_hash(agent), report, missing, policy)


def _decide_rollout(
    obs: Observation,
    agent: AgentDeployment,
    desired: _Desired,
    history: Mapping[str, Revision],
    revisions: dict[str, RevisionObservation],
    commands: tuple[Command, ...],
    regressed: bool,
    budget: BudgetPlan,
) -> RolloutPlan:
    """Step 2: the rollout machine, fed from the stored status, history and command annotations,
    and the budget's verdict (step 2a). ``regressed``: onRegression: Suspend holds the agent,
    through the kill switch's path."""
    spec = agent.spec
    state = state_from_status(obs.agent.get("status"))
    evaluation = None
    if state.evaluation is not None:
        ev = state.evaluation
        evaluation = job_observation(
            obs.jobs, obs.pods, job_name(agent.metadata.name, ev.revision, ev.step, ev.started_at)
        )
    plan = plan_rollout(
        RolloutInput(
            desired_revision=desired.revision,
            replicas=spec.replicas,
            rollout=spec.rollout or Rollout(),
            paused=spec.paused,
            suspend=spec.suspend or regressed,
            can_roll_out=desired.can_roll,
            state=state,
            revisions=revisions,
            history=history_entries(history),
            now=obs.now,
            commands=tuple(c for c in commands if c.verb in ROLLOUT_VERBS),
            evaluation=evaluation,
            evaluation_spec=spec.evaluation,
            analysis_spec=spec.analysis,
            analysis_runs=tuple(r.run for r in _current_results(obs, agent) if r.run is not None),
            widenings=gating_widenings(spec, desired.policy, history, state),
            egress=spec.network.egress if spec.network else None,
            budget_suspend=budget.suspend,
            budget_canary_over=_canary_over(budget, state.canary_revision),
        )
    )
    if regressed and not spec.suspend:
        held = state.stable_revision
        plan = replace(
            plan,
            reason="EvaluationRegressed",
            message=f"revision {held} scored below minScore on its scheduled evaluation: every revision "
            f"scaled to 0 (onRegression: Suspend), objects kept; {LIFT_HINT}",
        )
    return plan


def _canary_share(status: AgentDeploymentStatus) -> CanaryShare | None:
    """The canary in flight and the weight its step asks for, as last written."""
    if status.canary_revision is None or status.desired_weight is None:
        return None
    return CanaryShare(status.canary_revision, status.desired_weight)


def _canary_over(budget: BudgetPlan, canary: str | None) -> tuple[str, str] | None:
    why = budget.verdict.canary_over if budget.verdict is not None else None
    return (canary, why) if canary is not None and why is not None else None


def _objects_and_prunes(
    obs: Observation,
    agent: AgentDeployment,
    desired: _Desired,
    history: Mapping[str, Revision],
    rollout: RolloutPlan,
) -> tuple[list[dict[str, Any]], list[ObjectRef], dict[tuple[str, str, str], Mapping[str, Any]]]:
    """Step 3: children that differ from the live ones, in the renderer's dependency order
    (ServiceAccount and NetworkPolicy before the pods that need them); children no longer wanted
    and history beyond the limit to delete. Also returns the live children by key."""
    hold = held_egress(agent.spec, desired.policy, history, rollout.state)
    wanted = desired_objects(
        agent, desired.revision, desired.can_roll, history, rollout, obs.capabilities, hold_egress=hold
    )
    live = {object_key(o): o for o in obs.children}
    changed = [
        obj
        for key, obj in wanted.objects.items()
        if needs_apply(obj, live.get(key), obs.normalised.get(applied_hash(obj) or ""))
    ]
    apply = sorted(changed, key=lambda o: APPLY_ORDER.index(o["kind"]))
    delete = [
        _ref(o)
        for key, o in live.items()
        if key not in wanted.objects
        and label(o, REVISION_LABEL) not in wanted.untouchable
        and not (o.get("metadata") or {}).get("deletionTimestamp")
    ]
    state = rollout.state
    keep = (state.stable_revision, state.canary_revision, state.rollback_override, desired.revision)
    limit = (agent.spec.rollout or Rollout()).revision_history_limit
    delete.extend(
        ObjectRef(
            CONTROLLER_REVISION,
            r.body["metadata"]["name"],
            agent.metadata.namespace,
            r.body["metadata"].get("uid"),
        )
        for r in to_prune(history, limit, keep=keep)
    )
    return apply, delete, live


def _evaluation_jobs(obs: Observation, agent: AgentDeployment, rollout: RolloutPlan) -> list[dict[str, Any]]:
    """The evaluation Job the machine asked for, unless it exists already."""
    ev = rollout.state.evaluation
    if not rollout.run_evaluation or ev is None or agent.spec.evaluation is None:
        return []
    name = job_name(agent.metadata.name, ev.revision, ev.step, ev.started_at)
    if any(j["metadata"]["name"] == name for j in obs.jobs):
        return []
    return [evaluation_job(agent, ev.revision, ev.step, ev.started_at)]


def _ref(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj["metadata"]
    return ObjectRef(kind_of(dict(obj)), meta["name"], meta.get("namespace"), meta.get("uid"))
