"""Measures a live-metrics rollback end to end: from a canary's error rate crossing its threshold
to stable serving 100% again, against the bound scrape interval + analysis interval + one reconcile.

One operator (benchmarks/_cluster_bench.py) on the local control plane, one real Prometheus
(tests/support/prometheus.py, scrape interval 1 s) scraping the loopback GenAI exporter
(tests/support/genai_exporter.py) that plays stable's and the canary's metrics under the
revision names the operator created. Each run, in a namespace of its own:

1. a 4-replica canary agent (steps `setWeight 50`, `pause 1h`) with background analysis of
   `errorRate` (`maxIncrease: 50`, interval `--interval`, window `--window`);
2. both revisions serve the baseline until the canary's window holds only good traffic and the
   operator's last background measurement Passed;
3. the exporter triples the canary's error rate (the flip, wall time recorded);
4. the watches record when the agent turns Degraded and when the canary Deployment is gone and
   stable has 4 of 4 replicas available ("stable 100%").

The crossing moment is found afterwards by replaying the operator's own queries against
Prometheus at past instants (`query?time=`), every 0.1 s from the flip: the first instant whose
verdict is Failed. Crossing lags the flip because the error ratio over the window rises
gradually (about a quarter of the window for 3x against a +50% bound).

Queries per agent per analysis interval: Prometheus's own `prometheus_http_requests_total`
for `/api/v1/query`, from the canary's start to the flip (only the operator queries then, for
this one agent), divided by the background measurements the agent's status showed meanwhile.

Run from the repository root after `make tools cluster-up`:
`.venv/bin/python benchmarks/analysis_rollback_bench.py [--runs 5]`.
Results: a table on stdout and benchmarks/results/analysis-rollback-<date>.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import urllib3
from _cluster_bench import (
    Bench,
    contention,
    labelled,
    machine_facts,
    parse_api_time,
    print_table,
    reconcile_histogram,
    reconcile_row,
    running_bench,
    spread_text,
    throwaway_namespace,
    write_results,
)
from rollout_bench import REPLICAS, NamespaceState, Watching, only_stable_at_full_size, phase_is, start_agent

from agent_operator.analysis.measure import Revisions, measure
from agent_operator.api.analysis import Analysis
from agent_operator.prom import PrometheusClient
from tests.integration.agents.conftest import Agents
from tests.integration.agents.rollout_support import canary_manifest, image
from tests.support.genai_exporter import GenAiExporter, Traffic, genai_exporter
from tests.support.prometheus import SCRAPE_INTERVAL, PrometheusServer, prometheus_binary

BASELINE = Traffic()
BAD = Traffic(error_ratio=BASELINE.error_ratio * 3)
NAME = "flip"
REPLAY_STEP = 0.1


def analysis_spec(prom: PrometheusServer, interval: int, window: int) -> dict[str, Any]:
    return {
        "prometheus": {"address": prom.address, "timeoutSeconds": 2},
        "metrics": [{"name": "errorRate", "maxIncrease": 50}],
        "minSamples": 50,
        "background": {"intervalSeconds": interval, "windowSeconds": window},
    }


def prometheus_queries(http: urllib3.PoolManager, prom: PrometheusServer) -> float:
    """Instant queries Prometheus has answered so far (every status code)."""
    text = http.request("GET", f"{prom.address}/metrics").data.decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("prometheus_http_requests_total{"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    rows = labelled(samples, "prometheus_http_requests_total")
    return sum(v for labels, v in rows.items() if dict(labels).get("handler") == "/api/v1/query")


def last_run(s: NamespaceState) -> dict[str, Any]:
    return dict((s.status().get("rollout") or {}).get("analysis") or {})


def crossing_time(prom: PrometheusServer, spec: dict[str, Any], revisions: Revisions, start: float) -> float:
    """The first instant from ``start`` at which the operator's query would have said Failed."""
    client = PrometheusClient(prom.address, timeout_seconds=5)
    analysis = Analysis.model_validate(spec)
    at = start
    while at < start + 120:
        if measure(client, analysis, revisions, at=at).verdict == "Failed":
            return at
        at += REPLAY_STEP
    raise RuntimeError("the replay never saw the check fail")


def one_run(
    bench: Bench, exporter: GenAiExporter, prom: PrometheusServer, args: argparse.Namespace, run: int
) -> dict[str, Any]:
    http = urllib3.PoolManager()
    spec = analysis_spec(prom, args.interval, args.window)
    with throwaway_namespace(bench, f"bench-analysis-{run}") as ns:
        agents = Agents(bench.custom, ns)
        body = canary_manifest(
            NAME, ns, [{"setWeight": 50}, {"pause": {"durationSeconds": 3600}}], replicas=REPLICAS
        )
        body["spec"]["analysis"] = spec
        stable = start_agent(agents, body)
        exporter.serve(ns, NAME, stable, BASELINE)
        canary = ""
        try:
            with Watching(bench, ns) as state:
                measured: set[str] = set()

                def record_measurement(s: NamespaceState) -> bool:
                    if last_run(s).get("measuredAt"):
                        measured.add(str(last_run(s)["measuredAt"]))
                    return False

                state.expect("canary", lambda s: bool(s.status().get("canaryRevision")))
                state.expect("measurements", record_measurement)
                agents.patch(NAME, {"spec": {"container": {"image": image("b")}}})
                state.wait("canary", 60)
                canary = str(state.status()["canaryRevision"])
                exporter.serve(ns, NAME, canary, BASELINE)
                served_at, queries_at_start = time.time(), prometheus_queries(http, prom)
                passed_before = set(measured)
                # The canary's window holds only good traffic, and the operator said so.
                while not (
                    time.time() - served_at >= args.window + 2
                    and last_run(state).get("verdict") == "Passed"
                    and last_run(state).get("revision") == canary
                ):
                    if time.time() - served_at > 180:
                        raise TimeoutError(f"no passing measurement of the canary: {state.status()}")
                    time.sleep(0.1)
                measurements = len(measured - passed_before)
                queries = prometheus_queries(http, prom) - queries_at_start
                steady_seconds = time.time() - served_at
                state.expect("degraded", phase_is("Degraded"))
                state.expect("stable-100", only_stable_at_full_size(NAME, stable))
                before = bench.operator.metrics()
                flipped_at = time.time()
                exporter.serve(ns, NAME, canary, BAD)
                degraded_at = state.wait("degraded", 120)
                stable_at = state.wait("stable-100", 60)
                after = bench.operator.metrics()
                failed = last_run(state)
                reason = (state.status().get("rollout") or {}).get("failureReason")
        finally:
            for revision in (stable, canary):
                if revision:
                    exporter.serve(ns, NAME, revision, None)
        if reason != "AnalysisFailed" or failed.get("verdict") != "Failed":
            raise RuntimeError(f"expected an analysis rollback, got {reason!r}: {failed}")
        revisions = Revisions(ns, NAME, canary=canary, stable=stable, window_seconds=args.window)
        crossed_at = crossing_time(prom, spec, revisions, flipped_at)
    return {
        "flip_to_crossing": crossed_at - flipped_at,
        "crossing_to_failed_measurement": parse_api_time(str(failed["measuredAt"])) - crossed_at,
        "crossing_to_degraded": degraded_at - crossed_at,
        "crossing_to_stable_100": stable_at - crossed_at,
        "flip_to_stable_100": stable_at - flipped_at,
        "steady_measurements": measurements,
        "steady_queries": queries,
        "steady_seconds": round(steady_seconds, 1),
        "reconcile_duration": reconcile_histogram(after, before),
    }


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {
        "n": len(ordered),
        "min": round(ordered[0], 2),
        "median": round(median, 2),
        "max": round(ordered[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rollbacks to time (default 5)")
    parser.add_argument("--interval", type=int, default=10, help="background analysis interval, s")
    parser.add_argument("--window", type=int, default=20, help="analysis window, s")
    args = parser.parse_args()
    binary = prometheus_binary()
    if binary is None:
        print("Prometheus is not built: run `make tools`")
        return 1
    results: dict[str, Any] = {
        "benchmark": "analysis-rollback",
        "scrape_interval": SCRAPE_INTERVAL,
        "analysis_interval_seconds": args.interval,
        "window_seconds": args.window,
        "check": "errorRate maxIncrease 50%, minSamples 50; canary error ratio 0.02 -> 0.06",
    }
    samples: list[dict[str, Any]] = []
    with (
        genai_exporter() as exporter,
        tempfile.TemporaryDirectory() as workdir,
        running_bench("analysis-rollback-bench.log") as bench,
    ):
        prom = PrometheusServer(binary, Path(workdir), [exporter.target])
        prom.start()
        try:
            results["machine"] = machine_facts(bench.cluster)
            results["contention_start"] = contention(bench)
            whole_before = bench.operator.metrics()
            for run in range(args.runs):
                sample = one_run(bench, exporter, prom, args, run)
                print(f"run {run}: {sample}", flush=True)
                samples.append(sample)
            whole_after = bench.operator.metrics()
            results["contention_end"] = contention(bench)
        finally:
            prom.stop()
    results["samples"] = samples
    keys = [
        "flip_to_crossing",
        "crossing_to_failed_measurement",
        "crossing_to_degraded",
        "crossing_to_stable_100",
    ]
    results["summary"] = {k: spread([s[k] for s in samples]) for k in [*keys, "flip_to_stable_100"]}
    reconcile = reconcile_histogram(whole_after, whole_before)
    results["reconcile_duration_all_runs"] = reconcile
    scrape = float(SCRAPE_INTERVAL.rstrip("s"))
    one_reconcile = float(reconcile["mean_seconds"] or 0.0)
    results["bound_seconds"] = round(scrape + args.interval + one_reconcile, 2)
    measurements = sum(s["steady_measurements"] for s in samples)
    queries = sum(s["steady_queries"] for s in samples)
    results["queries_per_agent_per_interval"] = round(queries / measurements, 2) if measurements else None
    results["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = write_results("analysis-rollback", results)

    def fmt(key: str) -> str:
        return spread_text(results["summary"][key])

    print_table(
        [
            ("flip (errors x3) -> threshold crossed (min/median/max)", fmt("flip_to_crossing")),
            ("crossed -> failing measurement (whole-second stamp)", fmt("crossing_to_failed_measurement")),
            ("crossed -> Degraded", fmt("crossing_to_degraded")),
            ("crossed -> stable 100%", fmt("crossing_to_stable_100")),
            ("flip -> stable 100%", fmt("flip_to_stable_100")),
            (
                "bound: scrape + interval + one reconcile (mean)",
                f"{scrape:g} + {args.interval} + {one_reconcile:.3f} = {results['bound_seconds']} s",
            ),
            reconcile_row(reconcile),
            (
                "Prometheus queries per agent per interval",
                f"{results['queries_per_agent_per_interval']} "
                f"({queries:g} queries / {measurements} measurements)",
            ),
        ]
    )
    print(f"results: {path.relative_to(path.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
