"""Step one of a reconcile: the objects that should exist, and what the cluster shows of each revision.

Every serving revision is rendered from its own snapshot in history (image *and* runtime config),
under the revision name it was recorded with; the shared objects follow the current spec once it
may roll out, else the stable revision's snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..api import AgentDeployment
from ..api.agent import AgentDeploymentSpec, Egress, Network
from ..render import REVISION_LABEL, ROLE_LABEL, ClusterCapabilities, render_revision, render_shared
from ..rollout.types import RevisionObservation, RolloutPlan
from .diff import with_applied_hash
from .history import Revision

ObjectKey = tuple[str, str, str]
"""(apiVersion, kind, name): how a desired object is matched with the live one."""


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    return (str(obj.get("apiVersion")), str(obj.get("kind")), str(obj["metadata"]["name"]))


def label(obj: Mapping[str, Any], key: str) -> str | None:
    labels: Mapping[str, str] = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(key)


@dataclass(frozen=True)
class DesiredObjects:
    objects: dict[ObjectKey, dict[str, Any]]
    """Every object that should exist, carrying its applied-hash."""
    untouchable: frozenset[str]
    """Revisions that should run but whose snapshot no longer parses: their live objects are left
    alone rather than deleted."""


def desired_objects(
    agent: AgentDeployment,
    desired: str,
    can_roll: bool,
    history: Mapping[str, Revision],
    rollout: RolloutPlan,
    capabilities: ClusterCapabilities,
    hold_egress: Egress | None = None,
) -> DesiredObjects:
    """With ``hold_egress``, the shared objects (NetworkPolicy) allow that egress instead of the
    spec's: the spec's widening waits for approval (controller/widening_gate.py)."""
    snapshots: dict[str, AgentDeploymentSpec] = {r: h.spec for r, h in history.items() if h.spec is not None}
    if can_roll:
        snapshots[desired] = agent.spec
    wanted: list[dict[str, Any]] = []
    untouchable: set[str] = set()
    stable = rollout.state.stable_revision
    for rev in sorted(rollout.replicas, key=lambda r: (r != stable, r)):
        snapshot = snapshots.get(rev)
        if snapshot is None:
            untouchable.add(rev)
            continue
        wanted.extend(
            render_revision(agent.model_copy(update={"spec": snapshot}), rev, rollout.replicas[rev])
        )
    if stable is not None:
        shared_spec = agent.spec if can_roll else snapshots.get(stable, agent.spec)
        if hold_egress is not None:
            network = (shared_spec.network or Network()).model_copy(update={"egress": hold_egress})
            shared_spec = shared_spec.model_copy(update={"network": network})
        wanted.extend(
            render_shared(
                agent.model_copy(update={"spec": shared_spec}),
                stable,
                rollout.state.canary_revision,
                capabilities,
            )
        )
    unique: dict[ObjectKey, dict[str, Any]] = {}
    for obj in wanted:
        unique.setdefault(object_key(obj), with_applied_hash(obj))
    return DesiredObjects(unique, frozenset(untouchable))


def revision_observations(
    children: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> dict[str, RevisionObservation]:
    """Replicas and pod counts of each revision's Deployment, with the restarts of its pods."""
    restarts: dict[str, int] = {}
    for pod in pods:
        rev = label(pod, REVISION_LABEL)
        if rev is None or label(pod, ROLE_LABEL):
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        restarts[rev] = restarts.get(rev, 0) + sum(int(s.get("restartCount") or 0) for s in statuses)
    out: dict[str, RevisionObservation] = {}
    for obj in children:
        if obj.get("kind") != "Deployment":
            continue
        rev = label(obj, REVISION_LABEL)
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
