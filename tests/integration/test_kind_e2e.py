"""End-to-end suite on a kind cluster with real containers (marker ``kind``).

Design card
-----------
* Who: users and maintainers who have a Docker engine. CI machines without Docker
  (and this project's build machines) skip it with a clear reason; the KWOK
  control plane (tests/integration, ``make cluster-up``) is the default "real
  database" there.
* What it adds over KWOK: kubelet, container runtime, real images, real probes.
  A pod is Ready because a process answers, not because a KWOK stage says so.
* How: pytest-kind's ``KindCluster`` creates (or reuses) the cluster
  ``agent-operator-e2e``; it uses ``kind`` from PATH when present (pytest-kind
  otherwise downloads it) and the kubectl built by ``make tools`` when present.
  ``KIND_KEEP_CLUSTER=true`` keeps the cluster after the run for debugging.
* Scope today: the CRDs install and validate; a hardened, restricted-PSA workload
  with a real image becomes Ready. The operator issue extends this with the
  operator image loaded via ``kind load docker-image`` and an AgentDeployment
  rolled out end to end.

Run: ``pytest -m kind tests/integration/test_kind_e2e.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import LOCAL_BIN, REPO_ROOT, docker_engine_available, env_flag

DOCKER_ENGINE = docker_engine_available()

pytestmark = [
    pytest.mark.kind,
    pytest.mark.skipif(
        not DOCKER_ENGINE,
        reason=(
            "kind e2e needs a running Docker engine; `docker info` failed (a docker client "
            "alone is not enough). The KWOK integration tests cover the control plane."
        ),
    ),
]

PAUSE_IMAGE = os.environ.get("KIND_E2E_IMAGE", "registry.k8s.io/pause:3.10")


@pytest.fixture(scope="module")
def kind() -> Iterator[Any]:
    from pytest_kind import KindCluster  # imported lazily: only when Docker exists

    kind_bin = shutil.which("kind")
    kubectl_bin = LOCAL_BIN / "kubectl"
    cluster = KindCluster(
        "agent-operator-e2e",
        kind_path=Path(kind_bin) if kind_bin else None,
        kubectl_path=kubectl_bin if kubectl_bin.exists() else None,
    )
    cluster.create()
    try:
        yield cluster
    finally:
        if not env_flag("KIND_KEEP_CLUSTER"):
            cluster.delete()


def test_crds_install(kind: Any) -> None:
    for crd in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        kind.kubectl("apply", "--server-side", "-f", str(crd))
        kind.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crd))


def test_restricted_workload_with_real_container_becomes_ready(kind: Any) -> None:
    ns = "e2e-restricted"
    manifest = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pause
  namespace: {ns}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: pause}}
  template:
    metadata:
      labels: {{app: pause}}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65535
        seccompProfile: {{type: RuntimeDefault}}
      containers:
      - name: pause
        image: {PAUSE_IMAGE}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
"""
    path = REPO_ROOT / ".local" / "kind-e2e-restricted.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest)
    kind.kubectl("apply", "-f", str(path))
    kind.kubectl("-n", ns, "rollout", "status", "deployment/pause", "--timeout=180s")
