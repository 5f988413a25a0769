"""The pod template of a revision: hardened defaults with the podTemplate overlay merged over them."""

from __future__ import annotations

import re
from typing import Any, Final

from ..api import AgentDeployment
from ..api.agent import PodTemplate
from ._merge import merge_by_key, merge_patch
from ._meta import AGENT_CONTAINER, revision_labels
from ._runtime_config import CONFIG_DIR, MODEL_KEY_DIR, runtime_config_name, runtime_env

NON_ROOT_ID: Final = 65532
"""The conventional "nonroot" user and group of distroless images; any non-zero id would do."""
TMP_SIZE_LIMIT: Final = "256Mi"
SECRET_FILE_MODE: Final = 0o440
CONFIG_FILE_MODE: Final = 0o444
SECRETS_DIR: Final = "/var/run/secrets/agent"

PRESTOP_SLEEP_SECONDS: Final = 5
"""Time for endpoint controllers and kube-proxy to stop routing to a terminating pod before the
agent receives SIGTERM."""
DRAIN_MARGIN_SECONDS: Final = 10
MIN_GRACE_SECONDS: Final = 30
MAX_GRACE_SECONDS: Final = 900
"""Caps how long one pod can hold up a rollout or a node drain, whatever the task timeout."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

TMP_VOLUME: Final = "tmp"
RUNTIME_VOLUME: Final = "agent-runtime"
MODEL_KEY_VOLUME: Final = "agent-model-api-key"


def hardened_pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": NON_ROOT_ID,
        "runAsGroup": NON_ROOT_ID,
        "fsGroup": NON_ROOT_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def hardened_container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def termination_grace_period(agent: AgentDeployment) -> int:
    """preStop sleep + task timeout + margin, within [30, 900] seconds; 30 without a timeout."""
    runtime = agent.spec.runtime
    if runtime is None or runtime.timeout_seconds is None:
        return MIN_GRACE_SECONDS
    wanted = PRESTOP_SLEEP_SECONDS + runtime.timeout_seconds + DRAIN_MARGIN_SECONDS
    return max(MIN_GRACE_SECONDS, min(MAX_GRACE_SECONDS, wanted))


def _secret_volume_names(names: list[str]) -> list[str]:
    """Readable volume names (secret-<name>), falling back to the position where the Secret name is
    not a short DNS label (it may contain dots) or repeats."""
    result: list[str] = []
    for index, name in enumerate(names):
        candidate = f"secret-{name}"
        if not _DNS_LABEL.match(name) or len(candidate) > 63 or candidate in result:
            candidate = f"secret-{index}"
        result.append(candidate)
    return result


def _default_volumes_and_mounts(agent: AgentDeployment) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
        {
            "name": RUNTIME_VOLUME,
            "configMap": {"name": runtime_config_name(agent), "defaultMode": CONFIG_FILE_MODE},
        },
    ]
    mounts: list[dict[str, Any]] = [
        {"name": TMP_VOLUME, "mountPath": "/tmp"},
        {"name": RUNTIME_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
    ]
    secrets = agent.spec.secrets or []
    for secret, volume_name in zip(secrets, _secret_volume_names([s.name for s in secrets]), strict=True):
        volumes.append(
            {"name": volume_name, "secret": {"secretName": secret.name, "defaultMode": SECRET_FILE_MODE}}
        )
        mount_path = secret.mount_path or f"{SECRETS_DIR}/{secret.name}"
        mounts.append({"name": volume_name, "mountPath": mount_path, "readOnly": True})
    model = agent.spec.model
    if model is not None and model.api_key_secret is not None:
        key_ref = model.api_key_secret
        secret_source: dict[str, Any] = {
            "secretName": key_ref.name,
            "items": [{"key": key_ref.key, "path": "api-key"}],
            "defaultMode": SECRET_FILE_MODE,
        }
        if key_ref.optional is not None:
            secret_source["optional"] = key_ref.optional
        volumes.append({"name": MODEL_KEY_VOLUME, "secret": secret_source})
        mounts.append({"name": MODEL_KEY_VOLUME, "mountPath": MODEL_KEY_DIR, "readOnly": True})
    return volumes, mounts


def _user_env(agent: AgentDeployment) -> list[dict[str, Any]]:
    return [e.to_wire() for e in agent.spec.container.env or []]


def _agent_container(agent: AgentDeployment, revision: str, overlay: PodTemplate) -> dict[str, Any]:
    spec = agent.spec.container
    container: dict[str, Any] = {"name": AGENT_CONTAINER, "image": spec.image}
    if spec.image_pull_policy is not None:
        container["imagePullPolicy"] = spec.image_pull_policy
    if spec.command is not None:
        container["command"] = list(spec.command)
    if spec.args is not None:
        container["args"] = list(spec.args)
    if spec.ports:
        container["ports"] = [p.to_wire() for p in spec.ports]
    user_env = _user_env(agent)
    # A variable the user sets on purpose wins over the summary the operator would add.
    user_names = {e["name"] for e in user_env}
    container["env"] = [e for e in runtime_env(agent, revision) if e["name"] not in user_names] + user_env
    if spec.env_from:
        container["envFrom"] = [e.to_wire() for e in spec.env_from]
    if spec.resources is not None:
        container["resources"] = spec.resources.to_wire()
    probes = spec.probes
    if probes is not None:
        for field, probe in (
            ("livenessProbe", probes.liveness),
            ("readinessProbe", probes.readiness),
            ("startupProbe", probes.startup),
        ):
            if probe is not None:
                container[field] = probe.to_wire()
    # The sleep action needs no shell, so it works in distroless images.
    container["lifecycle"] = {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}}
    container["securityContext"] = merge_patch(
        hardened_container_security_context(), overlay.container_security_context or {}
    )
    _, default_mounts = _default_volumes_and_mounts(agent)
    container["volumeMounts"] = merge_by_key(default_mounts, overlay.volume_mounts or [], "mountPath")
    return container


def _hardened(container: dict[str, Any]) -> dict[str, Any]:
    """A sidecar or init container from the overlay, with the hardened security context as the base
    of its own."""
    return merge_patch(
        container,
        {
            "securityContext": merge_patch(
                hardened_container_security_context(), container.get("securityContext") or {}
            )
        },
    )


def pod_template(agent: AgentDeployment, revision: str) -> dict[str, Any]:
    """The Deployment's spec.template for one revision."""
    overlay = agent.spec.pod_template or PodTemplate()
    # The operator's labels win: the Deployment selector and the Services depend on them.
    labels = {**(overlay.labels or {}), **revision_labels(agent, revision)}
    metadata: dict[str, Any] = {"labels": labels}
    if overlay.annotations:
        metadata["annotations"] = dict(overlay.annotations)

    main = _agent_container(agent, revision, overlay)
    sidecars = [dict(c) for c in overlay.containers or []]
    main_patch = next((c for c in sidecars if c.get("name") == AGENT_CONTAINER), None)
    if main_patch is not None:
        main = merge_patch(main, main_patch)
    containers = [main] + [_hardened(c) for c in sidecars if c.get("name") != AGENT_CONTAINER]

    default_volumes, _ = _default_volumes_and_mounts(agent)
    automount = overlay.automount_service_account_token
    pod: dict[str, Any] = {
        "serviceAccountName": agent.metadata.name,
        "automountServiceAccountToken": bool(automount),
        "enableServiceLinks": False,
        "securityContext": merge_patch(hardened_pod_security_context(), overlay.security_context or {}),
    }
    grace = overlay.termination_grace_period_seconds
    pod["terminationGracePeriodSeconds"] = termination_grace_period(agent) if grace is None else grace
    for field, value in (
        ("hostNetwork", overlay.host_network),
        ("hostPID", overlay.host_pid),
        ("hostIPC", overlay.host_ipc),
        ("priorityClassName", overlay.priority_class_name),
        ("runtimeClassName", overlay.runtime_class_name),
    ):
        if value is not None:
            pod[field] = value
    if overlay.node_selector:
        pod["nodeSelector"] = dict(overlay.node_selector)
    if overlay.affinity:
        pod["affinity"] = merge_patch({}, overlay.affinity)
    if overlay.tolerations:
        pod["tolerations"] = [merge_patch({}, t) for t in overlay.tolerations]
    if overlay.topology_spread_constraints:
        pod["topologySpreadConstraints"] = [merge_patch({}, t) for t in overlay.topology_spread_constraints]
    if overlay.image_pull_secrets:
        pod["imagePullSecrets"] = [dict(s) for s in overlay.image_pull_secrets]
    if overlay.init_containers:
        pod["initContainers"] = [_hardened(dict(c)) for c in overlay.init_containers]
    pod["containers"] = containers
    pod["volumes"] = merge_by_key(default_volumes, overlay.volumes or [], "name")
    return {"metadata": metadata, "spec": pod}
