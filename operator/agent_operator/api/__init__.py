"""The API: pydantic models of the custom resources, the single source of truth for the CRDs."""

from .agent import (
    API_VERSION,
    GROUP,
    VERSION,
    AgentDeployment,
    AgentDeploymentSpec,
    AgentDeploymentStatus,
)
from .errors import ApiError, format_validation_error
from .policy import ReadinessPolicy, ReadinessPolicySpec

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "AgentDeployment",
    "AgentDeploymentSpec",
    "AgentDeploymentStatus",
    "ApiError",
    "ReadinessPolicy",
    "ReadinessPolicySpec",
    "format_validation_error",
]
