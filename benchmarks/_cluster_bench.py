"""What the cluster benchmarks share: one guarded operator process, throwaway namespaces, watch
timestamps, operator metrics deltas, and the summary statistics and results file.

The benchmarks are development scripts run from the repository root; they reuse the test
support code (tests.support) to find the local control plane and to run the real operator.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from kubernetes import client, watch  # noqa: E402

from tests.support.cluster import LOCAL_DIR, ClusterInfo, ensure_cluster  # noqa: E402
from tests.support.kube import create_namespace, delete_namespace, namespace_name  # noqa: E402
from tests.support.operator import OperatorProcess, install_crds  # noqa: E402

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
LOG_DIR = LOCAL_DIR / "bench-logs"


class OtherOperatorRunning(SystemExit):
    pass


def other_operators() -> list[str]:
    """`pgrep -af agent_operator`, without this script."""
    result = subprocess.run(["pgrep", "-af", "agent_operator"], capture_output=True, text=True, check=False)
    mine = {os.getpid(), os.getppid()}
    return [line for line in result.stdout.splitlines() if int(line.split(" ", 1)[0]) not in mine]


def _same_clone(line: str) -> bool:
    """An operator started from this clone (tests and `make demo` run it with the repository as
    working directory) talks to this clone's cluster; other clones have clusters of their own."""
    try:
        return Path(f"/proc/{line.split(' ', 1)[0]}/cwd").resolve() == REPO_ROOT
    except OSError:
        return False


def refuse_if_operator_running() -> list[str]:
    """Two operators against one cluster would split the work and spoil every figure: stop.
    Operators of other clones' clusters only compete for CPU: return them for the record."""
    running = other_operators()
    ours = [line for line in running if _same_clone(line)]
    if ours:
        raise OtherOperatorRunning(
            "an operator is already running against this cluster; stop it first:\n  " + "\n  ".join(ours)
        )
    return running


def contention(bench: Bench) -> dict[str, Any]:
    """What else was using the machine: other operators (the measured one excluded), load."""
    own = str(bench.operator_pid())
    others = [line for line in other_operators() if line.split(" ", 1)[0] != own]
    return {
        "load_average_1_5_15": load_average(),
        "operators_on_this_cluster": [line for line in others if _same_clone(line)],
        "operators_of_other_clusters": len([line for line in others if not _same_clone(line)]),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine_facts(cluster: ClusterInfo) -> dict[str, Any]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "kubernetes": cluster.version,
        "cluster": "local control plane (kube-apiserver, etcd, controller-manager, scheduler) with KWOK "
        "nodes; KWOK pods run no containers, so pod start is near zero",
    }


@dataclass
class Bench:
    """The cluster, an API client, and the single operator process the benchmark measures."""

    cluster: ClusterInfo
    api: client.ApiClient
    operator: OperatorProcess

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def operator_pid(self) -> int:
        proc = getattr(self.operator, "_proc", None)
        if proc is None:
            raise RuntimeError("operator is not running")
        return int(proc.pid)

    def operator_memory_mib(self) -> dict[str, float]:
        """VmRSS (now) and VmHWM (peak) of the operator process, in MiB."""
        out = {}
        for line in Path(f"/proc/{self.operator_pid()}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
        return out


@contextmanager
def running_bench(log_name: str, operator_args: tuple[str, ...] = ()) -> Iterator[Bench]:
    """The cluster and one started operator (``operator_args``: extra flags for it)."""
    elsewhere = refuse_if_operator_running()
    if elsewhere:
        print("note: operators of other clusters share this machine's CPUs:\n  " + "\n  ".join(elsewhere))
    cluster = ensure_cluster()
    api = cluster.new_api_client()
    install_crds(api)
    log_path = LOG_DIR / log_name
    log_path.unlink(missing_ok=True)
    operator = OperatorProcess(cluster, log_path, extra_args=operator_args)
    operator.start()
    bench = Bench(cluster, api, operator)
    print(f"operator pid {bench.operator_pid()}, log {log_path}", flush=True)
    try:
        yield bench
    finally:
        operator.stop()
        api.close()  # type: ignore[no-untyped-call]


@contextmanager
def throwaway_namespace(bench: Bench, hint: str) -> Iterator[str]:
    """A fresh namespace, deleted afterwards and waited for, so its garbage collection does not
    overlap the next measurement."""
    name = create_namespace(bench.core, namespace_name(hint))
    try:
        yield name
    finally:
        delete_namespace(bench.core, name)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                bench.core.read_namespace(name)
            except client.ApiException as exc:
                if exc.status == 404:
                    break
                raise
            time.sleep(0.5)


# -- operator metrics ---------------------------------------------------------------------------


def labelled(samples: Mapping[str, float], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric keyed by their sorted (label, value) pairs."""
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for key, value in samples.items():
        sample, _, rest = key.partition("{")
        if sample != name:
            continue
        pairs = []
        for part in rest.rstrip("}").split(","):
            if "=" in part:
                k, _, v = part.partition("=")
                pairs.append((k, v.strip('"')))
        out[tuple(sorted(pairs))] = value
    return out


def delta(after: Mapping[str, float], before: Mapping[str, float], name: str) -> dict[str, float]:
    """Per-label-set increase of a counter, keyed 'label=value,...'; zero increases left out."""
    now, then = labelled(after, name), labelled(before, name)
    out = {}
    for labels, value in now.items():
        diff = value - then.get(labels, 0.0)
        if diff:
            out[",".join(f"{k}={v}" for k, v in labels)] = diff
    return out


def requests_by(
    after: Mapping[str, float], before: Mapping[str, float], verbs: tuple[str, ...]
) -> dict[str, Any]:
    """API requests the operator sent between two scrapes, by verb and by verb/kind."""
    by_kind = delta(after, before, "agent_operator_api_requests_total")
    per_verb: dict[str, float] = {}
    per_kind: dict[str, float] = {}
    for key, value in by_kind.items():
        labels = dict(p.split("=", 1) for p in key.split(","))
        if labels.get("verb") not in verbs:
            continue
        per_verb[labels["verb"]] = per_verb.get(labels["verb"], 0) + value
        per_kind[f"{labels['verb']} {labels.get('kind', '?')}"] = value
    return {
        "total": sum(per_verb.values()),
        "by_verb": per_verb,
        "by_verb_kind": dict(sorted(per_kind.items())),
    }


WRITE_VERBS = ("patch", "create", "delete")


def reconcile_histogram(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, Any]:
    """Reconcile duration between two scrapes: count, mean, and bucket-bound p50/p95/max."""
    name = "agent_operator_reconcile_duration_seconds"
    count = after.get(f"{name}_count", 0.0) - before.get(f"{name}_count", 0.0)
    total = after.get(f"{name}_sum", 0.0) - before.get(f"{name}_sum", 0.0)
    buckets: list[tuple[float, float]] = []
    for key, value in after.items():
        if key.startswith(f"{name}_bucket{{"):
            le = key.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(le), value - before.get(key, 0.0)))
    buckets.sort()

    def upper_bound(q: float) -> float | None:
        for le, cumulative in buckets:
            if count and cumulative >= q * count:
                return le
        return None

    return {
        "reconciles": int(count),
        "mean_seconds": round(total / count, 4) if count else None,
        "p50_at_most_seconds": upper_bound(0.5),
        "p95_at_most_seconds": upper_bound(0.95),
        "max_at_most_seconds": upper_bound(1.0),
    }


def settle(operator: OperatorProcess, quiet_seconds: float = 10.0, timeout: float = 180.0) -> float:
    """Wait until the operator has sent no write for ``quiet_seconds``; return how long it took."""
    started = time.monotonic()
    last, last_change = operator.writes(), time.monotonic()
    while time.monotonic() - last_change < quiet_seconds:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"operator still writing after {timeout:.0f}s")
        time.sleep(1.0)
        now = operator.writes()
        if now != last:
            last, last_change = now, time.monotonic()
    return last_change - started


# -- watching -----------------------------------------------------------------------------------

_SERIALIZER = client.ApiClient()
"""Turns typed watch objects back into the API's camelCase dicts."""


@dataclass
class Watcher:
    """Streams one namespace's objects in a thread and calls ``on_event(type, obj, wall_time)``;
    client-side receive times are sub-second, where API timestamps are whole seconds."""

    list_fn: Callable[..., Any]
    args: tuple[Any, ...]
    on_event: Callable[[str, dict[str, Any], float], None]
    _watch: watch.Watch = field(default_factory=watch.Watch)
    _thread: threading.Thread | None = None
    _stopped: bool = False

    def __enter__(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self._watch.stop()  # type: ignore[no-untyped-call]

    def _run(self) -> None:
        while not self._stopped:
            try:
                for event in self._watch.stream(self.list_fn, *self.args, timeout_seconds=600):  # type: ignore[no-untyped-call]
                    obj = event["object"]
                    if not isinstance(obj, dict):
                        obj = _SERIALIZER.sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
                    self.on_event(event["type"], obj, time.time())
                    if self._stopped:
                        return
            except Exception as exc:  # a dropped watch is restarted; the benchmark keeps timing
                if not self._stopped:
                    print(f"watch restarted after {type(exc).__name__}: {exc}", file=sys.stderr)
                    time.sleep(0.2)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def condition_status(obj: Mapping[str, Any], type_: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return str(cond.get("status"))
    return None


def ready_now(obj: Mapping[str, Any]) -> bool:
    """Ready=True for the current generation."""
    status = obj.get("status") or {}
    return condition_status(obj, "Ready") == "True" and status.get("observedGeneration") == obj[
        "metadata"
    ].get("generation")


# -- figures ------------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float]:
    """median, p95 (nearest rank), max, in seconds rounded to milliseconds."""
    ordered = sorted(values)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def parse_api_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def write_results(prefix: str, results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{prefix}-{datetime.now(UTC).strftime('%Y-%m-%d')}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return path


def spread_text(summary: Mapping[str, Any]) -> str:
    """A min / median / max summary as one table cell."""
    return f"{summary['min']:.2f} / {summary['median']:.2f} / {summary['max']:.2f} s (n={summary['n']})"


def reconcile_row(reconcile: Mapping[str, Any]) -> tuple[str, str]:
    """The table row for :func:`reconcile_histogram`'s figures."""
    return (
        "reconcile duration, all runs",
        f"{reconcile['reconciles']} reconciles, mean {reconcile['mean_seconds']}s, "
        f"p95 <= {reconcile['p95_at_most_seconds']}s",
    )


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
