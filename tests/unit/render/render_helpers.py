"""Helpers of the renderer tests: agents from the YAML fixtures beside this file, lookups in rendered
object lists, and a structural copy of the Pod Security Standard "restricted" profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from agent_operator.api import AgentDeployment

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))

# Volume types the restricted profile allows (Pod Security Standards, "Volume Types").
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def load_agent_file(name: str) -> AgentDeployment:
    return AgentDeployment.model_validate(yaml.safe_load((FIXTURES / f"{name}.yaml").read_text()))


def agent_dict(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    return loaded


def _all_containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])
    yield from pod.get("ephemeralContainers", [])


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """What the Pod Security Standard "restricted" (latest) rejects in a pod spec. The real
    admission plugin is exercised by the integration tests; this mirrors its rules for pure tests."""
    problems: list[str] = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{field} is true")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")
    pod_ctx = pod.get("securityContext", {})
    pod_seccomp = pod_ctx.get("seccompProfile", {}).get("type")
    if pod_ctx.get("runAsUser") == 0:
        problems.append("pod runAsUser is 0")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"pod seccompProfile is {pod_seccomp}")
    for container in _all_containers(pod):
        name = container["name"]
        ctx = container.get("securityContext", {})
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        caps = ctx.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{name}: capabilities do not drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities add {sorted(set(caps['add']) - {'NET_BIND_SERVICE'})}")
        run_as_non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        if run_as_non_root is not True:
            problems.append(f"{name}: runAsNonRoot is not true")
        if ctx.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser is 0")
        seccomp = ctx.get("seccompProfile", {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile is {seccomp}")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
    return problems


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return [o["kind"] for o in objects]


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


def agent_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = [c for c in pod_spec(objects)["containers"] if c["name"] == "agent"]
    assert len(containers) == 1
    return containers[0]
