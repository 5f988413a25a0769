"""Canary analysis against a real Prometheus: queries and wall time per measurement.

Starts the loopback GenAI exporter and Prometheus (tests/support), serves one agent's canary and
stable revisions, waits until both have data, then measures every built-in check ``--runs`` times.
Then triples the canary's error rate and measures every ``--interval`` seconds until errorRate
fails its maxIncrease 50% bound: the detection time, against the window. Prints a table and writes
benchmarks/results/analysis-<date>.json. Needs `make tools` (Prometheus).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_operator.analysis.measure import Revisions, measure
from agent_operator.api.analysis import Analysis
from agent_operator.prom import PrometheusClient, Sample
from tests.support.genai_exporter import Traffic, genai_exporter
from tests.support.prometheus import SCRAPE_INTERVAL, PrometheusServer, prometheus_binary

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ANALYSIS = Analysis.model_validate(
    {
        "prometheus": {"address": "http://unused:9090"},
        "metrics": [
            {"name": "errorRate", "max": 0.2, "maxIncrease": 50},
            {"name": "latencyP95", "maxIncrease": 50},
            {"name": "costPerTask", "maxIncrease": 50},
            {"name": "tokensPerTask", "maxIncrease": 50},
            {"name": "toolCallsPerTask", "max": 10, "maxIncrease": 50},
        ],
        "cost": {"prices": [{"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}]},
        "minSamples": 20,
    }
)


class CountingClient:
    def __init__(self, client: PrometheusClient) -> None:
        self.client = client
        self.queries = 0

    def query(self, promql: str, *, at: float | None = None) -> list[Sample]:
        self.queries += 1
        return self.client.query(promql, at=at)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="measurements to time")
    parser.add_argument("--window", type=int, default=30, help="analysis window in seconds")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between measurements")
    args = parser.parse_args()
    binary = prometheus_binary()
    if binary is None:
        print("Prometheus is not built: run `make tools`", file=sys.stderr)
        return 1
    revisions = Revisions(
        "bench", "bot", canary="bot-canary", stable="bot-stable", window_seconds=args.window
    )
    with genai_exporter() as exporter, tempfile.TemporaryDirectory() as workdir:
        for revision in (revisions.canary, revisions.stable):
            exporter.serve(revisions.namespace, revisions.agent, revision, Traffic())
        server = PrometheusServer(binary, Path(workdir), [exporter.target])
        server.start()
        try:
            client = CountingClient(PrometheusClient(server.address, timeout_seconds=5))
            started = time.monotonic()
            while measure(client, ANALYSIS, revisions).verdict != "Passed":
                if time.monotonic() - started > 120:
                    print("no settled data after 120 s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
            first_pass = time.monotonic() - started
            timings, counts = [], []
            for _ in range(args.runs):
                before, t0 = client.queries, time.perf_counter()
                verdict = measure(client, ANALYSIS, revisions)
                timings.append((time.perf_counter() - t0) * 1000)
                counts.append(client.queries - before)
                assert verdict.verdict == "Passed", verdict.message
            # Break the canary only once the window holds nothing but good traffic.
            time.sleep(max(0.0, args.window + 2 - (time.monotonic() - started)))
            bad = Traffic(error_ratio=Traffic().error_ratio * 3)
            exporter.serve(revisions.namespace, revisions.agent, revisions.canary, bad)
            broke = time.monotonic()
            while (verdict := measure(client, ANALYSIS, revisions)).verdict != "Failed":
                time.sleep(args.interval)
            detection = time.monotonic() - broke
            failed = [r.name for r in verdict.results if r.verdict == "Failed"]
        finally:
            server.stop()
    result: dict[str, Any] = {
        "checks": len(ANALYSIS.metrics),
        "scrape_interval": SCRAPE_INTERVAL,
        "window_seconds": args.window,
        "queries_per_measurement": sorted(set(counts)),
        "measurement_ms": {
            "median": round(statistics.median(timings), 1),
            "p95": round(sorted(timings)[max(0, int(len(timings) * 0.95) - 1)], 1),
            "max": round(max(timings), 1),
        },
        "seconds_to_first_pass_from_start": round(first_pass, 1),
        "runs": args.runs,
        "error_rate_tripled_to_failed_seconds": round(detection, 1),
        "failed_checks": failed,
        "measurement_interval_seconds": args.interval,
    }
    print(f"checks per measurement        {result['checks']}")
    print(f"queries per measurement       {result['queries_per_measurement']}")
    print(f"measurement wall time (ms)    {result['measurement_ms']}")
    print(f"first Passed after start (s)  {result['seconds_to_first_pass_from_start']}")
    print(f"errors x3 -> Failed (s)       {result['error_rate_tripled_to_failed_seconds']} {failed}")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"analysis-{time.strftime('%Y-%m-%d', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
