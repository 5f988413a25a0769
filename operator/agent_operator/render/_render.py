"""The steady state of a spec: what `agentctl render` prints and the operator applies."""

from __future__ import annotations

from typing import Any, Final

from ..api import AgentDeployment
from ._capabilities import ClusterCapabilities
from ._revision import render_revision
from ._revision_hash import revision_hash
from ._shared import render_shared

# Identity and network policy before the workload, so pods never start unconfined; the
# Deployment's ConfigMap before the Deployment, so its pods never wait for their config.
APPLY_ORDER: Final = (
    "ServiceAccount",
    "NetworkPolicy",
    "CiliumNetworkPolicy",
    "ConfigMap",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "ServiceMonitor",
    "PrometheusRule",
)


def render(agent: AgentDeployment, capabilities: ClusterCapabilities | None = None) -> list[dict[str, Any]]:
    """Shared objects with this spec's revision as stable and no canary, plus that revision with
    spec.replicas pods (none while suspended), in apply order."""
    revision = revision_hash(agent)
    replicas = 0 if agent.spec.suspend else agent.spec.replicas
    objects = render_shared(agent, revision, None, capabilities or ClusterCapabilities()) + render_revision(
        agent, revision, replicas
    )
    # sorted() is stable, so objects of one kind keep their order: the shared Services first.
    return sorted(objects, key=lambda o: APPLY_ORDER.index(o["kind"]))
