"""The real operator as a child process of the test session, and what tests read from it.

The operator runs exactly as in production (`python -m agent_operator`), against the test
cluster, with its logs in a file that failing tests quote. Tests can kill it (SIGKILL, no
clean shutdown) and start it again to prove restart safety.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from agent_operator.kube import KubeApi

from .cluster import LOCAL_DIR, REPO_ROOT, ClusterInfo
from .wait import wait_for

CRD_DIR = REPO_ROOT / "crds"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install_crds(api_client: client.ApiClient) -> None:
    """Server-side apply the committed CRDs and wait until the apiserver serves them."""
    kube = KubeApi(api_client, field_manager="agent-operator-tests")
    ext = client.ApiextensionsV1Api(api_client)
    names = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kube.apply(crd)
        names.append(crd["metadata"]["name"])

    def established() -> tuple[bool, dict[str, bool]]:
        state = {}
        for name in names:
            crd = ext.read_custom_resource_definition(name)
            conds = {c.type: c.status for c in crd.status.conditions or []}
            state[name] = conds.get("Established") == "True"
        return all(state.values()), state

    wait_for(established, "agent operator CRDs Established", timeout=60)


class OperatorProcess:
    """One `python -m agent_operator` process against the test cluster."""

    def __init__(
        self,
        cluster: ClusterInfo,
        log_path: Path,
        kubeconfig: Path | None = None,
        *,
        scope: Sequence[str] = ("--all-namespaces",),
        extra_args: Sequence[str] = (),
    ) -> None:
        """``kubeconfig``: the identity the operator runs as (e.g. the chart's ServiceAccount, see
        tests.support.rbac); None means the cluster's admin kubeconfig. ``scope``: what it watches
        (``-n NS`` to keep it out of other tests' agents); ``extra_args``: e.g. webhook flags."""
        self._cluster = cluster
        self._kubeconfig = kubeconfig or cluster.kubeconfig
        self._scope = tuple(scope)
        self._extra_args = tuple(extra_args)
        self.log_path = log_path
        self.metrics_port = free_port()
        self.health_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent_operator",
                *self._scope,
                "--kubeconfig",
                str(self._kubeconfig),
                "--metrics-port",
                str(self.metrics_port),
                "--health-port",
                str(self.health_port),
                "--log-format",
                "json",
                *self._extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
        )
        log.close()

        def healthy() -> tuple[bool, str]:
            self.assert_running()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.health_port}/healthz", timeout=2
                ) as resp:
                    return resp.status == 200, f"HTTP {resp.status}"
            except OSError as exc:
                return False, str(exc)

        wait_for(healthy, "operator liveness endpoint answering", timeout=60, ignore=())

    def assert_running(self) -> None:
        """Fail with the end of the log when the process has exited."""
        if self._proc is not None and self._proc.poll() is not None:
            raise AssertionError(f"operator exited with {self._proc.returncode}:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a node dies or the OOM killer strikes."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=30)
        self._proc = None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=30)
        self._proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no operator log)"

    def metrics(self) -> dict[str, float]:
        """Prometheus samples of the operator, keyed by the sample line's name and labels."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                samples[key] = float(value)
        return samples

    def metric_sum(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        total = 0.0
        for key, value in self.metrics().items():
            sample, _, rest = key.partition("{")
            if sample != name:
                continue
            if all(f'{k}="{v}"' in rest for k, v in labels.items()):
                total += value
        return total

    def writes(self) -> float:
        """Write requests (patch, create, delete) the operator has sent since it started."""
        return sum(
            self.metric_sum("agent_operator_api_requests_total", verb=v)
            for v in ("patch", "create", "delete")
        )


def agent_manifest(name: str, namespace: str, **spec_overrides: Any) -> dict[str, Any]:
    """A small, development-profile agent that KWOK can run."""
    spec: dict[str, Any] = {
        "environment": "development",
        "replicas": 2,
        "container": {
            "image": "registry.example.com/support-bot@sha256:" + "a" * 64,
            "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "probes": {
                "readiness": {"httpGet": {"path": "/ready", "port": "http"}},
                "liveness": {"httpGet": {"path": "/healthz", "port": "http"}},
            },
        },
        "runtime": {"timeoutSeconds": 60, "retry": {"limit": 3}},
        "rollout": {"strategy": "RollingUpdate"},
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def condition(obj: Mapping[str, Any], type_: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}


LOG_DIR = LOCAL_DIR / "test-logs"
