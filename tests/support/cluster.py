"""Find, start or reuse the Kubernetes cluster the integration tests run against.

Two modes:

* default: the clone's local control plane (``make cluster-up`` /
  ``hack/cluster-up.sh``), kubeconfig in ``.local/kubeconfig``. If the tools are
  already built, the session fixture (re)starts the cluster itself; that takes
  seconds and repairs a dead cluster.
* ``USE_EXISTING_CLUSTER=true``: whatever ``$KUBECONFIG`` (or ``~/.kube/config``)
  points at - kind, k3d, a real cluster. Nothing is started or stopped.

A missing cluster skips the integration tests locally, with the reason and the
command to fix it. Under ``CI=true`` it fails them instead: CI must never go green
by skipping its integration tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from kubernetes import client, config

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO_ROOT / ".local"
LOCAL_BIN = LOCAL_DIR / "bin"
LOCAL_KUBECONFIG = LOCAL_DIR / "kubeconfig"
HACK_DIR = REPO_ROOT / "hack"

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def env_flag(name: str) -> bool:
    """True if the environment variable is set to a truthy value."""
    return os.environ.get(name, "").strip().lower() in TRUE_VALUES


def in_ci() -> bool:
    return env_flag("CI")


def use_existing_cluster() -> bool:
    return env_flag("USE_EXISTING_CLUSTER")


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster the tests talk to."""

    kubeconfig: Path
    server: str
    version: str
    local: bool
    """True for the clone's own KWOK control plane, False for USE_EXISTING_CLUSTER."""

    @property
    def kubectl_path(self) -> str:
        """The kubectl to use: the one built with the cluster, else the one on PATH."""
        built = LOCAL_BIN / "kubectl"
        if built.exists():
            return str(built)
        return shutil.which("kubectl") or "kubectl"

    def new_api_client(self) -> client.ApiClient:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig)
        )
        return api


class ClusterUnavailable(Exception):
    """No usable cluster; the message says why and how to get one."""


def missing(what: str) -> NoReturn:
    """A test prerequisite (a cluster, a tool) is absent: skip locally, fail under CI=true, where
    a green run must never come from skipped tests."""
    if in_ci():
        pytest.fail(f"CI=true and {what}", pytrace=False)
    pytest.skip(what)


def unavailable(reason: str) -> NoReturn:
    """No cluster: skip locally, fail under CI=true."""
    missing(f"no Kubernetes cluster is available: {reason}")


def _existing_kubeconfig() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


def _tools_cached() -> bool:
    script = HACK_DIR / "build-tools.sh"
    result = subprocess.run([str(script), "--check"], capture_output=True, text=True, check=False, timeout=60)
    return result.returncode == 0


def _run_cluster_up() -> None:
    result = subprocess.run(
        [str(HACK_DIR / "cluster-up.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr + result.stdout).splitlines()[-30:])
        raise ClusterUnavailable(f"hack/cluster-up.sh failed (exit {result.returncode}):\n{tail}")


def _probe(kubeconfig: Path) -> tuple[str, str]:
    """(server, gitVersion) of the cluster, or ClusterUnavailable."""
    if not kubeconfig.exists():
        raise ClusterUnavailable(f"kubeconfig {kubeconfig} does not exist")
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        with api:
            info = client.VersionApi(api).get_code(_request_timeout=10)
            server = str(api.configuration.host)
    except Exception as exc:
        raise ClusterUnavailable(
            f"cannot reach the cluster in {kubeconfig}: {type(exc).__name__}: {exc}"
        ) from exc
    return server, str(info.git_version)


def ensure_cluster() -> ClusterInfo:
    """Return a reachable cluster, starting the local one if its tools are built.

    Raises ClusterUnavailable with an actionable message otherwise.
    """
    if use_existing_cluster():
        kubeconfig = _existing_kubeconfig()
        server, version = _probe(kubeconfig)
        return ClusterInfo(kubeconfig=kubeconfig, server=server, version=version, local=False)

    if env_flag("AGENT_OPERATOR_NO_CLUSTER_UP"):
        pass  # only use a cluster somebody else started
    elif _tools_cached():
        # Idempotent and fast (about a second when the cluster is healthy); it also
        # restarts a dead cluster.
        _run_cluster_up()
    elif not LOCAL_KUBECONFIG.exists():
        raise ClusterUnavailable(
            "the local control plane is not built yet; run `make cluster-up` "
            "(first build takes a few minutes), or set USE_EXISTING_CLUSTER=true "
            "and KUBECONFIG to test against another cluster"
        )
    server, version = _probe(LOCAL_KUBECONFIG)
    return ClusterInfo(kubeconfig=LOCAL_KUBECONFIG, server=server, version=version, local=True)


def docker_engine_available() -> bool:
    """True if a Docker engine answers (a docker client alone is not enough)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())
