"""The reconcile planner: observed cluster state in, the writes that make it right out.

Pure: it takes an :class:`Observation` gathered by the controller and returns a
:class:`ReconcilePlan`. It runs the same policy engine and renderer as `agentctl`, and the
rollout state machine, in a fixed sequence:

1. parse the spec (invalid: Stalled, touch nothing);
2. judge it with the readiness policy, and look for the Secrets it needs;
3. let the rollout machine decide which revision runs with how many replicas;
4. render every serving revision from its own snapshot (config included) and the shared objects;
5. keep only the objects that differ from what is live, and prune what is no longer wanted;
6. compute the status, which is written only when it changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api import AgentDeployment, ReadinessPolicy, format_validation_error
from ..api.agent import AgentDeploymentSpec, Rollout
from ..kube.kinds import CONTROLLER_REVISION, Kind, kind_of
from ..policy import ReadinessReport, evaluate, select_policy
from ..render import (
    APPLY_ORDER,
    REVISION_LABEL,
    ClusterCapabilities,
    render_revision,
    render_shared,
    revision_hash,
)
from ..rollout import plan_rollout
from ..rollout.types import Event, RevisionObservation, RolloutInput, RolloutPlan
from .commands import parse_commands
from .conditions import Cond, build_conditions
from .diff import APPLIED_HASH, applied_hash, needs_apply, with_applied_hash
from .evaluation import evaluation_job, job_name, observe_evaluation
from .history import OUTCOME, Revision, history_entries, new_revision, parse_history, to_prune, with_outcome
from .rollout_codec import state_from_status, state_to_status
from .secrets import required_secrets

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
    normalised: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Children as the apiserver stores them, keyed by applied-hash (controller/normalise.py)."""


@dataclass(frozen=True)
class ObjectRef:
    """An object to delete."""

    kind: Kind
    name: str
    namespace: str | None
    uid: str | None = None


@dataclass(frozen=True)
class ReconcilePlan:
    """Writes to make, in order: apply, create, delete; then status and events."""

    apply: tuple[dict[str, Any], ...] = ()
    create: tuple[dict[str, Any], ...] = ()
    delete: tuple[ObjectRef, ...] = ()
    status: dict[str, Any] | None = None
    """The full new status, or None when the live one is already right."""
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None

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
    try:
        return _plan(obs, agent)
    except (ValueError, TypeError, KeyError) as exc:
        # A spec the schema admits but the renderer cannot turn into objects must stall this
        # agent with the reason, not crash-loop the operator.
        return stalled_plan(obs, "RenderFailed", f"{type(exc).__name__}: {exc}")


def stalled_plan(obs: Observation, reason: str, message: str) -> ReconcilePlan:
    """Touch no child; report why the agent cannot be acted on (kstatus Stalled)."""
    meta = obs.agent.get("metadata", {})
    previous: dict[str, Any] = dict(obs.agent.get("status") or {})
    generation = meta.get("generation")
    conditions = [
        Cond("Ready", "False", reason, message),
        Cond("Reconciling", "False", reason, "the spec cannot be acted on until it is fixed"),
        Cond("Stalled", "True", reason, message),
    ]
    status = {
        **{k: v for k, v in previous.items() if k not in ("conditions", "phase", "observedGeneration")},
        "observedGeneration": generation,
        "phase": "Failed",
        "conditions": build_conditions(conditions, previous.get("conditions"), generation, obs.now),
    }
    events: tuple[Event, ...] = ()
    if _condition(previous, "Stalled") != ("True", reason, message[:1024]):
        events = (Event("Warning", reason, message),)
    return ReconcilePlan(status=None if status == previous else status, events=events)


def _condition(status: Mapping[str, Any], type_: str) -> tuple[str, str, str] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == type_:
            return (str(c.get("status")), str(c.get("reason")), str(c.get("message", "")))
    return None


def _label(obj: Mapping[str, Any], key: str) -> str | None:
    labels: Mapping[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(key)


def _revision_observations(
    children: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> dict[str, RevisionObservation]:
    restarts: dict[str, int] = {}
    for pod in pods:
        rev = _label(pod, REVISION_LABEL)
        if rev is None or _label(pod, "agentoperator.dev/role"):
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        restarts[rev] = restarts.get(rev, 0) + sum(int(s.get("restartCount") or 0) for s in statuses)
    out: dict[str, RevisionObservation] = {}
    for obj in children:
        if obj.get("kind") != "Deployment":
            continue
        rev = _label(obj, REVISION_LABEL)
        if rev is None:
            continue
        st = obj.get("status") or {}
        out[rev] = RevisionObservation(
            revision=rev,
            replicas=int((obj.get("spec") or {}).get("replicas") or 0),
            pods=int(st.get("replicas") or 0),
            ready=int(st.get("readyReplicas") or 0),
            available=int(st.get("availableReplicas") or 0),
            restarts=restarts.get(rev, 0),
            exists=True,
        )
    return out


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(obj.get("apiVersion")), str(obj.get("kind")), str(obj["metadata"]["name"]))


def _plan(obs: Observation, agent: AgentDeployment) -> ReconcilePlan:
    meta = obs.agent.get("metadata", {})
    previous: dict[str, Any] = dict(obs.agent.get("status") or {})
    spec = agent.spec

    # 2. Policy and Secrets.
    policy = select_policy(agent, obs.policies, obs.namespace_labels)
    report = evaluate(agent, policy, obs.capabilities)
    desired = revision_hash(agent)
    missing = sorted(required_secrets(spec) - obs.secret_names)
    can_roll = not report.blocked and not missing

    # 3. Rollout decision.
    history = parse_history(obs.history)
    state = state_from_status(previous)
    revisions = _revision_observations(obs.children, obs.pods)
    commands, command_problems = parse_commands(meta.get("annotations"))
    evaluation = None
    if state.evaluation is not None:
        name = job_name(
            agent.metadata.name, state.evaluation.revision, state.evaluation.step, state.evaluation.started_at
        )
        job = next((j for j in obs.jobs if j["metadata"]["name"] == name), None)
        job_pods = [
            p
            for p in obs.pods
            if _label(p, "batch.kubernetes.io/job-name") == name or _label(p, "job-name") == name
        ]
        evaluation = observe_evaluation(job, job_pods)
    rollout = plan_rollout(
        RolloutInput(
            desired_revision=desired,
            replicas=spec.replicas,
            rollout=spec.rollout or Rollout(),
            paused=spec.paused,
            suspend=spec.suspend,
            can_roll_out=can_roll,
            state=state,
            revisions=revisions,
            history=history_entries(history),
            now=obs.now,
            commands=commands,
            evaluation=evaluation,
            evaluation_spec=spec.evaluation,
        )
    )

    # 4. Desired objects.
    snapshots: dict[str, AgentDeploymentSpec] = {r: h.spec for r, h in history.items() if h.spec is not None}
    if can_roll:
        snapshots[desired] = spec
    wanted: list[dict[str, Any]] = []
    untouchable: set[str] = set()
    stable = rollout.state.stable_revision
    order = sorted(rollout.replicas, key=lambda r: (r != stable, r))
    for rev in order:
        snapshot = snapshots.get(rev)
        if snapshot is None:
            untouchable.add(rev)
            continue
        wanted.extend(render_revision(agent.model_copy(update={"spec": snapshot}), rollout.replicas[rev]))
    if stable is not None:
        shared_spec = spec if can_roll else snapshots.get(stable, spec)
        wanted.extend(
            render_shared(
                agent.model_copy(update={"spec": shared_spec}),
                stable,
                rollout.state.canary_revision,
                obs.capabilities,
            )
        )
    unique: dict[tuple[str, str, str], dict[str, Any]] = {}
    for obj in wanted:
        unique.setdefault(_key(obj), with_applied_hash(obj))

    # 5. Differences.
    live = {_key(o): o for o in obs.children}
    # History first (a revision's snapshot exists before anything runs it), then children in the
    # renderer's dependency order (ServiceAccount and NetworkPolicy before the pods that need them).
    changed = [
        obj
        for key, obj in unique.items()
        if needs_apply(obj, live.get(key), obs.normalised.get(applied_hash(obj) or ""))
    ]
    to_apply = _history_writes(agent, history, rollout, obs.now)
    to_apply.extend(sorted(changed, key=lambda o: APPLY_ORDER.index(o["kind"])))
    to_delete = [
        _ref(o)
        for key, o in live.items()
        if key not in unique
        and _label(o, REVISION_LABEL) not in untouchable
        and not (o.get("metadata") or {}).get("deletionTimestamp")
    ]
    to_delete.extend(
        ObjectRef(
            CONTROLLER_REVISION,
            r.body["metadata"]["name"],
            agent.metadata.namespace,
            r.body["metadata"].get("uid"),
        )
        for r in to_prune(
            history,
            (spec.rollout or Rollout()).revision_history_limit,
            keep=(stable, rollout.state.canary_revision, rollout.state.rollback_override, desired),
        )
    )
    to_create: list[dict[str, Any]] = []
    if rollout.run_evaluation and rollout.state.evaluation is not None and spec.evaluation is not None:
        ev = rollout.state.evaluation
        name = job_name(agent.metadata.name, ev.revision, ev.step, ev.started_at)
        if not any(j["metadata"]["name"] == name for j in obs.jobs):
            to_create.append(evaluation_job(agent, ev.revision, ev.step, ev.started_at))

    # 6. Status and events.
    status = _status(agent, previous, report, desired, missing, rollout, revisions, obs.now)
    if command_problems:
        status["commandProblems"] = command_problems
    events = list(rollout.events)
    events.extend(_policy_events(previous, report, missing, desired, stable))
    if command_problems != previous.get("commandProblems", []):
        events.extend(Event("Warning", "InvalidCommand", p) for p in command_problems)
    if to_apply or to_delete:
        events.append(_change_event(to_apply, to_delete, live, previous, status))
    requeue = rollout.requeue_after
    if missing:
        # Secrets are not watched (that would stream their values into the operator); look again
        # soon instead, so the agent recovers by itself once the Secret exists.
        requeue = min(requeue or SECRET_RECHECK_SECONDS, SECRET_RECHECK_SECONDS)
    return ReconcilePlan(
        apply=tuple(to_apply),
        create=tuple(to_create),
        delete=tuple(to_delete),
        status=None if status == previous else status,
        events=tuple(events),
        requeue_after=requeue,
    )


def _ref(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj["metadata"]
    return ObjectRef(kind_of(dict(obj)), meta["name"], meta.get("namespace"), meta.get("uid"))


def _history_writes(
    agent: AgentDeployment, history: Mapping[str, Revision], rollout: RolloutPlan, now: datetime
) -> list[dict[str, Any]]:
    writes: list[dict[str, Any]] = []
    entries = dict(history)
    rec = rollout.record_revision
    if rec is not None and rec not in history:
        # A revision recorded and given its outcome in the same plan (the first deploy is
        # Promoted at once): the outcome goes into the record it is created with.
        number = max((h.number for h in history.values()), default=0) + 1
        body = new_revision(agent, rec, number)
        entries[rec] = Revision(rec, number, agent.spec, {}, "", body)
        if not any(u.revision == rec for u in rollout.history):
            writes.append(with_applied_hash(body))
    for update in rollout.history:
        entry = entries.get(update.revision)
        if entry is None or entry.annotations.get(OUTCOME) == update.outcome:
            continue
        writes.append(with_applied_hash(with_outcome(entry, update, now)))
    return writes


def _status(
    agent: AgentDeployment,
    previous: Mapping[str, Any],
    report: ReadinessReport,
    desired: str,
    missing: list[str],
    rollout: RolloutPlan,
    revisions: Mapping[str, RevisionObservation],
    now: datetime,
) -> dict[str, Any]:
    generation = agent.metadata.generation
    state = rollout.state
    blocked_by_policy = report.blocked and desired not in (state.stable_revision, state.rollback_override)
    conditions = [
        Cond(
            "Ready",
            "True" if rollout.complete and rollout.phase == "Available" else "False",
            "Available" if rollout.complete and rollout.phase == "Available" else rollout.reason,
            rollout.message,
        ),
        Cond(
            "Reconciling",
            "True" if rollout.phase in ("Pending", "Progressing") else "False",
            rollout.reason if rollout.phase in ("Pending", "Progressing") else "Idle",
            rollout.message if rollout.phase in ("Pending", "Progressing") else "",
        ),
        _stalled_condition(rollout, report, missing, blocked_by_policy),
        _policy_condition(report),
        _progressing_condition(rollout),
    ]
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": rollout.phase,
        "conditions": build_conditions(conditions, previous.get("conditions"), generation, now),
        "replicas": sum(r.pods for r in revisions.values()),
        "readyReplicas": sum(r.ready for r in revisions.values()),
        "availableReplicas": sum(r.available for r in revisions.values()),
        "updatedReplicas": revisions[desired].pods if desired in revisions else 0,
        "selector": f"agentoperator.dev/agent={agent.metadata.name}",
        "currentRevision": desired,
        "readiness": {
            "ready": report.ready,
            "score": report.score,
            "policy": report.policy,
            "enforcement": report.enforcement,
            "missingRequired": list(report.missing_required),
            "warnings": list(report.warnings),
        },
        "rollout": state_to_status(state),
    }
    for key, value in (
        ("stableRevision", state.stable_revision),
        ("canaryRevision", state.canary_revision),
        ("desiredWeight", rollout.desired_weight),
        ("actualWeight", rollout.actual_weight),
    ):
        if value is not None:
            status[key] = value
    if missing:
        status["missingSecrets"] = missing
    return status


def _stalled_condition(
    rollout: RolloutPlan, report: ReadinessReport, missing: list[str], blocked_by_policy: bool
) -> Cond:
    if rollout.phase == "Blocked" and blocked_by_policy:
        return Cond(
            "Stalled",
            "True",
            "PolicyViolation",
            f"{report.policy} requires: {', '.join(report.missing_required)}",
        )
    if rollout.phase == "Blocked" and missing:
        return Cond("Stalled", "True", "SecretsMissing", f"waiting for Secrets: {', '.join(missing)}")
    if rollout.phase == "Degraded" and rollout.state.failed_revision:
        return Cond("Stalled", "True", rollout.reason, rollout.message)
    return Cond("Stalled", "False", "NotStalled")


def _policy_condition(report: ReadinessReport) -> Cond:
    if report.ready and not report.warnings:
        return Cond("PolicyCompliant", "True", "AllChecksPass", f"{report.policy}: score {report.score}")
    if report.ready:
        return Cond(
            "PolicyCompliant",
            "True",
            "RequiredChecksPass",
            f"{report.policy}: warnings: {', '.join(report.warnings)}",
        )
    reason = {
        "Enforce": "RequiredChecksFailing",
        "Warn": "RequiredChecksFailingWarnOnly",
        "Audit": "RequiredChecksFailingAuditOnly",
    }
    return Cond(
        "PolicyCompliant",
        "False",
        reason[report.enforcement],
        f"{report.policy} ({report.enforcement}): failing: {', '.join(report.missing_required)}",
    )


def _progressing_condition(rollout: RolloutPlan) -> Cond:
    if rollout.phase == "Paused":
        return Cond("Progressing", "Unknown", "RolloutPaused", rollout.message)
    if rollout.phase == "Degraded":
        return Cond("Progressing", "False", rollout.reason, rollout.message)
    if rollout.complete:
        return Cond("Progressing", "True", "RolloutComplete", rollout.message)
    return Cond(
        "Progressing",
        "True" if rollout.phase in ("Pending", "Progressing") else "False",
        rollout.reason,
        rollout.message,
    )


def _policy_events(
    previous: Mapping[str, Any], report: ReadinessReport, missing: list[str], desired: str, stable: str | None
) -> list[Event]:
    events: list[Event] = []
    before = previous.get("readiness") or {}
    failing = list(report.missing_required)
    changed = before.get("missingRequired", []) != failing or before.get("warnings", []) != list(
        report.warnings
    )
    if changed and failing:
        if report.blocked:
            held = f"revision {desired} is not rolled out" + (
                f"; {stable} keeps serving" if stable and stable != desired else ""
            )
            events.append(
                Event(
                    "Warning",
                    "PolicyViolation",
                    f"{report.policy}: failing required checks {', '.join(failing)}; {held}",
                )
            )
        elif report.enforcement == "Warn":
            events.append(
                Event(
                    "Warning",
                    "PolicyWarning",
                    f"{report.policy}: failing required checks {', '.join(failing)} (Warn: rolled out)",
                )
            )
        else:
            events.append(
                Event(
                    "Normal",
                    "PolicyAudit",
                    f"{report.policy}: failing required checks {', '.join(failing)} (Audit)",
                )
            )
    elif changed and report.warnings:
        events.append(
            Event("Normal", "PolicyWarning", f"{report.policy}: warnings {', '.join(report.warnings)}")
        )
    if missing and previous.get("missingSecrets") != missing:
        events.append(
            Event("Warning", "SecretsMissing", f"revision {desired} waits for Secrets: {', '.join(missing)}")
        )
    return events


def _change_event(
    applied: list[dict[str, Any]],
    deleted: list[ObjectRef],
    live: Mapping[tuple[str, str, str], Mapping[str, Any]],
    previous: Mapping[str, Any],
    status: Mapping[str, Any],
) -> Event:
    """One event per reconcile that writes. Rewrites of objects the agent's spec did not ask to
    change are called out as drift: somebody edited or deleted what the operator owns."""
    settled = previous.get("phase") == "Available" and all(
        previous.get(k) == status.get(k) for k in ("observedGeneration", "currentRevision", "stableRevision")
    )
    created: list[str] = []
    updated: list[str] = []
    reverted: list[str] = []
    recreated: list[str] = []
    for obj in applied:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        old = live.get(_key(obj))
        if old is None:
            (recreated if settled else created).append(name)
        elif (old.get("metadata", {}).get("annotations") or {}).get(APPLIED_HASH) == obj["metadata"][
            "annotations"
        ][APPLIED_HASH]:
            reverted.append(name)
        else:
            updated.append(name)
    parts = [
        f"{verb} {', '.join(names)}"
        for verb, names in (
            ("created", created),
            ("updated", updated),
            ("recreated deleted", recreated),
            ("reverted edits to", reverted),
            ("deleted", [f"{r.kind.kind}/{r.name}" for r in deleted]),
        )
        if names
    ]
    return Event("Normal", "DriftCorrected" if (reverted or recreated) else "Applied", "; ".join(parts))
