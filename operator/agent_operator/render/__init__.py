"""The renderer: a pure function from an AgentDeployment (and what the cluster supports) to the
Kubernetes objects the operator applies. Same input, byte-identical output."""

from ._capabilities import ClusterCapabilities
from ._meta import AGENT_CONTAINER
from ._render import render
from ._revision import render_revision
from ._revision_hash import revision_hash
from ._shared import render_shared
from ._yaml import to_yaml

__all__ = [
    "AGENT_CONTAINER",
    "ClusterCapabilities",
    "render",
    "render_revision",
    "render_shared",
    "revision_hash",
    "to_yaml",
]
