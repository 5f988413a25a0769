"""Object metadata and status conditions, in the shape Kubernetes uses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .base import MAX_SAFE_INTEGER, MIN_SAFE_INTEGER, ApiModel


class ObjectMeta(ApiModel):
    """The parts of metadata the operator reads. Server-set fields are accepted and kept."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=253)
    """Object name."""
    namespace: str | None = None
    """Namespace, for namespaced objects."""
    labels: dict[str, str] | None = None
    """Labels."""
    annotations: dict[str, str] | None = None
    """Annotations."""
    uid: str | None = None
    """Server-assigned identity."""
    generation: int | None = None
    """Spec generation, bumped by the server on every spec change."""
    resource_version: str | None = None
    """Optimistic-concurrency version."""

    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Condition(ApiModel):
    """A kstatus-style condition."""

    type: str
    """Condition type, for example Ready."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    reason: str | None = None
    """CamelCase reason."""
    message: str | None = None
    """Human-readable detail."""
    last_transition_time: str | None = None
    """When the status last changed."""
    observed_generation: int | None = Field(default=None, ge=MIN_SAFE_INTEGER, le=MAX_SAFE_INTEGER)
    """Generation the condition was computed for."""
