"""Objects of one revision: its runtime ConfigMap, Deployment and Service."""

from __future__ import annotations

from typing import Any, Final

from ..api import AgentDeployment
from ._meta import SERVICE_ROLE_LABEL, object_meta, revision_labels, revision_name, revision_selector
from ._pod import pod_template
from ._runtime_config import runtime_config_map

# History lives in the AgentDeployment's ControllerRevisions; a revision's Deployment only ever
# changes its template when the operator itself is upgraded, and that needs no undo.
DEPLOYMENT_HISTORY: Final = 1


def service_ports(agent: AgentDeployment) -> list[dict[str, Any]]:
    """Service ports for the container's ports, targeting them by name."""
    ports: list[dict[str, Any]] = []
    for port in agent.spec.container.ports or []:
        ports.append(
            {
                "name": port.name,
                "port": port.container_port,
                "targetPort": port.name,
                "protocol": port.protocol or "TCP",
            }
        )
    return ports


def service(
    agent: AgentDeployment, name: str, labels: dict[str, str], role: str, selector: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(agent, name, {**labels, SERVICE_ROLE_LABEL: role}),
        "spec": {"type": "ClusterIP", "selector": dict(selector), "ports": service_ports(agent)},
    }


def deployment(agent: AgentDeployment, revision: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(agent, revision_name(agent, revision), revision_labels(agent, revision)),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": DEPLOYMENT_HISTORY,
            "selector": {"matchLabels": revision_selector(agent, revision)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": pod_template(agent, revision),
        },
    }


def render_revision(agent: AgentDeployment, revision: str, replicas: int) -> list[dict[str, Any]]:
    """Revision ``revision`` of the spec, scaled to `replicas`: its immutable runtime ConfigMap, its
    Deployment `<name>-<rev>` and, when the container has ports, its Service `<name>-<rev>`.

    The caller names the revision (:func:`revision_hash` of the spec when it was first rolled out)
    and this never recomputes it: a revision rendered again from its stored snapshot keeps the name
    its live objects have, even if an upgrade changed how revisions are hashed.
    """
    if replicas < 0:
        raise ValueError(f"replicas must not be negative, got {replicas}")
    objects = [runtime_config_map(agent, revision), deployment(agent, revision, replicas)]
    if agent.spec.container.ports:
        objects.append(
            service(
                agent,
                revision_name(agent, revision),
                revision_labels(agent, revision),
                "revision",
                revision_selector(agent, revision),
            )
        )
    return objects
