"""hack/lib.sh, without a cluster: the node-count setting of `make cluster-up` and the cluster
directory the outage support (tests/support/outage.py) looks for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cluster import HACK_DIR
from tests.support.outage import cluster_dir


def _lib(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in bash after sourcing hack/lib.sh, with only ``env`` (and PATH) set."""
    full_env = {"PATH": "/usr/bin:/bin", "HOME": env.get("HOME", "/nonexistent"), **env}
    return subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{HACK_DIR}/lib.sh"; {script}'],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        timeout=30,
    )


def test_outage_support_finds_the_cluster_directory_lib_sh_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_OPERATOR_CACHE", str(tmp_path))
    monkeypatch.delenv("AGENT_OPERATOR_CLUSTER", raising=False)
    result = _lib('echo "$CLUSTER_DIR"', {"AGENT_OPERATOR_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == cluster_dir()


@pytest.mark.parametrize(
    ("env", "recorded", "expected"),
    [
        ({}, None, "3"),
        ({}, "12", "12"),
        ({"KWOK_NODES": "20"}, "12", "20"),
        ({"KWOK_NODES": ""}, "7", "7"),
        ({"AGENT_OPERATOR_NODES": "5"}, None, "5"),
        ({"KWOK_NODES": "4", "AGENT_OPERATOR_NODES": "5"}, None, "4"),
        ({"KWOK_NODES": "250"}, None, "250"),
    ],
)
def test_node_count(tmp_path: Path, env: dict[str, str], recorded: str | None, expected: str) -> None:
    """KWOK_NODES wins; unset, a running cluster keeps the count it recorded; a new one gets 3."""
    base = {"AGENT_OPERATOR_CACHE": str(tmp_path), "AGENT_OPERATOR_CLUSTER": "ao-test"}
    if recorded is not None:
        directory = tmp_path / "kwok" / "clusters" / "ao-test"
        directory.mkdir(parents=True)
        (directory / "agent-operator.nodes").write_text(recorded + "\n")
    result = _lib('resolve_node_count; echo "$CLUSTER_NODES"', {**base, **env})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("value", ["0", "251", "x", "3.5", "-1"])
def test_node_count_refuses_what_is_not_a_node_count(tmp_path: Path, value: str) -> None:
    result = _lib("resolve_node_count", {"AGENT_OPERATOR_CACHE": str(tmp_path), "KWOK_NODES": value})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"[cluster] KWOK_NODES={value}: expected a whole number of nodes from 1 to 250 (each holds 110 pods)"
    )
