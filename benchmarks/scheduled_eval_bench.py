"""Scheduled re-evaluation on the real operator process and the real clock: how late after its cron
slot the evaluation Job is created, and how long after the Job completes the regression shows
(EvaluationRegressed=True) and, with onRegression: Suspend, every revision is at zero replicas.

Two agents with schedule "* * * * *": one scoring 0.5 with onRegression: Alert (measured for
``--slots`` consecutive minutes), one scoring 0.4 with onRegression: Suspend (one run, then held).
The script polls the API every 0.1 s, so each figure carries up to 0.1 s of polling error; the
cron slot is the exact minute boundary of the wall clock.

Run from the repository root after `make cluster-up`:
    .venv/bin/python benchmarks/scheduled_eval_bench.py [--slots 2]
Results: a table on stdout and benchmarks/results/scheduled-eval-<date>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from _cluster_bench import (
    GROUP,
    PLURAL,
    VERSION,
    Bench,
    contention,
    machine_facts,
    print_table,
    running_bench,
    throwaway_namespace,
    write_results,
)

from tests.support.kube import TERMINATION_MESSAGE_ANNOTATION
from tests.support.operator import agent_manifest

EVAL_IMAGE = "registry.example.com/support-bot-evals@sha256:" + "e" * 64
SCHEDULED = "agentoperator.dev/role=evaluation,agentoperator.dev/evaluation-step=schedule"
POLL = 0.1


def manifest(name: str, namespace: str, score: float, on_regression: str) -> dict[str, Any]:
    evaluation = {
        "image": EVAL_IMAGE,
        "minScore": 0.9,
        "timeoutSeconds": 120,
        "schedule": "* * * * *",
        "onRegression": on_regression,
        "annotations": {TERMINATION_MESSAGE_ANNOTATION: json.dumps({"score": score})},
    }
    return agent_manifest(name, namespace, replicas=1, evaluation=evaluation)


def _complete(job: Any) -> bool:
    return any(c.type == "Complete" and c.status == "True" for c in (job.status.conditions or []))


def _regressed(agent: dict[str, Any]) -> bool:
    conditions = (agent.get("status") or {}).get("conditions") or []
    return any(c["type"] == "EvaluationRegressed" and c["status"] == "True" for c in conditions)


def observe(bench: Bench, namespace: str, slots: int) -> dict[str, Any]:
    """Poll until the Alert agent has had ``slots`` Jobs and the Suspend agent is at zero."""
    seen: dict[str, float] = {}
    done: dict[str, float] = {}
    agent_of: dict[str, str] = {}
    firsts: dict[str, float] = {}
    deadline = time.time() + 60 * (slots + 2)
    while time.time() < deadline:
        now = time.time()
        for job in bench.batch.list_namespaced_job(namespace, label_selector=SCHEDULED).items:
            name = job.metadata.name
            seen.setdefault(name, now)
            agent_of[name] = job.metadata.labels["agentoperator.dev/agent"]
            if _complete(job):
                done.setdefault(name, now)
        for agent in ("alert", "suspend"):
            obj = bench.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, agent)
            if _regressed(obj):
                firsts.setdefault(f"{agent}-regressed", now)
        replicas = [
            d.spec.replicas
            for d in bench.apps.list_namespaced_deployment(
                namespace, label_selector="agentoperator.dev/agent=suspend"
            ).items
        ]
        if "suspend-regressed" in firsts and replicas and all(r == 0 for r in replicas):
            firsts.setdefault("suspend-zero", now)
        alert_jobs = [n for n, a in agent_of.items() if a == "alert"]
        if len(alert_jobs) >= slots and "suspend-zero" in firsts and "alert-regressed" in firsts:
            break
        time.sleep(POLL)
    return {"seen": seen, "done": done, "agent_of": agent_of, "firsts": firsts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=2, help="cron minutes to measure (default 2)")
    args = parser.parse_args()
    results: dict[str, Any] = {"slots": args.slots, "poll_seconds": POLL}
    with running_bench("scheduled-eval.log") as bench, throwaway_namespace(bench, "sched-eval") as ns:
        results["machine"] = machine_facts(bench.cluster)
        results["contention_start"] = contention(bench)
        for name, score, mode in (("alert", 0.5, "Alert"), ("suspend", 0.4, "Suspend")):
            bench.custom.create_namespaced_custom_object(
                GROUP, VERSION, ns, PLURAL, manifest(name, ns, score, mode)
            )
        seen = observe(bench, ns, args.slots)
        results["contention_end"] = contention(bench)
    slot_to_job = [t - (t // 60) * 60 for t in seen["seen"].values()]
    first_alert_done = min(
        (seen["done"][n] for n, a in seen["agent_of"].items() if a == "alert" and n in seen["done"]),
        default=None,
    )
    suspend_done = min(
        (seen["done"][n] for n, a in seen["agent_of"].items() if a == "suspend" and n in seen["done"]),
        default=None,
    )
    firsts = seen["firsts"]
    results["slot_to_job_created_seconds"] = [round(v, 2) for v in sorted(slot_to_job)]
    results["job_complete_to_regressed_seconds"] = (
        round(firsts["alert-regressed"] - first_alert_done, 2)
        if first_alert_done and "alert-regressed" in firsts
        else None
    )
    results["job_complete_to_zero_replicas_seconds"] = (
        round(firsts["suspend-zero"] - suspend_done, 2) if suspend_done and "suspend-zero" in firsts else None
    )
    results["scheduled_jobs"] = {
        a: sum(1 for x in seen["agent_of"].values() if x == a) for a in ("alert", "suspend")
    }
    results["when"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_results("scheduled-eval", results)
    print_table(
        [
            (
                "cron slot -> Job created (s, each run)",
                ", ".join(f"{v:g}" for v in results["slot_to_job_created_seconds"]),
            ),
            ("median", f"{statistics.median(slot_to_job):.2f}" if slot_to_job else "-"),
            ("Job Complete -> EvaluationRegressed (s)", str(results["job_complete_to_regressed_seconds"])),
            (
                "Job Complete -> 0 replicas, Suspend (s)",
                str(results["job_complete_to_zero_replicas_seconds"]),
            ),
            ("scheduled Jobs (alert, suspend)", json.dumps(results["scheduled_jobs"])),
        ]
    )
    print(f"results: {path.relative_to(path.parents[2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
