"""Measures the operator on the local control plane: create-to-Ready latency for one agent and for
N agents created at once, write requests per created agent, operator memory, and reads per resync.

One `python -m agent_operator` process (the real operator, as tests run it) watches the cluster;
the script refuses to start if another operator is already running, since two would share the
work. Agents are the small development-profile agent of the integration tests; KWOK makes their
pods Ready without running containers.

Run from the repository root: `make bench-operator`, or
`.venv/bin/python benchmarks/operator_bench.py [--agents 100] [--single-runs 5]`.
Results: a table on stdout and benchmarks/results/operator-<date>.json.
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _cluster_bench import (
    GROUP,
    PLURAL,
    VERSION,
    WRITE_VERBS,
    Bench,
    Watcher,
    contention,
    machine_facts,
    print_table,
    ready_now,
    reconcile_histogram,
    requests_by,
    running_bench,
    settle,
    summary,
    throwaway_namespace,
    wait_until,
    write_results,
)

from agent_operator.kube import CHILD_KINDS, KubeApi
from agent_operator.kube.kinds import CONTROLLER_REVISION
from tests.support.operator import agent_manifest

AGENT_LABEL = "agentoperator.dev/agent"


class ReadyClock:
    """Create time and first Ready (current generation) time of every agent in a namespace."""

    def __init__(self) -> None:
        self.created: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_event(self, type_: str, obj: dict[str, Any], at: float) -> None:
        name = obj["metadata"]["name"]
        if type_ != "DELETED" and name in self.created and ready_now(obj):
            with self._lock:
                self.ready.setdefault(name, at)

    def latencies(self) -> list[float]:
        return [self.ready[n] - self.created[n] for n in self.created]


def create_agents(bench: Bench, namespace: str, names: list[str], clock: ReadyClock, workers: int) -> None:
    def create(name: str) -> None:
        clock.created[name] = time.time()
        bench.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, agent_manifest(name, namespace)
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, names))


def timed_batch(bench: Bench, namespace: str, names: list[str], workers: int, timeout: float) -> ReadyClock:
    clock = ReadyClock()
    args = (GROUP, VERSION, namespace, PLURAL)
    with Watcher(bench.custom.list_namespaced_custom_object, args, clock.on_event):
        time.sleep(0.5)  # the watch is open before the first create
        create_agents(bench, namespace, names, clock, workers)
        wait_until(lambda: all(n in clock.ready for n in names), f"{len(names)} agents Ready", timeout)
    return clock


def owned_objects(bench: Bench, namespace: str) -> dict[str, int]:
    """Objects carrying the agent label, by kind: what the operator created for the agents."""
    kube = KubeApi(bench.api)
    counts = {}
    for kind in (*CHILD_KINDS, CONTROLLER_REVISION):
        items = kube.list_objects(kind, namespace, AGENT_LABEL)
        if items:
            counts[kind.kind] = len(items)
    return counts


def single_agent(bench: Bench, runs: int) -> dict[str, Any]:
    latencies = []
    with throwaway_namespace(bench, "bench-one") as namespace:
        for i in range(runs):
            clock = timed_batch(bench, namespace, [f"one-{i}"], workers=1, timeout=120)
            latencies.extend(clock.latencies())
        objects = owned_objects(bench, namespace)
    return {
        "create_to_ready_seconds": summary(latencies),
        "samples": [round(x, 3) for x in latencies],
        "objects_per_agent": {kind: count / runs for kind, count in objects.items()},
    }


def service_ip_headroom(bench: Bench) -> dict[str, int]:
    """Cluster IPs the apiserver can still hand out: every agent's Services take one each, and the
    local control plane's default service range is a /24."""
    listed: Any = bench.custom.list_cluster_custom_object("networking.k8s.io", "v1", "servicecidrs")
    cidrs = listed["items"]
    capacity = 0
    for cidr in cidrs:
        for block in cidr["spec"].get("cidrs", []):
            if ":" not in block:
                capacity += 2 ** (32 - int(block.split("/")[1])) - 2
    services = bench.core.list_service_for_all_namespaces().items
    used = len([svc for svc in services if svc.spec and svc.spec.cluster_ip not in (None, "", "None")])
    return {"ipv4_capacity": capacity, "in_use": used, "free": capacity - used}


def many_agents(bench: Bench, count: int, workers: int, resync_window: float) -> dict[str, Any]:
    op = bench.operator
    names = [f"agent-{i:03d}" for i in range(count)]
    with throwaway_namespace(bench, f"bench-{count}") as namespace:
        before = op.metrics()
        started = time.time()
        clock = timed_batch(bench, namespace, names, workers, timeout=max(300.0, count * 6.0))
        all_ready = max(clock.ready.values()) - started
        create_span = max(clock.created.values()) - started
        settle_seconds = settle(op)
        after = op.metrics()
        memory = bench.operator_memory_mib()
        objects = owned_objects(bench, namespace)
        writes = requests_by(after, before, WRITE_VERBS)
        reads = requests_by(after, before, ("get",))
        result: dict[str, Any] = {
            "agents": count,
            "create_workers": workers,
            "create_span_seconds": round(create_span, 3),
            "create_to_ready_seconds": summary(clock.latencies()),
            "first_create_to_all_ready_seconds": round(all_ready, 3),
            "settle_after_ready_seconds": round(settle_seconds, 1),
            "writes": writes,
            "writes_per_agent": round(writes["total"] / count, 2),
            "writes_per_agent_by_verb": {k: round(v / count, 2) for k, v in writes["by_verb"].items()},
            "objects_per_agent": round(sum(objects.values()) / count, 2),
            "objects_by_kind": objects,
            "reads_until_settled": reads["total"],
            "reconciles_until_settled": reconcile_histogram(after, before),
            "operator_memory_mib": memory,
        }
        if resync_window > 0:
            result["resync"] = resync_cost(bench, count, resync_window)
    return result


def resync_cost(bench: Bench, count: int, window: float) -> dict[str, Any]:
    """Requests over one resync period of settled agents: every agent's timer fires about once."""
    op = bench.operator
    before = op.metrics()
    time.sleep(window)
    after = op.metrics()
    hist = reconcile_histogram(after, before)
    reads = requests_by(after, before, ("get",))
    writes = requests_by(after, before, WRITE_VERBS)
    reconciles = hist["reconciles"]
    return {
        "window_seconds": window,
        "reconciles": reconciles,
        "reconciles_per_agent": round(reconciles / count, 2),
        "reads": reads,
        "reads_per_reconcile": round(reads["total"] / reconciles, 2) if reconciles else None,
        "writes": writes["total"],
        "reconcile_duration": hist,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100, help="agents created at once (default 100)")
    parser.add_argument("--single-runs", type=int, default=5, help="one-agent runs (default 5)")
    parser.add_argument("--create-workers", type=int, default=10, help="parallel create calls (default 10)")
    parser.add_argument(
        "--resync-window", type=float, default=60.0, help="seconds to count resync requests; 0 skips it"
    )
    args = parser.parse_args()

    with running_bench("operator-bench.log") as bench:
        time.sleep(3)  # start-up lists and watches settle before the idle figure
        load_at_start = contention(bench)
        idle_memory = bench.operator_memory_mib()
        single = single_agent(bench, args.single_runs)
        headroom = service_ip_headroom(bench)
        needed = int(single["objects_per_agent"].get("Service", 0) * args.agents)
        if needed > headroom["free"]:
            raise SystemExit(
                f"{args.agents} agents need {needed} Service cluster IPs but the cluster has "
                f"{headroom['free']} free of {headroom['ipv4_capacity']}: the apiserver would answer "
                "'failed to allocate a serviceIP: range is full' and those agents never get Ready. "
                "Use fewer --agents or a cluster with a larger service range."
            )
        many = many_agents(bench, args.agents, args.create_workers, args.resync_window)
        load_at_end = contention(bench)
        results = {
            "benchmark": "operator",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine_facts(bench.cluster),
            "operator_memory_idle_mib": idle_memory,
            "single_agent": single,
            "service_ips_before_many": headroom,
            "many_agents": many,
            "contention": {"start": load_at_start, "end": load_at_end},
        }
    path = write_results("operator", results)

    one, n = single["create_to_ready_seconds"], many["create_to_ready_seconds"]
    all_ready = many["first_create_to_all_ready_seconds"]
    rows = [
        (f"1 agent create->Ready (median/max of {one['n']})", f"{one['median']:.2f}s / {one['max']:.2f}s"),
        (
            f"{args.agents} agents create->Ready p50/p95/max",
            f"{n['median']:.2f}s / {n['p95']:.2f}s / {n['max']:.2f}s",
        ),
        (f"{args.agents} agents first create->all Ready", f"{all_ready:.2f}s"),
        ("writes per agent", f"{many['writes_per_agent']} {many['writes_per_agent_by_verb']}"),
        ("objects per agent", f"{many['objects_per_agent']} {many['objects_by_kind']}"),
        ("operator RSS MiB idle -> with agents", f"{idle_memory} -> {many['operator_memory_mib']}"),
    ]
    if "resync" in many:
        rs = many["resync"]
        rows.append(
            (
                f"resync over {rs['window_seconds']:.0f}s",
                f"{rs['reconciles']} reconciles, {rs['reads_per_reconcile']} reads each, "
                f"{rs['writes']} writes",
            )
        )
    print_table(rows)
    start, end = load_at_start["load_average_1_5_15"], load_at_end["load_average_1_5_15"]
    print(f"load average at start {start}, at end {end}")
    if load_at_end["operators_on_this_cluster"]:
        print("WARNING: another operator ran against this cluster; figures are suspect")
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
