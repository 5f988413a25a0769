"""Noisy neighbours: a good agent's create->Ready time on a quiet operator and next to 200 broken
agents, the writes in one idle minute once everything has settled, and the validity corpus figures.

The broken agents are those of tests/integration/agents/test_noisy_neighbour.py
(tests/support/neighbours.py): specs the CRD admits but the apiserver refuses at apply time, and
agents waiting for a Secret that never appears. One real operator (`python -m agent_operator
--all-namespaces`, as the cluster admin) does all the work; the script refuses to run next to
another operator of this clone.

1. Quiet: ``--samples`` good agents, one after another, in a namespace of their own.
2. Storms, ``--storms`` times: the broken agents are created in a fresh namespace through the API by
   8 parallel calls, and right after the last create one good agent in another namespace. Its
   create->Ready is the figure that matters: the operator has all the broken agents' first
   reconciles (and their refusals) on its hands at that moment. Each sample also records how many
   broken agents were not yet Stalled with their true reason when it was created.
3. Settled (last storm): once every broken agent is Stalled truthfully and the operator has stopped
   writing, ``--samples`` more good agents.
4. Idle windows: with everything still in place, ``--idle-windows`` consecutive windows of
   ``--idle-window`` seconds: the apiserver's own ``apiserver_request_total`` for every verb but
   GET, LIST and WATCH, by verb, resource and response code (accepted 2xx apart from refused; the
   control plane's Lease renewals counted apart), and the operator's
   ``agent_operator_api_requests_total`` for patch, create and delete (attempts, refused included).
5. The corpus: runs tests/integration/test_validity_agreement.py and reads the line it prints.

Run from the repository root after `make cluster-up`:
`.venv/bin/python benchmarks/noisy_neighbour_bench.py [--broken 200] [--storms 3] [--samples 5]`.
Results: a table on stdout and benchmarks/results/noisy-neighbour-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from _cluster_bench import (
    WRITE_VERBS,
    Bench,
    contention,
    machine_facts,
    print_table,
    requests_by,
    running_bench,
    settle,
    summary,
    throwaway_namespace,
    wait_until,
)
from _cluster_bench import write_results as write_results_file
from kubernetes import client
from operator_bench import timed_batch

from tests.support.kube import apiserver_requests
from tests.support.neighbours import admitted_kinds, broken_agents, create_concurrently, stall_reasons

READ_VERBS = frozenset({"GET", "LIST", "WATCH"})
CONTROL_PLANE_RESOURCES = frozenset({"leases"})
"""Written by kube-controller-manager, kube-scheduler and KWOK's node heartbeats every few seconds,
with or without agents; reported, but apart from the writes agents could cause."""


def good_samples(
    bench: Bench, namespace: str, prefix: str, count: int, broken_ns: str | None
) -> list[dict[str, Any]]:
    """Good agents one after another; each sample's create->Ready and, with neighbours, how many
    broken agents were still without their true condition when it was created."""
    samples = []
    for i in range(count):
        pending = None
        if broken_ns is not None:
            pending = sum(1 for reason in stall_reasons(bench.custom, broken_ns).values() if reason is None)
        name = f"{prefix}-{i}"
        clock = timed_batch(bench, namespace, [name], workers=1, timeout=180)
        acted = first_decision(bench, namespace, name)
        samples.append(
            {
                "seconds": round(clock.latencies()[0], 3),
                "operator_acted_after": None if acted is None else round(acted - clock.created[name], 3),
                "broken_not_yet_stalled": pending,
            }
        )
    return samples


def _acted(samples: list[dict[str, Any]]) -> str:
    values = [s["operator_acted_after"] for s in samples if s.get("operator_acted_after") is not None]
    return f"{statistics.median(values):.2f}s" if values else "-"


def first_decision(bench: Bench, namespace: str, name: str) -> float | None:
    """When the operator logged its first decision about the agent (its first write): what separates
    the operator's share of create->Ready from the control plane's (Deployment, scheduler, KWOK)."""
    for line in bench.operator.log_path.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if (entry.get("namespace"), entry.get("agent")) == (namespace, name) and entry.get("timestamp"):
            return datetime.fromisoformat(entry["timestamp"]).timestamp()
    return None


def apiserver_writes(api: client.ApiClient) -> dict[str, float]:
    """apiserver_request_total summed by 'VERB resource code' for every verb but GET, LIST and WATCH."""
    out: dict[str, float] = {}
    for labels, value in apiserver_requests(api):
        if labels.get("verb") in READ_VERBS:
            continue
        key = f"{labels.get('verb')} {labels.get('resource') or '-'} {labels.get('code')}"
        out[key] = out.get(key, 0.0) + float(value)
    return out


def counter_delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in sorted(after.items()) if v - before.get(k, 0.0)}


def idle_window(bench: Bench, window: float) -> dict[str, Any]:
    api_before, op_before = apiserver_writes(bench.api), bench.operator.metrics()
    time.sleep(window)
    api_after, op_after = apiserver_writes(bench.api), bench.operator.metrics()
    by_key = counter_delta(api_after, api_before)
    control_plane = {k: v for k, v in by_key.items() if k.split(" ")[1] in CONTROL_PLANE_RESOURCES}
    other = {k: v for k, v in by_key.items() if k not in control_plane}
    accepted = {k: v for k, v in other.items() if k.rsplit(" ", 1)[1].startswith("2")}
    operator = requests_by(op_after, op_before, WRITE_VERBS)
    return {
        "window_seconds": window,
        "apiserver_writes_accepted": sum(accepted.values()),
        "apiserver_writes_refused": sum(other.values()) - sum(accepted.values()),
        "apiserver_writes_by_verb_resource_code": other,
        "apiserver_lease_writes_control_plane": sum(control_plane.values()),
        "operator_write_attempts": operator["total"],
        "operator_write_attempts_by_verb_kind": operator["by_verb_kind"],
    }


def corpus_figures() -> dict[str, Any]:
    """Runs the agreement test and reads its summary line."""
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/integration/test_validity_agreement.py",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(
        r"validity agreement: (\d+) variants, (\d+) admitted, (\d+) refused, agreement ([\d.]+)%", proc.stdout
    )
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"test_validity_agreement failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    variants, admitted, refused, rate = found.groups()
    return {
        "command": "pytest tests/integration/test_validity_agreement.py -q -s",
        "variants": int(variants),
        "admitted": int(admitted),
        "refused": int(refused),
        "agreement_percent": float(rate),
        "test_seconds": round(time.monotonic() - started, 1),
    }


def median(samples: list[dict[str, Any]]) -> float:
    return float(statistics.median(s["seconds"] for s in samples))


def storm(bench: Bench, args: argparse.Namespace, index: int, last: bool) -> dict[str, Any]:
    """One burst of broken agents and a good agent right after it; the last storm also measures
    good agents once the neighbours have settled, and the idle windows."""
    op = bench.operator
    with (
        throwaway_namespace(bench, "nn-broken") as broken_ns,
        throwaway_namespace(bench, "nn-good") as good_ns,
    ):
        kinds = admitted_kinds(bench.custom, broken_ns)
        broken = broken_agents(broken_ns, kinds, args.broken)
        expected = {name: reason for name, (_, reason) in broken.items()}
        before = op.metrics()
        started = time.time()
        create_concurrently(bench.custom, broken_ns, [body for body, _ in broken.values()])
        create_span = time.time() - started
        good = good_samples(bench, good_ns, f"storm{index}", 1, broken_ns)[0]

        def truthful() -> bool:
            return stall_reasons(bench.custom, broken_ns) == expected

        wait_until(truthful, f"{args.broken} broken agents Stalled with their true reason", timeout=600)
        all_stalled = time.time() - started
        settle_seconds = settle(op)
        writes = requests_by(op.metrics(), before, WRITE_VERBS)
        result: dict[str, Any] = {
            "broken_kinds": {k.label: k.reason for k in kinds},
            "create_span_seconds": round(create_span, 3),
            "good_agent": good,
            "first_create_to_all_broken_stalled_truthfully_seconds": round(all_stalled, 1),
            "settle_after_stalled_seconds": round(settle_seconds, 1),
            # From the first broken create until settled, the good agent's writes included.
            "operator_writes_until_settled": writes["total"],
            "operator_writes_until_settled_by_verb_kind": writes["by_verb_kind"],
        }
        if last:
            result["settled_samples"] = good_samples(bench, good_ns, "settled", args.samples, broken_ns)
            settle(op)
            result["idle_windows"] = [idle_window(bench, args.idle_window) for _ in range(args.idle_windows)]
    print(
        f"storm {index}: good agent {good['seconds']:.2f}s, all broken stalled {all_stalled:.1f}s", flush=True
    )
    return result


def neighbours(bench: Bench, args: argparse.Namespace, quiet: list[dict[str, Any]]) -> dict[str, Any]:
    storms = [storm(bench, args, i, i == args.storms - 1) for i in range(args.storms)]
    during = [s["good_agent"] for s in storms]
    settled = storms[-1]["settled_samples"]
    quiet_median = median(quiet)
    return {
        "broken_agents": args.broken,
        "good_agent_right_after_each_burst": {
            "create_to_ready_seconds": summary([s["seconds"] for s in during]),
            "samples": during,
        },
        "good_agent_after_settled": {
            "create_to_ready_seconds": summary([s["seconds"] for s in settled]),
            "samples": settled,
        },
        "ratio_burst_median_to_quiet_median": round(median(during) / quiet_median, 2),
        "ratio_settled_median_to_quiet_median": round(median(settled) / quiet_median, 2),
        "idle_windows_after_settled": storms[-1]["idle_windows"],
        "storms": storms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broken", type=int, default=200, help="broken agents (default 200)")
    parser.add_argument("--samples", type=int, default=5, help="good-agent samples per phase (default 5)")
    parser.add_argument("--storms", type=int, default=3, help="bursts of broken agents (default 3)")
    parser.add_argument("--idle-window", type=float, default=60.0, help="idle window in seconds (default 60)")
    parser.add_argument("--idle-windows", type=int, default=2, help="consecutive idle windows (default 2)")
    args = parser.parse_args()

    corpus = corpus_figures()
    with running_bench("noisy-neighbour-bench.log") as bench:
        time.sleep(3)  # start-up lists and watches settle first
        load_at_start = contention(bench)
        with throwaway_namespace(bench, "nn-quiet") as quiet_ns:
            quiet = good_samples(bench, quiet_ns, "quiet", args.samples, None)
        noisy = neighbours(bench, args, quiet)
        results = {
            "benchmark": "noisy-neighbour",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine_facts(bench.cluster),
            "command": " ".join(["benchmarks/noisy_neighbour_bench.py", *sys.argv[1:]]),
            "good_agent_quiet": {
                "create_to_ready_seconds": summary([s["seconds"] for s in quiet]),
                "samples": quiet,
            },
            "neighbours": noisy,
            "validity_corpus": corpus,
            "contention": {"start": load_at_start, "end": contention(bench)},
        }
    path = write_results_file("noisy-neighbour", results)

    q = results["good_agent_quiet"]["create_to_ready_seconds"]
    b = noisy["good_agent_right_after_each_burst"]["create_to_ready_seconds"]
    t = noisy["good_agent_after_settled"]["create_to_ready_seconds"]
    b_samples = noisy["good_agent_right_after_each_burst"]["samples"]
    rows = [
        (
            f"good agent create->Ready, quiet (median/max of {q['n']})",
            f"{q['median']:.2f}s / {q['max']:.2f}s",
        ),
        (
            f"... right after {args.broken} broken (median/max of {b['n']})",
            f"{b['median']:.2f}s / {b['max']:.2f}s",
        ),
        (f"... after they settled (median/max of {t['n']})", f"{t['median']:.2f}s / {t['max']:.2f}s"),
        (
            "ratio burst / settled to quiet (medians)",
            f"{noisy['ratio_burst_median_to_quiet_median']}x / "
            f"{noisy['ratio_settled_median_to_quiet_median']}x",
        ),
        (
            "create -> operator's first write, quiet / burst (medians)",
            f"{_acted(quiet)} / {_acted(b_samples)}",
        ),
        (
            "first create -> all broken Stalled truthfully",
            ", ".join(
                f"{s['first_create_to_all_broken_stalled_truthfully_seconds']}s" for s in noisy["storms"]
            ),
        ),
    ]
    for i, idle in enumerate(noisy["idle_windows_after_settled"]):
        rows.append(
            (
                f"idle window {i + 1} ({idle['window_seconds']:.0f}s): accepted / refused writes",
                f"{idle['apiserver_writes_accepted']:.0f} / {idle['apiserver_writes_refused']:.0f} "
                f"(operator attempts {idle['operator_write_attempts']:.0f}, "
                f"lease writes {idle['apiserver_lease_writes_control_plane']:.0f})",
            )
        )
    rows.append(
        (
            "validity corpus",
            f"{corpus['variants']} variants, {corpus['admitted']} admitted, "
            f"agreement {corpus['agreement_percent']}%",
        )
    )
    print_table(rows)
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
