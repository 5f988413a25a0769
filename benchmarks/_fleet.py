"""What fleet_bench.py measures with, apart from the operator: the floor (the rendered objects
server-side applied by one plain client), the apiserver's own request counters, pod capacity, and
namespaces deleted and waited for.

Imported after _cluster_bench, which puts the repository root on sys.path.
"""

from __future__ import annotations

import math
import re
import ssl
import threading
import time
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _cluster_bench import Watcher, condition_status, wait_until
from kubernetes import client, dynamic

from agent_operator.loader import load_agent
from agent_operator.render import render
from tests.support.kube import apiserver_requests, create_namespace, delete_namespace, namespace_name
from tests.support.operator import agent_manifest
from tests.support.outage import CONTROLLER_MANAGER, ControlPlane

PODS_PER_NODE = 110
REPLICAS = int(agent_manifest("x", "x")["spec"]["replicas"])
CONTROL_PLANE_RESOURCES = frozenset({"leases"})
"""Renewed every few seconds by controller-manager, scheduler and KWOK's node heartbeats."""

Counts = dict[str, float]
"""apiserver_request_total summed by 'VERB resource[/subresource]'."""


# -- the apiserver's own counters ----------------------------------------------------------------


def apiserver_counts(api: client.ApiClient) -> Counts:
    """Every client's requests so far, by verb and resource (codes summed), WATCH left out: a watch
    is one long request whose count says nothing about load."""
    out: Counts = {}
    for labels, value in apiserver_requests(api):
        verb = labels.get("verb", "")
        if verb == "WATCH":
            continue
        resource = labels.get("resource") or "-"
        if labels.get("subresource"):
            resource += "/" + labels["subresource"]
        key = f"{verb} {resource}"
        out[key] = out.get(key, 0.0) + value
    return out


def counts_delta(after: Counts, before: Counts) -> Counts:
    return {k: v - before.get(k, 0.0) for k, v in sorted(after.items()) if v - before.get(k, 0.0)}


def is_read(key: str) -> bool:
    return key.split(" ", 1)[0] in ("GET", "LIST")


def writes_only(counts: Counts, leases: bool = False) -> Counts:
    """The non-read requests, without the control plane's Lease renewals unless ``leases``."""
    return {
        k: v
        for k, v in counts.items()
        if not is_read(k) and (leases or k.split(" ", 1)[1].split("/")[0] not in CONTROL_PLANE_RESOURCES)
    }


def rate_per_hour(counts: Counts, seconds: float) -> Counts:
    return {k: v * 3600.0 / seconds for k, v in counts.items()}


def subtract(a: Counts, b: Counts) -> Counts:
    """a - b per key (keys of both); what a window added over a baseline."""
    return {k: round(a.get(k, 0.0) - b.get(k, 0.0), 1) for k in sorted({*a, *b})}


# -- the controller-manager's client-side rate limit -------------------------------------------


def controller_manager_throttle() -> dict[str, float] | None:
    """Seconds kube-controller-manager's requests have waited in its own client rate limiter
    (``--kube-api-qps`` 20 per controller), summed over verbs, and how many requests; None off the
    local cluster. What a burst of Deployments waits for here, operator or not."""
    try:
        component = ControlPlane.local().components[CONTROLLER_MANAGER]
    except (RuntimeError, OSError, ValueError):
        return None
    port = next(a.split("=", 1)[1] for a in component.argv if a.startswith("--secure-port="))
    pki = next(a.split("=", 1)[1] for a in component.argv if a.startswith("--root-ca-file=")).rsplit("/", 1)[
        0
    ]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.load_cert_chain(f"{pki}/admin.crt", f"{pki}/admin.key")
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", context=context, timeout=10) as resp:
        text = resp.read().decode()
    name = "rest_client_rate_limiter_duration_seconds"
    total = {"seconds": 0.0, "requests": 0.0}
    for line in text.splitlines():
        found = re.match(rf"{name}_(sum|count)\{{[^}}]*\}} (\S+)$", line)
        if found:
            total["seconds" if found.group(1) == "sum" else "requests"] += float(found.group(2))
    return total


def throttle_delta(
    after: dict[str, float] | None, before: dict[str, float] | None
) -> dict[str, float] | None:
    if after is None or before is None:
        return None
    return {k: round(after[k] - before[k], 1) for k in after}


# -- capacity ------------------------------------------------------------------------------------


def pod_capacity(core: client.CoreV1Api) -> dict[str, int]:
    """Pods the Ready nodes can still take: allocatable minus pods bound and not finished."""
    listed: Any = core.list_node().items
    nodes = [
        n for n in listed if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]
    allocatable = sum(int(n.status.allocatable.get("pods", "0")) for n in nodes)
    phase = "status.phase!=Succeeded,status.phase!=Failed"
    pods: Any = core.list_pod_for_all_namespaces(field_selector=phase).items
    bound = len([p for p in pods if p.spec.node_name])
    return {"nodes": len(nodes), "allocatable": allocatable, "in_use": bound, "free": allocatable - bound}


def require_capacity(core: client.CoreV1Api, agents: int) -> dict[str, int]:
    """Stop with the KWOK_NODES that fits, before anything is created: pods beyond the nodes'
    capacity stay Pending and the benchmark would measure the scheduler giving up."""
    capacity = pod_capacity(core)
    needed = agents * REPLICAS
    if needed > capacity["free"]:
        nodes = math.ceil((needed + capacity["in_use"] + 20) / PODS_PER_NODE)
        raise SystemExit(
            f"{agents} agents need {needed} pods ({REPLICAS} replicas each) but the {capacity['nodes']} "
            f"nodes have {capacity['free']} free of {capacity['allocatable']}: run "
            f"`KWOK_NODES={nodes} make cluster-up` first (docs/cluster.md)."
        )
    return {**capacity, "needed": needed}


# -- namespaces ----------------------------------------------------------------------------------


def fresh_namespace(core: client.CoreV1Api, hint: str) -> str:
    return str(create_namespace(core, namespace_name(hint)))


def delete_and_wait(core: client.CoreV1Api, name: str, timeout: float = 900.0) -> float:
    """Delete a namespace and wait until it is gone (its garbage collection must not overlap the
    next measurement); seconds it took."""
    started = time.monotonic()
    delete_namespace(core, name)
    while time.monotonic() - started < timeout:
        try:
            core.read_namespace(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return time.monotonic() - started
            raise
        time.sleep(1.0)
    raise TimeoutError(f"namespace {name} still there {timeout:.0f}s after its deletion")


# -- the floor -----------------------------------------------------------------------------------


def rendered_objects(name: str, namespace: str) -> list[dict[str, Any]]:
    """What the operator applies for the benchmark agent, from its own renderer (no cluster
    capabilities, as on this cluster), in its apply order."""
    return render(load_agent(agent_manifest(name, namespace), f"{namespace}/{name}"))


def available(dep: Mapping[str, Any]) -> bool:
    """Rolled out: the current generation observed, every replica available."""
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    return (
        status.get("observedGeneration") == dep["metadata"].get("generation")
        and condition_status(dep, "Available") == "True"
        and status.get("availableReplicas", 0) == spec.get("replicas", 1)
        and status.get("updatedReplicas", 0) == spec.get("replicas", 1)
    )


def apply_floor(api: client.ApiClient, namespace: str, names: list[str], workers: int) -> dict[str, Any]:
    """Server-side apply every agent's rendered objects (one client, ``workers`` parallel calls,
    each agent's objects in order, as the operator applies them) and time until every Deployment is
    available."""
    dyn = dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]
    per_agent = {n: rendered_objects(n, namespace) for n in names}
    resources = {
        (o["apiVersion"], o["kind"]): dyn.resources.get(api_version=o["apiVersion"], kind=o["kind"])
        for o in per_agent[names[0]]
    }
    deployments = {
        o["metadata"]["name"] for objs in per_agent.values() for o in objs if o["kind"] == "Deployment"
    }
    done: dict[str, float] = {}
    lock = threading.Lock()

    def on_event(type_: str, obj: dict[str, Any], at: float) -> None:
        if type_ != "DELETED" and obj["metadata"]["name"] in deployments and available(obj):
            with lock:
                done.setdefault(obj["metadata"]["name"], at)

    def apply_agent(name: str) -> int:
        for obj in per_agent[name]:
            resource = resources[(obj["apiVersion"], obj["kind"])]
            dyn.server_side_apply(  # type: ignore[no-untyped-call]
                resource,
                body=obj,
                namespace=namespace,
                field_manager="fleet-bench-floor",
                force_conflicts=True,
                serialize=False,  # the response is not needed: no Python object tree per apply
            )
        return len(per_agent[name])

    apps = client.AppsV1Api(api)
    with Watcher(apps.list_namespaced_deployment, (namespace,), on_event):
        time.sleep(0.5)  # the watch is open before the first apply
        started = time.time()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            applied = sum(pool.map(apply_agent, names))
        applied_at = time.time()
        wait_until(lambda: len(done) == len(deployments), f"{len(deployments)} Deployments available", 3600)
    return {
        "agents": len(names),
        "apply_workers": workers,
        "objects_applied": applied,
        "objects_per_agent": round(applied / len(names), 2),
        "apply_span_seconds": round(applied_at - started, 3),
        "first_apply_to_all_available_seconds": round(max(done.values()) - started, 3),
    }
