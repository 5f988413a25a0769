"""Measures the spend cap end to end: from spend crossing dailyUSD to every revision at zero
replicas, against the bound scrape interval + budget interval + one reconcile.

One operator (benchmarks/_cluster_bench.py) on the local control plane, one real Prometheus
(tests/support/prometheus.py, scrape interval 1 s) scraping the loopback GenAI exporter
(tests/support/genai_exporter.py). Each run, in a namespace of its own:

1. a 4-replica agent with `spec.runtime.budget` (`dailyUSD: 1`, `intervalSeconds: --interval`)
   and `spec.analysis.cost` prices; its revision's token series exported at 0;
2. once the operator's measurement shows the revision's series (so Prometheus has the zeros),
   the exporter records 185 tasks at once: $1.11 of tokens, past the cap (wall time recorded);
3. the watches record when the agent turns Suspended (BudgetExhausted) and when every
   Deployment of the agent has `spec.replicas: 0` ("zero replicas"), then no pods left.

The crossing moment is found afterwards by replaying the operator's own spend queries against
Prometheus at past instants (`query?time=`), every 0.1 s from the burst: the first instant whose
spend reaches the cap (the first scrape after the burst).

Run from the repository root after `make tools cluster-up`:
`.venv/bin/python benchmarks/budget_cap_bench.py [--runs 5] [--interval 10]`.
Results: a table on stdout and benchmarks/results/budget-cap-<date>.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _cluster_bench import (
    Bench,
    contention,
    machine_facts,
    print_table,
    reconcile_histogram,
    reconcile_row,
    running_bench,
    spread_text,
    throwaway_namespace,
    write_results,
)
from analysis_rollback_bench import spread
from rollout_bench import REPLICAS, NamespaceState, Watching, phase_is, start_agent

from agent_operator.api.analysis import Cost
from agent_operator.budget.measure import SpendQuery, spend_queries
from agent_operator.prom import PrometheusClient
from tests.integration.agents.conftest import Agents
from tests.support.genai_exporter import GenAiExporter, Traffic, genai_exporter
from tests.support.operator import agent_manifest
from tests.support.prometheus import SCRAPE_INTERVAL, PrometheusServer, prometheus_binary

NAME = "spender"
CAP_USD = 1.0
TASKS = 185
"""$0.006 a task at PRICES: $1.11."""
PRICES = [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]
REPLAY_STEP = 0.1


def budgeted(ns: str, prom: PrometheusServer, interval: int) -> dict[str, Any]:
    body = agent_manifest(NAME, ns, replicas=REPLICAS)
    body["spec"]["runtime"]["budget"] = {"dailyUSD": CAP_USD, "intervalSeconds": interval}
    body["spec"]["analysis"] = {
        "prometheus": {"address": prom.address, "timeoutSeconds": 2},
        "metrics": [{"name": "errorRate", "max": 0.5}],
        "cost": {"prices": PRICES},
    }
    return body


def series_measured(revision: str) -> Any:
    def check(s: NamespaceState) -> bool:
        rows = (s.status().get("budget") or {}).get("revisions") or []
        return any(r.get("revision") == revision for r in rows)

    return check


def all_at_zero(s: NamespaceState) -> bool:
    deps = list(s.deployments.values())
    return bool(deps) and all((d.get("spec") or {}).get("replicas") == 0 for d in deps)


def no_pods(s: NamespaceState) -> bool:
    deps = list(s.deployments.values())
    return bool(deps) and all(not (d.get("status") or {}).get("replicas") for d in deps)


def crossing_time(prom: PrometheusServer, ns: str, start: float) -> float:
    """The first instant from ``start`` at which the operator's spend query reaches the cap."""
    client = PrometheusClient(prom.address, timeout_seconds=5)
    queries = [
        (promql, price)
        for kind, promql, price in spend_queries(
            Cost.model_validate({"prices": PRICES}), SpendQuery(ns, NAME, 3600, 60)
        )
        if kind == "spent"
    ]
    at = start
    while at < start + 60:
        spent = sum(s.value * price for promql, price in queries for s in client.query(promql, at=at))
        if spent >= CAP_USD:
            return at
        at += REPLAY_STEP
    raise RuntimeError("the replay never saw spend reach the cap")


def one_run(
    bench: Bench, exporter: GenAiExporter, prom: PrometheusServer, interval: int, run: int
) -> dict[str, Any]:
    with throwaway_namespace(bench, f"bench-budget-{run}") as ns:
        agents = Agents(bench.custom, ns)
        stable = start_agent(agents, budgeted(ns, prom, interval))
        exporter.serve(ns, NAME, stable, Traffic(tasks=0))
        try:
            with Watching(bench, ns) as state:
                state.expect("measured", series_measured(stable))
                state.wait("measured", 120)
                state.expect("suspended", phase_is("Suspended"))
                state.expect("zero", all_at_zero)
                state.expect("no-pods", no_pods)
                before = bench.operator.metrics()
                burst_at = time.time()
                exporter.burst(ns, NAME, stable, TASKS, Traffic(tasks=0))
                suspended_at = state.wait("suspended", 120)
                zero_at = state.wait("zero", 60)
                gone_at = state.wait("no-pods", 60)
                after = bench.operator.metrics()
                budget = dict(state.status().get("budget") or {})
        finally:
            exporter.serve(ns, NAME, stable, None)
        if budget.get("state") != "Exhausted":
            raise RuntimeError(f"expected an exhausted budget, got {budget}")
        crossed_at = crossing_time(prom, ns, burst_at)
    return {
        "burst_to_crossing": crossed_at - burst_at,
        "crossing_to_suspended": suspended_at - crossed_at,
        "crossing_to_zero_replicas": zero_at - crossed_at,
        "crossing_to_no_pods": gone_at - crossed_at,
        "spent_usd_seen": budget.get("spentUSD"),
        "reconcile_duration": reconcile_histogram(after, before),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="caps to trip (default 5)")
    parser.add_argument("--interval", type=int, default=10, help="budget.intervalSeconds (default 10)")
    args = parser.parse_args()
    binary = prometheus_binary()
    if binary is None:
        print("Prometheus is not built: run `make tools`")
        return 1
    results: dict[str, Any] = {
        "benchmark": "budget-cap",
        "scrape_interval": SCRAPE_INTERVAL,
        "budget_interval_seconds": args.interval,
        "cap": f"dailyUSD {CAP_USD}; a burst of {TASKS} tasks = $1.11 of tokens",
    }
    samples: list[dict[str, Any]] = []
    with (
        genai_exporter() as exporter,
        tempfile.TemporaryDirectory() as workdir,
        running_bench("budget-cap-bench.log") as bench,
    ):
        prom = PrometheusServer(binary, Path(workdir), [exporter.target])
        prom.start()
        try:
            results["machine"] = machine_facts(bench.cluster)
            results["contention_start"] = contention(bench)
            whole_before = bench.operator.metrics()
            for run in range(args.runs):
                sample = one_run(bench, exporter, prom, args.interval, run)
                print(f"run {run}: {sample}", flush=True)
                samples.append(sample)
            whole_after = bench.operator.metrics()
            results["contention_end"] = contention(bench)
        finally:
            prom.stop()
    results["samples"] = samples
    keys = ["burst_to_crossing", "crossing_to_suspended", "crossing_to_zero_replicas", "crossing_to_no_pods"]
    results["summary"] = {k: spread([s[k] for s in samples]) for k in keys}
    reconcile = reconcile_histogram(whole_after, whole_before)
    results["reconcile_duration_all_runs"] = reconcile
    one_reconcile = float(reconcile["mean_seconds"] or 0.0)
    results["target_seconds"] = round(args.interval + one_reconcile, 2)
    results["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = write_results("budget-cap", results)

    def fmt(key: str) -> str:
        return spread_text(results["summary"][key])

    print_table(
        [
            ("burst -> spend reaches the cap in Prometheus (min/median/max)", fmt("burst_to_crossing")),
            ("crossed -> Suspended (BudgetExhausted)", fmt("crossing_to_suspended")),
            ("crossed -> every Deployment at 0 replicas", fmt("crossing_to_zero_replicas")),
            ("crossed -> no pods left", fmt("crossing_to_no_pods")),
            (
                "target: one budget interval + one reconcile (mean)",
                f"{args.interval} + {one_reconcile:.3f} = {results['target_seconds']} s",
            ),
            reconcile_row(reconcile),
        ]
    )
    print(f"results: {path.relative_to(path.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
