"""What a check sees: the agent, the objects rendered from it, the policy's limits and the cluster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..api import AgentDeployment, AgentDeploymentSpec
from ..api.policy import PolicyLimits
from ..render import AGENT_CONTAINER, ClusterCapabilities

ContainerKind = Literal["container", "initContainer", "ephemeralContainer"]
_LIST_KEYS: tuple[tuple[ContainerKind, str], ...] = (
    ("initContainer", "initContainers"),
    ("container", "containers"),
    ("ephemeralContainer", "ephemeralContainers"),
)
_OVERLAY_LISTS = {"container": "containers", "initContainer": "initContainers"}


class RenderUnavailable(Exception):
    """A check needs the rendered pod but rendering produced none."""


@dataclass(frozen=True)
class PodContainer:
    """One container of the rendered pod and where the user controls it in the AgentDeployment."""

    kind: ContainerKind
    name: str
    body: dict[str, Any]
    source: str
    """Field path of the container in the AgentDeployment: spec.container for the agent,
    spec.podTemplate.containers[i] for an overlay container."""
    security_source: str
    """Field path that sets this container's securityContext."""

    @property
    def is_agent(self) -> bool:
        return self.kind == "container" and self.name == AGENT_CONTAINER

    @property
    def label(self) -> str:
        what = {
            "container": "container",
            "initContainer": "init container",
            "ephemeralContainer": "ephemeral container",
        }
        return f"{what[self.kind]} {self.name!r}"

    @property
    def security_context(self) -> dict[str, Any]:
        sc = self.body.get("securityContext")
        return sc if isinstance(sc, dict) else {}


@dataclass(frozen=True)
class CheckContext:
    """Inputs of every check. ``capabilities`` is None when nothing is known about the cluster."""

    agent: AgentDeployment
    limits: PolicyLimits
    capabilities: ClusterCapabilities | None
    objects: tuple[dict[str, Any], ...]
    render_error: str | None = None
    _deployment: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        agent: AgentDeployment,
        limits: PolicyLimits,
        capabilities: ClusterCapabilities | None,
        objects: list[dict[str, Any]] | None,
        render_error: str | None = None,
    ) -> CheckContext:
        rendered = tuple(objects or ())
        deployment = next((o for o in rendered if o.get("kind") == "Deployment"), None)
        return cls(agent, limits, capabilities, rendered, render_error, deployment)

    @property
    def spec(self) -> AgentDeploymentSpec:
        return self.agent.spec

    def objects_of(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    @property
    def pod_template(self) -> dict[str, Any]:
        """spec.template of the rendered Deployment."""
        if self._deployment is None:
            reason = self.render_error or "no Deployment among the rendered objects"
            raise RenderUnavailable(reason)
        template = _dict(_dict(self._deployment.get("spec")).get("template"))
        return template

    @property
    def pod_spec(self) -> dict[str, Any]:
        return _dict(self.pod_template.get("spec"))

    @property
    def pod_labels(self) -> dict[str, str]:
        return {
            str(k): str(v) for k, v in _dict(_dict(self.pod_template.get("metadata")).get("labels")).items()
        }

    @property
    def pod_security_context(self) -> dict[str, Any]:
        return _dict(self.pod_spec.get("securityContext"))

    def containers(self) -> Iterator[PodContainer]:
        """Every container of the rendered pod: init, main (agent and sidecars), ephemeral."""
        pod = self.pod_spec
        for kind, key in _LIST_KEYS:
            for body in pod.get(key) or []:
                if isinstance(body, dict):
                    yield self._located(kind, body)

    def agent_container(self) -> PodContainer | None:
        return next((c for c in self.containers() if c.is_agent), None)

    def _located(self, kind: ContainerKind, body: dict[str, Any]) -> PodContainer:
        name = str(body.get("name", ""))
        if kind == "container" and name == AGENT_CONTAINER:
            return PodContainer(
                kind, name, body, "spec.container", "spec.podTemplate.containerSecurityContext"
            )
        overlay = self.spec.pod_template
        key = _OVERLAY_LISTS.get(kind)
        items = (
            getattr(overlay, "init_containers" if kind == "initContainer" else "containers")
            if overlay and key
            else None
        ) or []
        for index, item in enumerate(items):
            if item.get("name") == name:
                source = f"spec.podTemplate.{key}[{index}]"
                return PodContainer(kind, name, body, source, f"{source}.securityContext")
        # Added by the renderer itself: only the pod-level overlay can influence it.
        return PodContainer(kind, name, body, "spec.podTemplate", "spec.podTemplate.securityContext")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
