"""Polling helpers with timeouts and failure messages that say what was expected
and what was last seen."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client import ApiException

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0
DEFAULT_INTERVAL = 0.25


class WaitTimeout(AssertionError):
    """A condition did not hold in time. An AssertionError, so pytest reports it as
    a test failure with the message: expected ..., last seen ..."""

    def __init__(self, expected: str, timeout: float, last_seen: Any, error: str | None) -> None:
        self.expected = expected
        self.timeout = timeout
        self.last_seen = last_seen
        message = f"timed out after {timeout:.0f}s waiting for: {expected}\nlast seen: {_fmt(last_seen)}"
        if error:
            message += f"\nlast error: {error}"
        super().__init__(message)


def _fmt(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def wait_for(
    probe: Callable[[], tuple[bool, T]],
    expected: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    ignore: tuple[type[BaseException], ...] = (ApiException,),
) -> T:
    """Call ``probe`` until it returns ``(True, value)``; return ``value``.

    ``probe`` returns ``(done, observed)``; ``observed`` is what a timeout reports
    as "last seen", so make it the interesting part of the state. Exceptions listed
    in ``ignore`` (by default Kubernetes API errors such as 404 before an object
    exists) are retried and reported as "last error".
    """
    deadline = time.monotonic() + timeout
    last_seen: Any = None
    last_error: str | None = None
    while True:
        try:
            done, observed = probe()
        except ignore as exc:
            last_error = _describe_error(exc)
        else:
            last_seen = observed
            last_error = None
            if done:
                return observed
        if time.monotonic() >= deadline:
            raise WaitTimeout(expected, timeout, last_seen, last_error)
        time.sleep(interval)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"HTTP {exc.status} {exc.reason}: {_api_message(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _api_message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message", exc.body))
    except (TypeError, ValueError):
        return str(exc.body)


def api_error_message(exc: ApiException) -> str:
    """The ``message`` of a Kubernetes Status error body (or the raw body)."""
    return _api_message(exc)


def conditions_of(obj: Any) -> dict[str, str]:
    """{type: status} from an object's status.conditions (model object or dict)."""
    status = obj.get("status") if isinstance(obj, Mapping) else getattr(obj, "status", None)
    if status is None:
        return {}
    conditions = (
        status.get("conditions") if isinstance(status, Mapping) else getattr(status, "conditions", None)
    ) or []
    result: dict[str, str] = {}
    for cond in conditions:
        if isinstance(cond, Mapping):
            result[str(cond.get("type"))] = str(cond.get("status"))
        else:
            result[str(cond.type)] = str(cond.status)
    return result


def wait_for_condition(
    get: Callable[[], Any],
    condition: str,
    status: str = "True",
    *,
    what: str = "object",
    timeout: float = DEFAULT_TIMEOUT,
) -> Any:
    """Wait until ``get()`` returns an object whose condition ``condition`` has
    ``status``; returns the object."""
    holder: dict[str, Any] = {}

    def probe() -> tuple[bool, dict[str, str]]:
        obj = get()
        holder["obj"] = obj
        conds = conditions_of(obj)
        return conds.get(condition) == status, conds

    wait_for(probe, f"{what} condition {condition}={status}", timeout=timeout)
    return holder["obj"]


def pod_summary(pod: client.V1Pod) -> dict[str, Any]:
    """The parts of a pod's status worth printing when a wait fails."""
    status = pod.status
    containers = []
    for cs in (status.container_statuses if status else None) or []:
        state = cs.state
        if state and state.running:
            current = "running"
        elif state and state.waiting:
            current = f"waiting({state.waiting.reason})"
        elif state and state.terminated:
            current = f"terminated({state.terminated.reason}, exit {state.terminated.exit_code})"
        else:
            current = "unknown"
        containers.append(
            {"name": cs.name, "ready": cs.ready, "restarts": cs.restart_count, "state": current}
        )
    return {
        "name": pod.metadata.name if pod.metadata else None,
        "phase": status.phase if status else None,
        "node": pod.spec.node_name if pod.spec else None,
        "conditions": conditions_of(pod),
        "containers": containers,
    }


def wait_for_pod_phase(
    core: client.CoreV1Api,
    namespace: str,
    name: str,
    phases: str | tuple[str, ...],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> client.V1Pod:
    """Wait until the pod's phase is one of ``phases``."""
    wanted = (phases,) if isinstance(phases, str) else phases
    holder: dict[str, client.V1Pod] = {}

    def probe() -> tuple[bool, dict[str, Any]]:
        pod = core.read_namespaced_pod(name, namespace)
        holder["pod"] = pod
        return (pod.status.phase if pod.status else None) in wanted, pod_summary(pod)

    wait_for(probe, f"pod {namespace}/{name} phase in {list(wanted)}", timeout=timeout)
    return holder["pod"]


def wait_for_pod_ready(
    core: client.CoreV1Api, namespace: str, name: str, *, timeout: float = DEFAULT_TIMEOUT
) -> client.V1Pod:
    """Wait until the pod has condition Ready=True."""
    holder: dict[str, client.V1Pod] = {}

    def probe() -> tuple[bool, dict[str, Any]]:
        pod = core.read_namespaced_pod(name, namespace)
        holder["pod"] = pod
        return conditions_of(pod).get("Ready") == "True", pod_summary(pod)

    wait_for(probe, f"pod {namespace}/{name} Ready=True", timeout=timeout)
    return holder["pod"]


def wait_for_deployment_ready(
    apps: client.AppsV1Api,
    namespace: str,
    name: str,
    *,
    replicas: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> client.V1Deployment:
    """Wait until the Deployment's current generation is rolled out and
    ``replicas`` (default: spec.replicas) pods are ready and updated."""
    holder: dict[str, client.V1Deployment] = {}

    def probe() -> tuple[bool, dict[str, Any]]:
        dep = apps.read_namespaced_deployment(name, namespace)
        holder["dep"] = dep
        want = replicas if replicas is not None else ((dep.spec and dep.spec.replicas) or 0)
        st = dep.status or client.V1DeploymentStatus()
        generation = (dep.metadata and dep.metadata.generation) or 0
        seen = {
            "generation": generation,
            "observedGeneration": st.observed_generation,
            "replicas": st.replicas,
            "readyReplicas": st.ready_replicas,
            "updatedReplicas": st.updated_replicas,
            "availableReplicas": st.available_replicas,
            "conditions": conditions_of(dep),
        }
        done = (
            (st.observed_generation or 0) >= generation
            and (st.ready_replicas or 0) == want
            and (st.updated_replicas or 0) == want
        )
        return done, seen

    wait_for(probe, f"deployment {namespace}/{name} ready", timeout=timeout)
    return holder["dep"]


def wait_for_job_finished(
    batch: client.BatchV1Api, namespace: str, name: str, *, timeout: float = DEFAULT_TIMEOUT
) -> client.V1Job:
    """Wait until the Job has condition Complete=True or Failed=True."""
    holder: dict[str, client.V1Job] = {}

    def probe() -> tuple[bool, dict[str, Any]]:
        job = batch.read_namespaced_job(name, namespace)
        holder["job"] = job
        conds = conditions_of(job)
        st = job.status or client.V1JobStatus()
        seen = {"conditions": conds, "active": st.active, "succeeded": st.succeeded, "failed": st.failed}
        return conds.get("Complete") == "True" or conds.get("Failed") == "True", seen

    wait_for(probe, f"job {namespace}/{name} Complete or Failed", timeout=timeout)
    return holder["job"]


def wait_for_deleted(read: Callable[[], Any], what: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until ``read()`` raises a 404."""

    def probe() -> tuple[bool, Any]:
        try:
            obj = read()
        except ApiException as exc:
            if exc.status == 404:
                return True, "404 Not Found"
            raise
        meta = getattr(obj, "metadata", None)
        if isinstance(obj, Mapping):
            meta = obj.get("metadata")
        return False, f"still exists: {meta}"

    wait_for(probe, f"{what} deleted", timeout=timeout)
