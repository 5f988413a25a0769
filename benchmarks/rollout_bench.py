"""Measures progressive delivery on the local control plane: time from a canary's failure signal to
stable serving 100%, time for `agentctl rollback`, and the time each canary step takes.

KWOK starts pods in well under a second and runs no containers, so the figures are the
operator's decisions plus the control plane's controllers, not image pulls or app start-up.
Every scenario runs `--runs` times, each in a namespace of its own that is deleted afterwards.
Times come from watch events received by this script (sub-second), except where an API
timestamp is the reference the operator itself uses (the step start of a progress deadline).

Run from the repository root: `make bench-operator`, or
`.venv/bin/python benchmarks/rollout_bench.py [--runs 3]`.
Results: a table on stdout and benchmarks/results/rollout-<date>.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _cluster_bench import (
    GROUP,
    PLURAL,
    VERSION,
    Bench,
    Watcher,
    condition_status,
    contention,
    machine_facts,
    parse_api_time,
    print_table,
    reconcile_histogram,
    running_bench,
    summary,
    throwaway_namespace,
    write_results,
)

from tests.integration.agents.conftest import Agents
from tests.integration.agents.rollout_support import AGENTCTL, canary_manifest, image, wait_stable_ready
from tests.support.kube import FAULT_LABEL

REPLICAS = 4
Predicate = Callable[["NamespaceState"], bool]


@dataclass
class NamespaceState:
    """The agent, its Deployments and Jobs as the watches last delivered them, and the first
    moment each registered predicate held."""

    agent: dict[str, Any] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _expected: dict[str, Predicate] = field(default_factory=dict)
    _seen: dict[str, float] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def status(self) -> dict[str, Any]:
        return dict(self.agent.get("status") or {})

    def expect(self, key: str, predicate: Predicate) -> None:
        with self._changed:
            self._expected[key] = predicate
            self._check(time.time())

    def wait(self, key: str, timeout: float) -> float:
        """Wall time at which ``key``'s predicate first held."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while key not in self._seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {key}; agent status: {self.status()}")
                self._changed.wait(left)
            return self._seen[key]

    def _check(self, at: float) -> None:
        for key, predicate in self._expected.items():
            if key not in self._seen and predicate(self):
                self._seen[key] = at
        self._changed.notify_all()

    def _update(self, store: dict[str, dict[str, Any]], type_: str, obj: dict[str, Any], at: float) -> None:
        with self._changed:
            name = obj["metadata"]["name"]
            if type_ == "DELETED":
                store.pop(name, None)
            else:
                store[name] = obj
            self._check(at)

    def on_deployment(self, type_: str, obj: dict[str, Any], at: float) -> None:
        self._update(self.deployments, type_, obj, at)

    def on_job(self, type_: str, obj: dict[str, Any], at: float) -> None:
        self._update(self.jobs, type_, obj, at)

    def on_agent(self, type_: str, obj: dict[str, Any], at: float) -> None:
        with self._changed:
            self.agent = {} if type_ == "DELETED" else obj
            self._check(at)


class Watching:
    """Watches one namespace's agent, Deployments and Jobs into a NamespaceState."""

    def __init__(self, bench: Bench, namespace: str) -> None:
        self.state = NamespaceState()
        self._watchers = [
            Watcher(bench.apps.list_namespaced_deployment, (namespace,), self.state.on_deployment),
            Watcher(
                bench.custom.list_namespaced_custom_object,
                (GROUP, VERSION, namespace, PLURAL),
                self.state.on_agent,
            ),
            Watcher(bench.batch.list_namespaced_job, (namespace,), self.state.on_job),
        ]

    def __enter__(self) -> NamespaceState:
        for w in self._watchers:
            w.__enter__()
        time.sleep(0.5)  # initial lists delivered
        return self.state

    def __exit__(self, *exc: object) -> None:
        for w in self._watchers:
            w.__exit__()


def only_stable_at_full_size(name: str, stable: str) -> Predicate:
    """The canary Deployment is gone and stable has every replica available."""

    def check(s: NamespaceState) -> bool:
        dep = s.deployments.get(f"{name}-{stable}")
        if dep is None or set(s.deployments) != {f"{name}-{stable}"}:
            return False
        spec, status = dep.get("spec") or {}, dep.get("status") or {}
        return spec.get("replicas") == REPLICAS and (status.get("availableReplicas") or 0) == REPLICAS

    return check


def job_failed(s: NamespaceState) -> bool:
    return any(condition_status(job, "Failed") == "True" for job in s.jobs.values())


def phase_is(phase: str) -> Predicate:
    return lambda s: s.status().get("phase") == phase


def at_step(index: int) -> Predicate:
    def check(s: NamespaceState) -> bool:
        rollout = s.status().get("rollout") or {}
        return rollout.get("stepIndex") == index and bool(s.status().get("canaryRevision"))

    return check


def start_agent(agents: Agents, manifest: dict[str, Any]) -> str:
    agents.create(manifest)
    return wait_stable_ready(agents, manifest["metadata"]["name"])


# -- scenarios ----------------------------------------------------------------------------------


def evaluation_failure(bench: Bench, run: int) -> dict[str, float]:
    name = "evalfail"
    with throwaway_namespace(bench, f"bench-evalfail-{run}") as ns:
        agents = Agents(bench.custom, ns)
        steps: list[dict[str, Any]] = [{"setWeight": 25}, {"evaluate": {}}]
        failing = {"labels": {FAULT_LABEL: "fail"}}
        manifest = canary_manifest(name, ns, steps, replicas=REPLICAS, evaluation=failing)
        stable = start_agent(agents, manifest)
        with Watching(bench, ns) as state:
            state.expect("job-failed", job_failed)
            agents.patch(name, {"spec": {"container": {"image": image("c")}}})
            failed_at = state.wait("job-failed", 120)
            state.expect("degraded", phase_is("Degraded"))
            state.expect("stable-100", only_stable_at_full_size(name, stable))
            degraded_at = state.wait("degraded", 60)
            stable_at = state.wait("stable-100", 60)
            job = next(j for j in state.jobs.values() if condition_status(j, "Failed") == "True")
            transition = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    return {
        "signal_to_degraded": degraded_at - failed_at,
        "signal_to_stable_100": stable_at - failed_at,
        "job_condition_time_to_stable_100": stable_at - parse_api_time(transition["lastTransitionTime"]),
    }


def progress_deadline(bench: Bench, run: int) -> dict[str, float]:
    name = "stuck"
    deadline_seconds = 5
    with throwaway_namespace(bench, f"bench-deadline-{run}") as ns:
        agents = Agents(bench.custom, ns)
        manifest = canary_manifest(
            name, ns, [{"setWeight": 50}], replicas=REPLICAS, progressDeadlineSeconds=deadline_seconds
        )
        stable = start_agent(agents, manifest)
        step_starts: list[str] = []

        def record_step_start(s: NamespaceState) -> bool:
            started = (s.status().get("rollout") or {}).get("stepStartedAt")
            if s.status().get("canaryRevision") and started and started not in step_starts:
                step_starts.append(started)
            return False

        with Watching(bench, ns) as state:
            state.expect("step-start", record_step_start)
            agents.patch(
                name,
                {
                    "spec": {
                        "container": {"image": image("d")},
                        "podTemplate": {"labels": {FAULT_LABEL: "never-ready"}},
                    }
                },
            )
            state.expect("degraded", phase_is("Degraded"))
            degraded_at = state.wait("degraded", 120)
            state.expect("stable-100", only_stable_at_full_size(name, stable))
            stable_at = state.wait("stable-100", 60)
            reason = (state.status().get("rollout") or {}).get("failureReason")
    if reason != "ProgressDeadlineExceeded" or not step_starts:
        raise RuntimeError(f"expected a progress deadline rollback, got {reason!r} (starts {step_starts})")
    # The operator counts the deadline from the step start it stored (whole seconds).
    deadline_at = parse_api_time(step_starts[-1]) + deadline_seconds
    return {
        "deadline_to_degraded": degraded_at - deadline_at,
        "deadline_to_stable_100": stable_at - deadline_at,
    }


def manual_rollback(bench: Bench, run: int) -> dict[str, float]:
    name = "undo"
    with throwaway_namespace(bench, f"bench-rollback-{run}") as ns:
        agents = Agents(bench.custom, ns)
        manifest = canary_manifest(name, ns, [{"setWeight": 50}, {"pause": {}}], replicas=REPLICAS)
        first = start_agent(agents, manifest)
        with Watching(bench, ns) as state:
            state.expect(
                "awaiting-approval", lambda s: (s.status().get("rollout") or {}).get("stepIndex") == 1
            )
            agents.patch(name, {"spec": {"container": {"image": image("e")}}})
            state.wait("awaiting-approval", 90)
            run_agentctl(bench, ns, "promote", name, "--full")
            second = wait_stable_ready(agents, name)
            assert second != first
            state.expect(
                "first-serving",
                lambda s: (
                    only_stable_at_full_size(name, first)(s)
                    and s.status().get("stableRevision") == first
                    and not s.status().get("canaryRevision")
                ),
            )
            history = json.loads(run_agentctl(bench, ns, "history", name, "-o", "json"))
            number = str(next(row["number"] for row in history if row["revision"] == first))
            command_at = time.time()
            run_agentctl(bench, ns, "rollback", name, "--to-revision", number)
            returned_at = time.time()
            serving_at = state.wait("first-serving", 60)
    return {"command_to_serving_100": serving_at - command_at, "agentctl_process": returned_at - command_at}


def step_latency(bench: Bench, run: int) -> dict[str, Any]:
    name = "steps"
    weights = [25, 50, 75]
    with throwaway_namespace(bench, f"bench-steps-{run}") as ns:
        agents = Agents(bench.custom, ns)
        manifest = canary_manifest(name, ns, [{"setWeight": w} for w in weights], replicas=REPLICAS)
        start_agent(agents, manifest)
        with Watching(bench, ns) as state:
            for index in range(1, len(weights)):
                state.expect(f"step-{index}", at_step(index))
            changed_at = time.time()
            agents.patch(name, {"spec": {"container": {"image": image("f")}}})
            state.expect("canary-started", lambda s: bool(s.status().get("canaryRevision")))
            started_at = state.wait("canary-started", 60)
            times = [started_at] + [state.wait(f"step-{i}", 60) for i in range(1, len(weights))]
            state.expect(
                "promoted",
                lambda s: (
                    not s.status().get("canaryRevision")
                    and s.status().get("phase") == "Available"
                    and s.status().get("observedGeneration") == s.agent["metadata"]["generation"]
                ),
            )
            times.append(state.wait("promoted", 60))
    return {
        "spec_change_to_canary_started": started_at - changed_at,
        "steps": [b - a for a, b in itertools.pairwise(times)],
        "spec_change_to_promoted": times[-1] - changed_at,
    }


def run_agentctl(bench: Bench, namespace: str, *args: str) -> str:
    result = subprocess.run(
        [AGENTCTL, *args, "-n", namespace, "--kubeconfig", str(bench.cluster.kubeconfig)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"agentctl {' '.join(args)}: exit {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def collect(runs: list[dict[str, Any]], key: str) -> list[float]:
    values: list[float] = []
    for r in runs:
        v = r[key]
        values.extend(v if isinstance(v, list) else [v])
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (default 3)")
    args = parser.parse_args()

    scenarios = {
        "evaluation_failure": evaluation_failure,
        "progress_deadline": progress_deadline,
        "manual_rollback": manual_rollback,
        "step_latency": step_latency,
    }
    results: dict[str, Any] = {"benchmark": "rollout", "runs": args.runs}
    with running_bench("rollout-bench.log") as bench:
        results["machine"] = machine_facts(bench.cluster)
        results["contention_start"] = contention(bench)
        for title, scenario in scenarios.items():
            before = bench.operator.metrics()
            samples = []
            for run in range(args.runs):
                sample = scenario(bench, run)
                print(f"{title} run {run}: {sample}", flush=True)
                samples.append(sample)
            after = bench.operator.metrics()
            keys = list(samples[0])
            results[title] = {
                "samples": samples,
                "summary": {k: summary(collect(samples, k)) for k in keys},
                "reconcile_duration": reconcile_histogram(after, before),
            }
        results["contention_end"] = contention(bench)
    results["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = write_results("rollout", results)

    def fmt(title: str, key: str) -> str:
        s = results[title]["summary"][key]
        return f"{s['median']:.2f}s / {s['max']:.2f}s (n={s['n']})"

    rows = [
        ("eval Job Failed -> stable 100% (median/max)", fmt("evaluation_failure", "signal_to_stable_100")),
        ("progress deadline -> stable 100%", fmt("progress_deadline", "deadline_to_stable_100")),
        ("agentctl rollback -> target serving 100%", fmt("manual_rollback", "command_to_serving_100")),
        ("  of which the agentctl process", fmt("manual_rollback", "agentctl_process")),
        ("canary step (setWeight, 4 replicas)", fmt("step_latency", "steps")),
        ("spec change -> promoted (3 steps)", fmt("step_latency", "spec_change_to_promoted")),
    ]
    for title in scenarios:
        hist = results[title]["reconcile_duration"]
        rows.append(
            (
                f"reconcile duration during {title}",
                f"{hist['reconciles']} reconciles, mean {hist['mean_seconds']}s, "
                f"p95 <= {hist['p95_at_most_seconds']}s",
            )
        )
    print_table(rows)
    print(f"load average at end {results['contention_end']['load_average_1_5_15']}")
    print(f"results: {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
