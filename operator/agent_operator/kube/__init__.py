"""Kubernetes I/O: the only package that talks to the API server."""

from .client import FIELD_MANAGER, KubeApi, RetryPolicy, load_api_client
from .errors import KubeError, is_final
from .kinds import AGENT_DEPLOYMENT, CHILD_KINDS, READINESS_POLICY, Kind, kind_of

__all__ = [
    "AGENT_DEPLOYMENT",
    "CHILD_KINDS",
    "FIELD_MANAGER",
    "READINESS_POLICY",
    "Kind",
    "KubeApi",
    "KubeError",
    "RetryPolicy",
    "is_final",
    "kind_of",
    "load_api_client",
]
