"""Reading what the planner needs from the cluster. Reads only; writes live in reconciler.py."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..api import AgentDeploymentSpec, ReadinessPolicy
from ..kube import AGENT_DEPLOYMENT, CHILD_KINDS, READINESS_POLICY, KubeApi
from ..kube.kinds import (
    CILIUM_NETWORK_POLICY,
    CONTROLLER_REVISION,
    JOB,
    NAMESPACE,
    OPTIONAL_KINDS,
    POD,
    SECRET,
    SERVICE_MONITOR,
    Kind,
)
from ..policy import PolicyError, load_policy
from ..render import AGENT_LABEL, EVALUATION_ROLE, ROLE_LABEL, ClusterCapabilities
from .plan import Observation
from .secrets import required_secrets

_log = logging.getLogger(__name__)


class CapabilityCache:
    """Which optional APIs (Cilium, Prometheus Operator) the cluster serves, refreshed now and
    then so that installing one later is picked up without a restart."""

    def __init__(self, kube: KubeApi, ttl_seconds: float = 300.0) -> None:
        self._kube = kube
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._value: ClusterCapabilities | None = None
        self._checked = 0.0

    def get(self) -> ClusterCapabilities:
        with self._lock:
            if self._value is None or time.monotonic() - self._checked > self._ttl:
                monitoring = self._kube.group_version_available(SERVICE_MONITOR.api_version)
                self._value = ClusterCapabilities(
                    cilium=self._kube.group_version_available(CILIUM_NETWORK_POLICY.api_version),
                    service_monitor=monitoring,
                    prometheus_rule=monitoring,
                )
                self._checked = time.monotonic()
            return self._value


def _optional(kind: Kind, caps: ClusterCapabilities) -> bool:
    """Kinds whose API may be absent: listing them is skipped when it is."""
    return kind in OPTIONAL_KINDS and not caps.serves(kind.group, kind.kind)


def _owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _needed_secrets(agent: dict[str, Any]) -> frozenset[str]:
    """Secrets the spec references; an unparsable spec needs none (the planner stalls it)."""
    try:
        return required_secrets(AgentDeploymentSpec.model_validate(agent.get("spec")))
    except ValidationError:
        return frozenset()


def valid_policies(kube: KubeApi) -> tuple[ReadinessPolicy, ...]:
    """ReadinessPolicies that parse and compile. A broken policy is skipped (and logged) rather
    than stopping every agent; the admission webhook keeps broken ones out in the first place."""
    out = []
    for raw in kube.list_objects(READINESS_POLICY):
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


def observe(
    kube: KubeApi, namespace: str, name: str, caps: ClusterCapabilities, now: datetime
) -> Observation | None:
    """Everything about one agent; None when it is gone or being deleted."""
    agent = kube.get(AGENT_DEPLOYMENT, name, namespace)
    if agent is None or agent.get("metadata", {}).get("deletionTimestamp"):
        return None
    ns = kube.get(NAMESPACE, namespace) or {}
    if (ns.get("metadata") or {}).get("deletionTimestamp"):
        # The namespace is going away with everything in it; recreating children there only
        # collects 403s from the apiserver.
        return None
    uid = agent["metadata"]["uid"]
    selector = f"{AGENT_LABEL}={name}"
    children: list[dict[str, Any]] = []
    for kind in CHILD_KINDS:
        if _optional(kind, caps):
            continue
        children.extend(o for o in kube.list_objects(kind, namespace, selector) if _owned_by(o, uid))
    history = [o for o in kube.list_objects(CONTROLLER_REVISION, namespace, selector) if _owned_by(o, uid)]
    jobs = [
        o
        for o in kube.list_objects(JOB, namespace, f"{selector},{ROLE_LABEL}={EVALUATION_ROLE}")
        if _owned_by(o, uid)
    ]
    pods = kube.list_objects(POD, namespace, selector)
    secrets = frozenset(n for n in _needed_secrets(agent) if kube.exists(SECRET, n, namespace))
    return Observation(
        agent=agent,
        children=tuple(children),
        history=tuple(history),
        jobs=tuple(jobs),
        pods=tuple(pods),
        policies=valid_policies(kube),
        namespace_labels=dict((ns.get("metadata") or {}).get("labels") or {}),
        secret_names=secrets,
        capabilities=caps,
        now=now,
    )
