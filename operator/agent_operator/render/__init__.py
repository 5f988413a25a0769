"""The renderer: a pure function from an AgentDeployment (and what the cluster supports) to the
Kubernetes objects the operator applies. Same input, byte-identical output.

Besides the rendering functions, the labels, metadata and hardened security contexts are exported
so that other objects the operator creates for an agent (evaluation Jobs, ControllerRevisions)
look and behave like the rendered ones.
"""

from ._capabilities import ClusterCapabilities
from ._meta import (
    AGENT_CONTAINER,
    AGENT_LABEL,
    APPLIED_HASH,
    COMMAND_PREFIX,
    EVALUATION_ROLE,
    EVALUATION_STEP_LABEL,
    GATES,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    OUTCOME,
    OUTCOME_AT,
    OUTCOME_REASON,
    PREFIX,
    REVISION_LABEL,
    ROLE_LABEL,
    SERVED_AS_STABLE,
    agent_labels,
    object_meta,
    revision_labels,
)
from ._pod import hardened_container_security_context, hardened_pod_security_context
from ._render import APPLY_ORDER, render
from ._revision import render_revision
from ._revision_hash import revision_hash
from ._shared import render_shared
from ._yaml import to_yaml

__all__ = [
    "AGENT_CONTAINER",
    "AGENT_LABEL",
    "APPLIED_HASH",
    "APPLY_ORDER",
    "COMMAND_PREFIX",
    "EVALUATION_ROLE",
    "EVALUATION_STEP_LABEL",
    "GATES",
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "OUTCOME",
    "OUTCOME_AT",
    "OUTCOME_REASON",
    "PREFIX",
    "REVISION_LABEL",
    "ROLE_LABEL",
    "SERVED_AS_STABLE",
    "ClusterCapabilities",
    "agent_labels",
    "hardened_container_security_context",
    "hardened_pod_security_context",
    "object_meta",
    "render",
    "render_revision",
    "render_shared",
    "revision_hash",
    "revision_labels",
    "to_yaml",
]
