"""Names, labels and metadata shared by every rendered object."""

from __future__ import annotations

from typing import Any, Final

from ..api import API_VERSION, AgentDeployment

AGENT_CONTAINER: Final = "agent"
"""Name of the agent's main container; the policy engine finds it by this name."""

# The one set of label and annotation keys the operator reads or writes. Which module parses the
# value of each stored key is noted beside it: nothing else reads or writes those keys.
PREFIX: Final = "agentoperator.dev"
AGENT_LABEL: Final = f"{PREFIX}/agent"
REVISION_LABEL: Final = f"{PREFIX}/revision"
ROLE_LABEL: Final = f"{PREFIX}/role"
"""Marks pods that carry the agent's labels but are not the agent (its evaluation Jobs)."""
EVALUATION_ROLE: Final = "evaluation"
EVALUATION_STEP_LABEL: Final = f"{PREFIX}/evaluation-step"
SERVICE_ROLE_LABEL: Final = f"{PREFIX}/service"
"""Tells the Services of one agent apart (all, stable, canary, revision) so that a ServiceMonitor
can pick exactly one Service per pod and no pod is scraped twice."""
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "agent-operator"

APPLIED_HASH: Final = f"{PREFIX}/applied-hash"
"""Hash of what the operator last applied to an object (controller.diff)."""
COMMAND_PREFIX: Final = f"{PREFIX}/command."
"""Command annotations on the AgentDeployment, one per verb (controller.commands)."""
OUTCOME: Final = f"{PREFIX}/outcome"
OUTCOME_REASON: Final = f"{PREFIX}/outcome-reason"
OUTCOME_AT: Final = f"{PREFIX}/outcome-at"
SERVED_AS_STABLE: Final = f"{PREFIX}/served-as-stable"
GATES: Final = f"{PREFIX}/gates"
"""ControllerRevision annotations; GATES holds {"approvals": [...], "evaluations": [...]} of the
revision's canary as JSON (controller.history_codec)."""


def agent_labels(agent: AgentDeployment) -> dict[str, str]:
    """Labels every object of the agent carries."""
    name = agent.metadata.name
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "agent",
        MANAGED_BY_LABEL: MANAGED_BY,
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
