"""Small Kubernetes helpers for tests: namespaces, server-side apply, kubectl,
and the KWOK fault labels of hack/kwok/stages.yaml."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from kubernetes import client, dynamic

from tests.support.cluster import ClusterInfo
from tests.support.wait import wait_for

# --- KWOK faults (hack/kwok/stages.yaml) -------------------------------------
FAULT_LABEL = "agentoperator.dev/test-fault"
FAULT_NEVER_READY = "never-ready"
"""Pod runs but never becomes Ready (a failing readiness probe)."""
FAULT_FAIL = "fail"
"""Pod goes Running, then Failed with exit code 1 (or the exit-code annotation)."""
FAULT_CRASHLOOP = "crashloop"
"""Pod stays Running/unready, containers in CrashLoopBackOff, restartCount rising."""
TERMINATION_MESSAGE_ANNOTATION = "agentoperator.dev/termination-message"
"""Copied into state.terminated.message when the pod completes or fails."""
EXIT_CODE_ANNOTATION = "agentoperator.dev/exit-code"
COMPLETE_DELAY_ANNOTATION = "agentoperator.dev/complete-delay-ms"
"""A Go duration (e.g. ``"1500ms"``, ``"10m"``) a Running pod waits before it completes or fails
(default 1s). KWOK parses the value with time.ParseDuration, so a bare number is ignored."""

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
TEST_NAMESPACE_LABEL = "agentoperator.dev/test-namespace"


def fault_labels(fault: str) -> dict[str, str]:
    """Pod labels that make KWOK inject ``fault``."""
    return {FAULT_LABEL: fault}


def job_pod_annotations(
    termination_message: str | None = None, exit_code: int | None = None, delay_ms: int | None = None
) -> dict[str, str]:
    """Pod-template annotations for the simulated result of a Job's pod."""
    annotations: dict[str, str] = {}
    if termination_message is not None:
        annotations[TERMINATION_MESSAGE_ANNOTATION] = termination_message
    if exit_code is not None:
        annotations[EXIT_CODE_ANNOTATION] = str(exit_code)
    if delay_ms is not None:
        annotations[COMPLETE_DELAY_ANNOTATION] = f"{delay_ms}ms"
    return annotations


def restricted_security_context() -> dict[str, Any]:
    """A container securityContext that passes Pod Security 'restricted'."""
    return {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# --- namespaces ---------------------------------------------------------------
def namespace_name(hint: str) -> str:
    """A DNS-1123 namespace name from a test name plus a random suffix."""
    base = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].strip("-") or "t"
    return f"{base}-{secrets.token_hex(3)}"


def create_namespace(
    core: client.CoreV1Api,
    name: str,
    labels: Mapping[str, str] | None = None,
    *,
    timeout: float = 30.0,
) -> str:
    """Create a namespace and wait until its default ServiceAccount exists (pods are
    rejected before that)."""
    all_labels = {TEST_NAMESPACE_LABEL: "true", **(labels or {})}
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=all_labels)))

    def probe() -> tuple[bool, str]:
        core.read_namespaced_service_account("default", name)
        return True, "ServiceAccount default exists"

    wait_for(probe, f"ServiceAccount {name}/default", timeout=timeout)
    return name


def delete_namespace(core: client.CoreV1Api, name: str) -> None:
    """Delete a namespace without waiting (404 is fine)."""
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except client.ApiException as exc:
        if exc.status != 404:
            raise


# --- server-side apply --------------------------------------------------------
def server_side_apply(
    dyn: dynamic.DynamicClient,
    body: Mapping[str, Any],
    *,
    field_manager: str,
    force: bool = False,
) -> Any:
    """Server-side apply ``body`` (a full manifest) as ``field_manager``.

    Raises kubernetes ApiException (409) on a field-manager conflict unless
    ``force``."""
    resource = dyn.resources.get(api_version=body["apiVersion"], kind=body["kind"])
    namespace = body.get("metadata", {}).get("namespace")
    return dyn.server_side_apply(  # type: ignore[no-untyped-call]
        resource,
        body=dict(body),
        namespace=namespace,
        field_manager=field_manager,
        force_conflicts=force,
    )


# --- kubectl ------------------------------------------------------------------
def kubectl(
    cluster: ClusterInfo,
    *args: str,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against the test cluster; on failure (with ``check``) raise
    AssertionError carrying the command, exit code, stdout and stderr."""
    cmd: Sequence[str] = [cluster.kubectl_path, "--kubeconfig", str(cluster.kubeconfig), *args]
    result = subprocess.run(
        list(cmd), input=input_text, capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(args)} failed with exit {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def apiserver_requests(api_client: client.ApiClient) -> list[tuple[dict[str, str], float]]:
    """Every ``apiserver_request_total`` series of the apiserver's own /metrics: (labels, count)."""
    _, url, headers, _, _ = api_client.param_serialize(
        method="GET",
        resource_path="/metrics",
        header_params={"Accept": "text/plain"},
        auth_settings=["BearerToken"],
    )
    text = api_client.call_api("GET", url, header_params=headers).read().decode()
    series = []
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            labels, _, value = line.rpartition(" ")
            series.append((dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)))
    return series
