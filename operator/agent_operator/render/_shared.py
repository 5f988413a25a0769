"""Objects shared by all revisions of an agent: identity, Services above the revisions, network
policy, disruption budget and monitoring."""

from __future__ import annotations

from typing import Any, Final

from ..api import AgentDeployment
from ._capabilities import ClusterCapabilities
from ._meta import ROLE_LABEL, agent_labels, agent_selector, object_meta, revision_selector
from ._monitoring import prometheus_rule, service_monitor
from ._network import cilium_network_policy, network_policy
from ._revision import service

PDB_MAX_UNAVAILABLE: Final = 1


def service_account(agent: AgentDeployment) -> dict[str, Any]:
    overlay = agent.spec.pod_template
    automount = bool(overlay and overlay.automount_service_account_token)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "automountServiceAccountToken": automount,
    }


def pod_disruption_budget(agent: AgentDeployment) -> dict[str, Any]:
    """Voluntary evictions take one pod at a time, across every revision of the agent."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(agent, agent.metadata.name, agent_labels(agent)),
        "spec": {
            "maxUnavailable": PDB_MAX_UNAVAILABLE,
            # Evaluation Job pods carry the agent's label too; a Job cannot be scaled, so a budget
            # that counted them would fail to compute.
            "selector": {
                "matchLabels": agent_selector(agent),
                "matchExpressions": [{"key": ROLE_LABEL, "operator": "DoesNotExist"}],
            },
        },
    }


def _services(agent: AgentDeployment, stable: str, canary: str | None) -> list[dict[str, Any]]:
    name = agent.metadata.name
    labels = agent_labels(agent)
    return [
        # Every serving revision: traffic follows the ratio of ready replicas.
        service(agent, name, labels, "all", agent_selector(agent)),
        service(agent, f"{name}-stable", labels, "stable", revision_selector(agent, stable)),
        # With no rollout in progress the canary Service points at stable, so callers pinned to it
        # keep working between rollouts.
        service(agent, f"{name}-canary", labels, "canary", revision_selector(agent, canary or stable)),
    ]


def render_shared(
    agent: AgentDeployment,
    stable_revision: str,
    canary_revision: str | None,
    capabilities: ClusterCapabilities,
) -> list[dict[str, Any]]:
    """The agent's objects that do not belong to one revision, in apply order: the network policy
    comes before any Service so that no pod is ever reachable without it."""
    objects: list[dict[str, Any]] = [service_account(agent), network_policy(agent)]
    if capabilities.cilium:
        fqdn_policy = cilium_network_policy(agent)
        if fqdn_policy is not None:
            objects.append(fqdn_policy)
    if agent.spec.container.ports:
        objects.extend(_services(agent, stable_revision, canary_revision))
    if agent.spec.replicas > 1:
        objects.append(pod_disruption_budget(agent))
    if capabilities.service_monitor:
        monitor = service_monitor(agent)
        if monitor is not None:
            objects.append(monitor)
    if capabilities.prometheus_rule:
        rule = prometheus_rule(agent)
        if rule is not None:
            objects.append(rule)
    return objects
