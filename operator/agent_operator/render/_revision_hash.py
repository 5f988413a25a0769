"""The revision: a hash of exactly what the pod template and the runtime ConfigMap are made from."""

from __future__ import annotations

from typing import Any

from ..api import AgentDeployment
from ..api.base import ApiModel
from ._hashing import short_hash


def _wire(model: ApiModel | None) -> Any:
    return None if model is None else model.to_wire()


def revision_inputs(agent: AgentDeployment) -> dict[str, Any]:
    """The parts of the agent a revision is made of.

    Replicas, rollout, network, alerts, metrics scraping, evaluation, paused and suspend are left
    out on purpose: they change how revisions are run, scaled and reached, not what runs, so
    changing them never starts a new rollout.
    """
    spec = agent.spec
    observability = spec.observability
    return {
        "name": agent.metadata.name,
        "environment": spec.environment,
        "container": spec.container.to_wire(),
        "podTemplate": _wire(spec.pod_template),
        "secrets": None if spec.secrets is None else [s.to_wire() for s in spec.secrets],
        "model": _wire(spec.model),
        "runtime": _wire(spec.runtime),
        "logs": _wire(observability.logs) if observability else None,
        "tracing": _wire(observability.tracing) if observability else None,
        "audit": _wire(observability.audit) if observability else None,
    }


def revision_hash(agent: AgentDeployment) -> str:
    """10 lowercase hex characters identifying what runs; equal specs give equal revisions."""
    return short_hash(revision_inputs(agent))
