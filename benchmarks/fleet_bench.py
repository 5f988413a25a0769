"""A fleet of N agents on one operator (issue 14's "Measure"), all in one run on one cluster:

1. Floor: no operator. The objects the operator's renderer makes for N benchmark agents are
   server-side applied by one plain client (``--floor-workers`` parallel calls), timed until every
   Deployment is available. Then, with them in place, a baseline window (``--baseline-window``):
   what the control plane alone sends the apiserver. Then they are deleted.
2. Time to Ready: the operator starts (``python -m agent_operator --all-namespaces``, plus
   ``--operator-arg``s), N agents are created at once, timed until every one is Ready for its
   generation. Ratio to the floor.
3. Writes per created agent, by verb and kind: the operator's own ``agent_operator_api_requests_total``
   until it has written nothing for 10 s, and the apiserver's ``apiserver_request_total`` over the
   same span (all clients: controller-manager, scheduler and KWOK write pods, ReplicaSets and
   statuses too).
4. Idle and soak (``--soak`` seconds, default 600; ``--soak 3600`` for the hour): the apiserver's
   non-WATCH requests per agent per hour, from ``apiserver_request_total``, minus the baseline's
   rate (the control plane's own traffic; Lease renewals left out), and the operator's RSS every
   ``--rss-interval``.
5. Start-up: the operator is stopped (SIGTERM) and started again with the N agents in place: the time
   from starting the process until ``agent_operator_reconciles_total`` shows every agent reconciled
   once, and the requests (reads and writes) the new process made until it settled.

Pods: N x 2 replicas must fit the KWOK nodes (110 pods each); the script checks and names the
``KWOK_NODES`` to use. Run from the repository root after ``make cluster-up``:
``.venv/bin/python benchmarks/fleet_bench.py --agents 100`` (``make bench-fleet``).
Results: a table on stdout and benchmarks/results/fleet-<N>-<date>.json.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _cluster_bench import (
    WRITE_VERBS,
    Bench,
    contention,
    labelled,
    machine_facts,
    refuse_if_operator_running,
    requests_by,
    running_bench,
    settle,
    summary,
    write_results,
)
from _fleet import (
    apiserver_counts,
    apply_floor,
    controller_manager_throttle,
    counts_delta,
    delete_and_wait,
    fresh_namespace,
    rate_per_hour,
    require_capacity,
    subtract,
    throttle_delta,
    writes_only,
)
from _fleet_table import print_fleet_table
from kubernetes import client
from operator_bench import timed_batch

from tests.support.cluster import ensure_cluster

RECONCILES = "agent_operator_reconciles_total"
LEASES = frozenset({"PUT leases", "GET leases", "POST leases", "LIST leases"})


def agent_names(count: int) -> list[str]:
    return [f"agent-{i:04d}" for i in range(count)]


def floor_phase(count: int, workers: int, baseline_window: float) -> dict[str, Any]:
    cluster = ensure_cluster()
    api = cluster.new_api_client()
    core = client.CoreV1Api(api)
    capacity = require_capacity(core, count)
    namespace = fresh_namespace(core, f"fleet-floor-{count}")
    try:
        throttle_before = controller_manager_throttle()
        floor = apply_floor(api, namespace, agent_names(count), workers)
        floor["controller_manager_rate_limit_wait"] = throttle_delta(
            controller_manager_throttle(), throttle_before
        )
        time.sleep(5)  # the controllers' status updates after the last pod are not baseline
        before = apiserver_counts(api)
        time.sleep(baseline_window)
        baseline = counts_delta(apiserver_counts(api), before)
    finally:
        deleted = delete_and_wait(core, namespace)
    api.close()  # type: ignore[no-untyped-call]
    return {
        **floor,
        "capacity_before": capacity,
        "namespace_deleted_seconds": round(deleted, 1),
        "baseline": {
            "window_seconds": baseline_window,
            "requests": baseline,
            "per_hour": {k: round(v, 1) for k, v in rate_per_hour(baseline, baseline_window).items()},
        },
    }


def create_phase(bench: Bench, namespace: str, count: int, workers: int) -> dict[str, Any]:
    op = bench.operator
    names = agent_names(count)
    op_before, api_before = op.metrics(), apiserver_counts(bench.api)
    throttle_before = controller_manager_throttle()
    started = time.time()
    clock = timed_batch(bench, namespace, names, workers, timeout=max(600.0, count * 6.0))
    all_ready = max(clock.ready.values()) - started
    throttle = throttle_delta(controller_manager_throttle(), throttle_before)
    settled = settle(op, timeout=max(180.0, count * 1.0))
    op_after, api_after = op.metrics(), apiserver_counts(bench.api)
    writes = requests_by(op_after, op_before, WRITE_VERBS)
    apiserver = counts_delta(api_after, api_before)
    return {
        "agents": count,
        "create_workers": workers,
        "create_to_ready_seconds": summary(clock.latencies()),
        "first_create_to_all_ready_seconds": round(all_ready, 3),
        "settle_after_ready_seconds": round(settled, 1),
        "controller_manager_rate_limit_wait": throttle,
        "operator_writes": writes,
        "operator_writes_per_agent": round(writes["total"] / count, 2),
        "operator_writes_per_agent_by_verb_kind": {
            k: round(v / count, 2) for k, v in writes["by_verb_kind"].items()
        },
        "apiserver_writes_all_clients": writes_only(apiserver),
        "apiserver_requests_all_clients": apiserver,
    }


def rss_mib(bench: Bench) -> float:
    return bench.operator_memory_mib()["VmRSS"]


def soak_phase(
    bench: Bench, count: int, seconds: float, interval: float, baseline: dict[str, Any]
) -> dict[str, Any]:
    """Idle requests and RSS over one window of settled agents."""
    op = bench.operator
    op_before, api_before = op.metrics(), apiserver_counts(bench.api)
    started = time.monotonic()
    samples = [(0.0, rss_mib(bench))]
    while time.monotonic() - started < seconds:
        time.sleep(min(interval, max(0.0, seconds - (time.monotonic() - started))))
        samples.append((round(time.monotonic() - started, 1), rss_mib(bench)))
    elapsed = time.monotonic() - started
    op_after, api_after = op.metrics(), apiserver_counts(bench.api)
    window = counts_delta(api_after, api_before)
    window_rate = rate_per_hour(window, elapsed)
    base_rate = rate_per_hour(baseline["requests"], baseline["window_seconds"])
    added = subtract(window_rate, base_rate)
    # Lease renewals are the control plane's (the operator holds no Lease); their rate jitters by
    # a few per minute between windows, which divided by N would read as per-agent load.
    per_agent_hour = sum(v for k, v in added.items() if k not in LEASES) / count
    reads = requests_by(op_after, op_before, ("get", "list"))
    writes = requests_by(op_after, op_before, WRITE_VERBS)
    rss = [mib for _, mib in samples]
    return {
        "window_seconds": round(elapsed, 1),
        "apiserver_requests": window,
        "apiserver_requests_per_hour_above_baseline": added,
        "apiserver_requests_per_agent_per_hour": round(per_agent_hour, 1),
        "operator_reads": reads,
        "operator_writes": writes,
        "operator_requests_per_agent_per_hour": round(
            (reads["total"] + writes["total"]) * 3600.0 / elapsed / count, 1
        ),
        "rss_mib": {"settled": rss[0], "end": rss[-1], "max": max(rss), "growth": round(rss[-1] - rss[0], 1)},
        "rss_samples_mib": samples,
        "reconciles": sum(v for k, v in labelled(op_after, RECONCILES).items())
        - sum(v for k, v in labelled(op_before, RECONCILES).items()),
    }


def reconciled_agents(bench: Bench, namespace: str) -> set[str]:
    seen = set()
    for labels, value in labelled(bench.operator.metrics(), RECONCILES).items():
        as_dict = dict(labels)
        if as_dict.get("namespace") == namespace and value >= 1:
            seen.add(as_dict.get("agent", ""))
    return seen


def startup_phase(bench: Bench, namespace: str, count: int) -> dict[str, Any]:
    """Restart the operator over N settled agents: time until each was reconciled once, and what the
    new process sent (its counters start at zero)."""
    op = bench.operator
    op.stop()
    names = set(agent_names(count))
    api_before = apiserver_counts(bench.api)
    started = time.time()
    op.start()
    healthy = time.time() - started
    deadline = time.monotonic() + max(600.0, count * 2.0)
    while not names <= reconciled_agents(bench, namespace):
        if time.monotonic() > deadline:
            missing = sorted(names - reconciled_agents(bench, namespace))
            raise TimeoutError(
                f"{len(missing)} agents never reconciled after the restart, e.g. {missing[:5]}"
            )
        time.sleep(0.2)
    all_once = time.time() - started
    settled = settle(op, timeout=max(180.0, count * 1.0))
    metrics = op.metrics()
    apiserver = counts_delta(apiserver_counts(bench.api), api_before)
    return {
        "process_start_to_healthy_seconds": round(healthy, 3),
        "process_start_to_all_reconciled_once_seconds": round(all_once, 3),
        "settle_after_seconds": round(settled, 1),
        "operator_writes": requests_by(metrics, {}, WRITE_VERBS),
        "operator_reads": requests_by(metrics, {}, ("get", "list")),
        "apiserver_writes_all_clients": writes_only(apiserver),
        "apiserver_requests_all_clients": apiserver,
        "rss_mib_after": rss_mib(bench),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100, help="N, agents created at once (default 100)")
    parser.add_argument("--create-workers", type=int, default=10, help="parallel agent creates (default 10)")
    parser.add_argument("--floor-workers", type=int, default=10, help="parallel floor applies (default 10)")
    parser.add_argument(
        "--baseline-window", type=float, default=120.0, help="seconds of control plane alone (default 120)"
    )
    parser.add_argument("--soak", type=float, default=600.0, help="idle/soak window, seconds (default 600)")
    parser.add_argument("--rss-interval", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        help="extra operator flag (repeatable), e.g. --resync=36000",
    )
    args = parser.parse_args()
    count = args.agents

    refuse_if_operator_running()
    floor = floor_phase(count, args.floor_workers, args.baseline_window)
    print(
        f"floor: {floor['first_apply_to_all_available_seconds']:.1f}s until all Deployments available",
        flush=True,
    )
    with running_bench(f"fleet-bench-{count}.log", tuple(args.operator_arg)) as bench:
        time.sleep(3)  # start-up lists and watches settle before the idle figure
        load_at_start = contention(bench)
        idle_rss = rss_mib(bench)
        namespace = fresh_namespace(bench.core, f"fleet-{count}")
        try:
            created = create_phase(bench, namespace, count, args.create_workers)
            print(
                f"operator: {created['first_create_to_all_ready_seconds']:.1f}s until all Ready", flush=True
            )
            soak = soak_phase(bench, count, args.soak, args.rss_interval, floor["baseline"])
            startup = startup_phase(bench, namespace, count)
            load_at_end = contention(bench)
        finally:
            bench.operator.stop()
            deleted = delete_and_wait(bench.core, namespace)
        results = {
            "benchmark": "fleet",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine_facts(bench.cluster),
            "agents": count,
            "operator_args": args.operator_arg,
            "floor": floor,
            "operator_rss_idle_mib": idle_rss,
            "create": created,
            "ratio_to_floor": round(
                created["first_create_to_all_ready_seconds"] / floor["first_apply_to_all_available_seconds"],
                2,
            ),
            "soak": soak,
            "startup": startup,
            "namespace_deleted_seconds": round(deleted, 1),
            "contention": {"start": load_at_start, "end": load_at_end},
        }
    path = write_results(f"fleet-{count}", results)
    print_fleet_table(results)
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
