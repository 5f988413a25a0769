"""The chart's ServiceAccount identity in the test cluster, as a kubeconfig.

:func:`chart_identity` renders the chart's ServiceAccount, ClusterRole and ClusterRoleBinding
(``helm template``, default values, a unique release name), applies them, requests a token for the
ServiceAccount (TokenRequest API, via ``kubectl create token``) and writes a kubeconfig that uses
it. An operator started with that kubeconfig has exactly the chart's permissions, so a missing
permission fails the test that needed it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from .chart import render
from .cluster import ClusterInfo
from .kube import kubectl

RBAC_TEMPLATES = ("templates/serviceaccount.yaml", "templates/rbac.yaml")
TOKEN_DURATION = "6h"


@dataclass(frozen=True)
class ChartIdentity:
    """A ServiceAccount with the chart's RBAC, and a kubeconfig that authenticates as it."""

    namespace: str
    service_account: str
    username: str
    kubeconfig: Path


def identity_kubeconfig(cluster: ClusterInfo, token: str, user: str) -> dict[str, object]:
    """A kubeconfig for the test cluster's server (and CA) that authenticates with ``token``."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    contexts = {c["name"]: c["context"] for c in admin["contexts"]}
    current = contexts[admin["current-context"]]
    clusters = {c["name"]: c["cluster"] for c in admin["clusters"]}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": clusters[current["cluster"]]}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
        "current-context": user,
    }


@contextmanager
def chart_identity(cluster: ClusterInfo, workdir: Path, *, hint: str = "rbac") -> Iterator[ChartIdentity]:
    """Apply the chart's ServiceAccount + ClusterRole + ClusterRoleBinding under a unique name,
    yield a kubeconfig for that ServiceAccount, and delete them (and the namespace) afterwards."""
    suffix = secrets.token_hex(3)
    release, namespace = f"{hint}-{suffix}", f"{hint}-{suffix}-system"
    objects = render(release=release, namespace=namespace, show_only=RBAC_TEMPLATES)
    kinds = sorted(o["kind"] for o in objects)
    if kinds != ["ClusterRole", "ClusterRoleBinding", "ServiceAccount"]:
        raise AssertionError(f"the chart's default RBAC changed shape: {kinds}")
    (account,) = (o for o in objects if o["kind"] == "ServiceAccount")
    name = account["metadata"]["name"]
    cluster_scoped = [o for o in objects if o["kind"] != "ServiceAccount"]
    kubectl(cluster, "create", "namespace", namespace)
    try:
        manifest = yaml.safe_dump_all(objects)
        kubectl(
            cluster,
            "apply",
            "--server-side",
            "--field-manager=agent-operator-tests",
            "-f",
            "-",
            input_text=manifest,
        )
        token = kubectl(
            cluster, "create", "token", name, "--namespace", namespace, "--duration", TOKEN_DURATION
        ).stdout.strip()
        username = f"system:serviceaccount:{namespace}:{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"{release}.kubeconfig"
        path.write_text(yaml.safe_dump(identity_kubeconfig(cluster, token, username)))
        path.chmod(0o600)
        yield ChartIdentity(namespace=namespace, service_account=name, username=username, kubeconfig=path)
    finally:
        for obj in cluster_scoped:
            kubectl(
                cluster,
                "delete",
                obj["kind"].lower(),
                obj["metadata"]["name"],
                "--ignore-not-found",
                "--wait=false",
                check=False,
            )
        kubectl(cluster, "delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False)
