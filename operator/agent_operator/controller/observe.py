"""What the planner sees of one agent, read from the watch cache: no request to the apiserver.

Every object comes out of the store as a fresh copy (the store keeps JSON), so nothing the planner
does to an Observation can change the cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api import AgentDeploymentSpec, ReadinessPolicy
from ..kube import AGENT_DEPLOYMENT, CHILD_KINDS, READINESS_POLICY
from ..kube.kinds import CONTROLLER_REVISION, JOB, NAMESPACE, OPTIONAL_KINDS, POD, SECRET, Kind
from ..kube.store import ObjectStore
from ..policy import PolicyError, load_policy
from ..render import EVALUATION_ROLE, ROLE_LABEL, ClusterCapabilities
from .plan import Observation
from .secrets import required_secrets

_log = logging.getLogger(__name__)


def _optional(kind: Kind, caps: ClusterCapabilities) -> bool:
    """Kinds whose API may be absent: skipped when it is."""
    return kind in OPTIONAL_KINDS and not caps.serves(kind.group, kind.kind)


def _owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _role(obj: Mapping[str, Any]) -> str | None:
    role = ((obj.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL)
    return str(role) if role else None


def _needed_secrets(agent: Mapping[str, Any]) -> frozenset[str]:
    """Secrets the spec references; an unparsable spec needs none (the planner stalls it)."""
    try:
        return required_secrets(AgentDeploymentSpec.model_validate(agent.get("spec")))
    except ValidationError:
        return frozenset()


def compile_policies(raws: Iterable[Mapping[str, Any]]) -> tuple[ReadinessPolicy, ...]:
    """ReadinessPolicies that parse and compile. A broken policy is skipped (and logged) rather
    than stopping every agent; the admission webhook keeps broken ones out in the first place."""
    out = []
    for raw in sorted(raws, key=lambda r: str((r.get("metadata") or {}).get("name"))):
        name = (raw.get("metadata") or {}).get("name")
        try:
            policy = ReadinessPolicy.model_validate(
                {k: raw[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in raw}
            )
            load_policy(policy)
        except (ValidationError, PolicyError) as exc:
            _log.warning("ignoring invalid ReadinessPolicy %s: %s", name, str(exc).splitlines()[0])
            continue
        out.append(policy)
    return tuple(out)


class PolicyCache:
    """The compiled ReadinessPolicies, recompiled once after a policy changed, not per reconcile."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._compiled: tuple[ReadinessPolicy, ...] | None = None

    def invalidate(self) -> None:
        with self._lock:
            self._compiled = None

    def get(self) -> tuple[ReadinessPolicy, ...]:
        with self._lock:
            if self._compiled is None:
                self._compiled = compile_policies(self._store.all(READINESS_POLICY))
            return self._compiled


def observe(
    store: ObjectStore,
    policies: tuple[ReadinessPolicy, ...],
    namespace: str,
    name: str,
    caps: ClusterCapabilities,
    now: datetime,
) -> Observation | None:
    """Everything about one agent; None when it is gone or being deleted."""
    agent = store.get(AGENT_DEPLOYMENT, namespace, name)
    if agent is None or (agent.get("metadata") or {}).get("deletionTimestamp"):
        return None
    ns = store.get(NAMESPACE, "", namespace) or {}
    if (ns.get("metadata") or {}).get("deletionTimestamp"):
        # The namespace is going away with everything in it; recreating children there only
        # collects 403s from the apiserver.
        return None
    uid = str((agent.get("metadata") or {}).get("uid"))
    children = [
        o
        for kind in CHILD_KINDS
        if not _optional(kind, caps)
        for o in store.for_agent(kind, namespace, name)
        if _owned_by(o, uid)
    ]
    history = [o for o in store.for_agent(CONTROLLER_REVISION, namespace, name) if _owned_by(o, uid)]
    jobs = [
        o for o in store.for_agent(JOB, namespace, name) if _owned_by(o, uid) and _role(o) == EVALUATION_ROLE
    ]
    secrets = frozenset(n for n in _needed_secrets(agent) if store.get(SECRET, namespace, n) is not None)
    return Observation(
        agent=agent,
        children=tuple(children),
        history=tuple(history),
        jobs=tuple(jobs),
        pods=tuple(store.for_agent(POD, namespace, name)),
        policies=policies,
        namespace_labels=dict((ns.get("metadata") or {}).get("labels") or {}),
        secret_names=secrets,
        capabilities=caps,
        now=now,
    )
