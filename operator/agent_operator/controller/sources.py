"""What the operator watches into its cache, how each object is trimmed, and which agents a change
wakes. Pure: the informers (kube/informer.py) and the cache (cache.py) do the I/O.

Memory stays bounded by what the apiserver filters: children, revisions and pods by label, and
Secrets as metadata only (names, never values). Objects are trimmed before they are stored:
managedFields always, and pods down to the few fields the planner reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..kube.informer import Source
from ..kube.kinds import (
    AGENT_DEPLOYMENT,
    CHILDREN,
    CONTROLLER_REVISION,
    CUSTOM_RESOURCE_DEFINITION,
    JOB,
    NAMESPACE,
    POD,
    READINESS_POLICY,
    SECRET,
    Kind,
)
from ..kube.store import Change
from ..render import AGENT_LABEL, EVALUATION_ROLE, MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
CHILD_EVENT_DELAY_SECONDS = 0.2
"""A rollout step changes several children at once (Deployments, ReplicaSets, Jobs): a short delay
lets their events collapse into one reconcile."""
OPTIONAL_CRDS: Mapping[str, Kind] = {
    f"{c.kind.plural}.{c.kind.group}": c.kind for c in CHILDREN if c.optional
}
"""CRD name -> optional child kind (Cilium, Prometheus Operator): watched only while served."""
_WATCHED = frozenset(c.kind for c in CHILDREN if c.watched)


_IDENTITY = ("name", "namespace", "uid", "resourceVersion")


def _metadata(obj: Mapping[str, Any], *extra: str) -> dict[str, Any]:
    """The object's identity fields of metadata, plus ``extra`` ones, where present."""
    meta = obj.get("metadata") or {}
    return {k: meta[k] for k in (*_IDENTITY, *extra) if k in meta}


def _trim_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """What the planner reads of a pod: labels, owners, restarts and termination messages (the
    evaluation score). The rest of a pod is most of its size."""
    statuses = [
        {"restartCount": s.get("restartCount", 0), "state": _terminated_only(s.get("state") or {})}
        for s in (pod.get("status") or {}).get("containerStatuses") or []
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(pod, "labels", "ownerReferences", "deletionTimestamp"),
        "status": {"phase": (pod.get("status") or {}).get("phase"), "containerStatuses": statuses},
    }


def _terminated_only(state: Mapping[str, Any]) -> dict[str, Any]:
    terminated = state.get("terminated")
    if not isinstance(terminated, Mapping):
        return {}
    return {"terminated": {"message": terminated.get("message"), "exitCode": terminated.get("exitCode")}}


def _owner_only(obj: dict[str, Any]) -> dict[str, Any]:
    """ReplicaSets: nobody reads them; their changes only wake their agent (pods becoming ready
    show up there first)."""
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": _metadata(obj, "labels", "ownerReferences"),
    }


def _names_only(obj: dict[str, Any]) -> dict[str, Any]:
    """Secrets and CRDs: that they exist is all the operator needs."""
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": _metadata(obj, "deletionTimestamp"),
    }


def namespace_sources(namespace: str | None, optional: frozenset[Kind] = frozenset()) -> tuple[Source, ...]:
    """The namespaced sources of one watched namespace (None: the whole cluster). ``optional``:
    the add-on kinds the cluster serves now."""
    children = tuple(
        Source(
            c.kind,
            namespace,
            MANAGED_SELECTOR,
            transform=None if c.rendered or c.kind == JOB else _owner_only,
        )
        for c in CHILDREN
        if not c.optional or c.kind in optional
    )
    return (
        Source(AGENT_DEPLOYMENT, namespace),
        *children,
        Source(CONTROLLER_REVISION, namespace, AGENT_LABEL),
        Source(POD, namespace, AGENT_LABEL, transform=_trim_pod),
        Source(SECRET, namespace, metadata_only=True, transform=_names_only),
    )


def cluster_sources() -> tuple[Source, ...]:
    """Cluster-scoped sources: policies, CRDs (which add-ons are served) and namespaces (labels,
    deletion; in namespaced mode also which namespaces match the patterns)."""
    return (
        Source(READINESS_POLICY),
        Source(CUSTOM_RESOURCE_DEFINITION, metadata_only=True, transform=_names_only),
        Source(NAMESPACE),
    )


# -- which agents a change wakes ------------------------------------------------------------------


@dataclass(frozen=True)
class Wake:
    """Reconcile agents after a change: one agent, or every agent of a namespace, or all agents."""

    namespace: str | None
    """None: every agent."""
    name: str | None
    """None: every agent of the namespace."""
    delay: float = 0.0
    new: bool = False
    """The agent appeared (its first reconcile takes the first-run lane)."""
    gone: bool = False


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (obj or {}).get("metadata") or {}


def _agent_inputs(obj: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """What a reconcile of the agent depends on besides its own status (which only we write: our
    own status write must not wake it again)."""
    meta = _meta(obj)
    return (
        meta.get("uid"),
        meta.get("generation"),
        meta.get("annotations"),
        meta.get("labels"),
        meta.get("deletionTimestamp"),
    )


def _restarts(pod: Mapping[str, Any] | None) -> int:
    statuses = ((pod or {}).get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def wakes(change: Change) -> Wake | None:
    """Which reconciles one change calls for; None when no decision can depend on it."""
    kind, obj, old = change.kind, change.obj, change.old
    meta = _meta(obj)
    namespace = str(meta.get("namespace") or "")
    owner = (meta.get("labels") or {}).get(AGENT_LABEL)
    if kind == AGENT_DEPLOYMENT:
        if change.type == "DELETED":
            return Wake(namespace, str(meta.get("name")), gone=True)
        if change.type == "MODIFIED" and _agent_inputs(obj) == _agent_inputs(old):
            return None
        return Wake(namespace, str(meta.get("name")), new=change.type == "ADDED")
    if kind == READINESS_POLICY:
        return Wake(None, None)
    if kind == NAMESPACE:
        if change.type == "MODIFIED" and (meta.get("labels"), meta.get("deletionTimestamp")) == (
            _meta(old).get("labels"),
            _meta(old).get("deletionTimestamp"),
        ):
            return None
        return Wake(str(meta.get("name")), None)
    if kind == SECRET:
        return None if change.type == "MODIFIED" else Wake(namespace, None)
    if kind == CUSTOM_RESOURCE_DEFINITION:
        added_or_removed = change.type != "MODIFIED"
        return Wake(None, None) if added_or_removed and str(meta.get("name")) in OPTIONAL_CRDS else None
    if not owner:
        return None
    if kind == POD:
        evaluation = (meta.get("labels") or {}).get(ROLE_LABEL) == EVALUATION_ROLE
        if evaluation or change.type == "DELETED" or _restarts(obj) != _restarts(old):
            return Wake(namespace, str(owner), CHILD_EVENT_DELAY_SECONDS)
        return None
    if kind in _WATCHED or change.type == "DELETED":
        return Wake(namespace, str(owner), CHILD_EVENT_DELAY_SECONDS)
    return None
