"""Helpers for rollout tests: canary manifests, agentctl as a subprocess, and a pod census that
samples the pods of every revision in the background so bounds can be checked at every
observed moment, not just at the end."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.integration.agents.conftest import Agents
from tests.support.cluster import ClusterInfo
from tests.support.operator import agent_manifest, condition
from tests.support.wait import wait_for

AGENTCTL = str(Path(sys.executable).with_name("agentctl"))
EVAL_IMAGE = "registry.example.com/support-bot-evals@sha256:" + "e" * 64


def image(letter: str) -> str:
    return "registry.example.com/support-bot@sha256:" + letter * 64


def canary_manifest(
    name: str,
    namespace: str,
    steps: list[dict[str, Any]],
    *,
    replicas: int = 4,
    evaluation: dict[str, Any] | None = None,
    **rollout: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "rollout": {
            "strategy": "Canary",
            "canary": {"steps": steps, "maxSurge": 1, "maxUnavailable": 0},
            "progressDeadlineSeconds": 60,
            "autoRollback": True,
            **rollout,
        },
    }
    if evaluation is not None:
        spec["evaluation"] = {"image": EVAL_IMAGE, "minScore": 0.9, "timeoutSeconds": 60, **evaluation}
    return agent_manifest(name, namespace, **spec)


def agentctl(cluster: ClusterInfo, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [AGENTCTL, *args, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, (
        f"agentctl {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}"
    )
    return result


def status_of(agents: Agents, name: str) -> dict[str, Any]:
    return dict(agents.get(name).get("status") or {})


def wait_status(
    agents: Agents, name: str, expected: str, predicate: Any, timeout: float = 90
) -> dict[str, Any]:
    """Wait until ``predicate(status)`` holds on the agent's status (at its current generation)."""

    def probe() -> tuple[bool, dict[str, Any]]:
        obj = agents.get(name)
        status = obj.get("status") or {}
        fresh = status.get("observedGeneration") == obj["metadata"]["generation"]
        return fresh and bool(predicate(status)), status

    result: dict[str, Any] = wait_for(probe, expected, timeout=timeout)
    return result


def wait_stable_ready(agents: Agents, name: str, timeout: float = 90) -> str:
    def probe() -> tuple[bool, dict[str, Any]]:
        obj = agents.get(name)
        status = obj.get("status") or {}
        ok = (
            condition(obj, "Ready").get("status") == "True"
            and status.get("observedGeneration") == obj["metadata"]["generation"]
            and not status.get("canaryRevision")
        )
        return ok, status

    status: dict[str, Any] = wait_for(probe, f"{name} Ready with no canary", timeout=timeout)
    return str(status["stableRevision"])


@dataclass
class PodCensus:
    """Counts the agent's live (not terminating) pods per revision, over and over, until stopped."""

    core: client.CoreV1Api
    namespace: str
    agent: str
    samples: list[dict[str, tuple[int, int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> PodCensus:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            pods = self.core.list_namespaced_pod(
                self.namespace, label_selector=f"agentoperator.dev/agent={self.agent},!agentoperator.dev/role"
            ).items
            sample: dict[str, tuple[int, int]] = {}
            for pod in pods:
                if pod.metadata.deletion_timestamp is not None:
                    continue
                rev = pod.metadata.labels.get("agentoperator.dev/revision", "?")
                ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
                total, available = sample.get(rev, (0, 0))
                sample[rev] = (total + 1, available + int(ready))
            self.samples.append(sample)
            self._stop.wait(0.1)

    def max_total(self) -> int:
        return max((sum(t for t, _ in s.values()) for s in self.samples), default=0)

    def min_available(self, after: int = 0) -> int:
        return min((sum(a for _, a in s.values()) for s in self.samples[after:]), default=0)

    def min_available_of(self, revision: str) -> int:
        return min((s.get(revision, (0, 0))[1] for s in self.samples), default=0)
