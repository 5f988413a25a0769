"""The Helm chart in charts/agent-operator, rendered with the real helm binary.

helm comes from ``make tools`` (.local/bin/helm), else $HELM, else PATH. Without it, tests that need
it skip locally and fail under CI=true, like the cluster fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .cluster import LOCAL_BIN, REPO_ROOT, missing

CHART_DIR = REPO_ROOT / "charts" / "agent-operator"
DEFAULT_RELEASE = "agent-operator"
DEFAULT_NAMESPACE = "agent-operator-system"


def find_helm() -> Path | None:
    """The helm binary to use, or None."""
    candidates = [str(LOCAL_BIN / "helm"), os.environ.get("HELM", ""), shutil.which("helm") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def require_helm() -> Path:
    """helm, or skip (locally) / fail (CI=true) the calling test."""
    helm = find_helm()
    if helm is None:
        reason = "helm not found: run `make tools` (builds .local/bin/helm) or set HELM"
        missing(reason)
    return helm


def helm(*args: str, check: bool = True, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run helm; on failure (with ``check``) raise AssertionError with its output."""
    cmd = [str(require_helm()), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed with exit {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def set_args(values: Mapping[str, str]) -> list[str]:
    """``--set k=v`` arguments (values in Helm's --set syntax, e.g. ``{a,b}`` for a list)."""
    return [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]


def template_text(
    values: Mapping[str, str] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    show_only: Sequence[str] = (),
    include_crds: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`helm template` of the chart."""
    args = ["template", release, str(CHART_DIR), "--namespace", namespace, *set_args(values or {})]
    for template in show_only:
        args += ["--show-only", template]
    if include_crds:
        args.append("--include-crds")
    return helm(*args, check=check)


def render(
    values: Mapping[str, str] | None = None,
    *,
    release: str = DEFAULT_RELEASE,
    namespace: str = DEFAULT_NAMESPACE,
    show_only: Sequence[str] = (),
    include_crds: bool = False,
) -> list[dict[str, Any]]:
    """The chart's objects, parsed."""
    text = template_text(
        values, release=release, namespace=namespace, show_only=show_only, include_crds=include_crds
    ).stdout
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
