"""Names, labels and metadata shared by every rendered object."""

from __future__ import annotations

from typing import Any, Final

from ..api import API_VERSION, AgentDeployment

AGENT_CONTAINER: Final = "agent"
"""Name of the agent's main container; the policy engine finds it by this name."""

AGENT_LABEL: Final = "agentoperator.dev/agent"
REVISION_LABEL: Final = "agentoperator.dev/revision"
ROLE_LABEL: Final = "agentoperator.dev/role"
"""Marks pods that carry the agent's labels but are not the agent (its evaluation Jobs)."""
EVALUATION_ROLE: Final = "evaluation"
SERVICE_ROLE_LABEL: Final = "agentoperator.dev/service"
"""Tells the Services of one agent apart (all, stable, canary, revision) so that a ServiceMonitor
can pick exactly one Service per pod and no pod is scraped twice."""


def agent_labels(agent: AgentDeployment) -> dict[str, str]:
    """Labels every object of the agent carries."""
    name = agent.metadata.name
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "agent",
        "app.kubernetes.io/managed-by": "agent-operator",
        AGENT_LABEL: name,
    }


def revision_labels(agent: AgentDeployment, revision: str) -> dict[str, str]:
    """Labels of per-revision objects and of the revision's pods."""
    return {**agent_labels(agent), REVISION_LABEL: revision}


def agent_selector(agent: AgentDeployment) -> dict[str, str]:
    """Matches every pod of the agent, whatever its revision."""
    return {AGENT_LABEL: agent.metadata.name}


def evaluation_selector(agent: AgentDeployment) -> dict[str, str]:
    """Matches the agent's evaluation Job pods."""
    return {AGENT_LABEL: agent.metadata.name, ROLE_LABEL: EVALUATION_ROLE}


def revision_selector(agent: AgentDeployment, revision: str) -> dict[str, str]:
    """Matches the pods of one revision."""
    return {AGENT_LABEL: agent.metadata.name, REVISION_LABEL: revision}


def object_meta(agent: AgentDeployment, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """metadata of a rendered object: namespace when known, owner reference when the agent has a uid.

    Offline rendering has no uid, so it cannot claim an owner; the operator renders from the
    live object and gets garbage collection for free.
    """
    meta: dict[str, Any] = {"name": name}
    if agent.metadata.namespace:
        meta["namespace"] = agent.metadata.namespace
    meta["labels"] = dict(labels)
    if agent.metadata.uid:
        meta["ownerReferences"] = [
            {
                "apiVersion": API_VERSION,
                "kind": "AgentDeployment",
                "name": agent.metadata.name,
                "uid": agent.metadata.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return meta


def revision_name(agent: AgentDeployment, revision: str) -> str:
    """Name of a revision's Deployment and Service: at most 50 + 1 + 10 = 61 characters."""
    return f"{agent.metadata.name}-{revision}"
