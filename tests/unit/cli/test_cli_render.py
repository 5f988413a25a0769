"""``agentctl render`` and ``agentctl crds`` through a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from agentctl_process import EXAMPLES, Agentctl

PRODUCTION = EXAMPLES / "production.yaml"


def test_render_yaml_prints_the_hardened_objects(agentctl: Agentctl) -> None:
    result = agentctl("render", PRODUCTION)
    assert result.code == 0, result.err
    objects = [o for o in yaml.safe_load_all(result.out) if o]
    kinds = {o["kind"] for o in objects}
    assert {"ServiceAccount", "Deployment", "Service", "NetworkPolicy", "ConfigMap"} <= kinds
    assert "PodDisruptionBudget" in kinds  # replicas: 4
    assert all(o["metadata"]["namespace"] == "agents" for o in objects)


def test_render_is_byte_identical_across_runs(agentctl: Agentctl) -> None:
    first = agentctl("render", PRODUCTION)
    second = agentctl("render", PRODUCTION)
    assert first.code == second.code == 0
    assert first.out == second.out


def test_render_json_is_a_list_of_the_same_objects(agentctl: Agentctl) -> None:
    as_yaml = [o for o in yaml.safe_load_all(agentctl("render", PRODUCTION).out) if o]
    result = agentctl("render", PRODUCTION, "-o", "json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["kind"] == "List"
    assert document["items"] == as_yaml


def test_render_reads_stdin(agentctl: Agentctl) -> None:
    from_file = agentctl("render", PRODUCTION)
    from_stdin = agentctl("render", "-", stdin=PRODUCTION.read_bytes())
    assert from_stdin.code == 0
    assert from_stdin.out == from_file.out


def test_render_with_capabilities_adds_the_optional_kinds(agentctl: Agentctl) -> None:
    result = agentctl("render", PRODUCTION, "--capabilities", "cilium,service-monitor,prometheus-rule")
    assert result.code == 0
    kinds = {o["kind"] for o in yaml.safe_load_all(result.out) if o}
    assert {"CiliumNetworkPolicy", "ServiceMonitor", "PrometheusRule"} <= kinds


def test_render_rejects_an_unknown_capability(agentctl: Agentctl) -> None:
    result = agentctl("render", PRODUCTION, "--capabilities", "istio")
    assert result.code == 2
    assert "unknown capability istio" in result.err


def test_render_of_an_invalid_agent_prints_nothing_and_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PRODUCTION.read_text().replace("replicas: 4", "replicas: -1"))
    result = agentctl("render", bad)
    assert result.code == 2
    assert result.out == ""
    assert f"{bad}: spec.replicas: must be between 0 and 2147483647" in result.err


def test_render_skips_other_kinds_with_a_note(agentctl: Agentctl, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n---\n" + PRODUCTION.read_text()
    )
    result = agentctl("render", mixed)
    assert result.code == 0
    assert "skipped ConfigMap" in result.err
    assert result.out == agentctl("render", PRODUCTION).out


def test_render_without_an_agent_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    other = tmp_path / "cm.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n")
    result = agentctl("render", other)
    assert result.code == 2
    assert "no AgentDeployment found" in result.err


def test_render_of_a_missing_file_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    result = agentctl("render", tmp_path / "nope.yaml")
    assert result.code == 2
    assert "no such file or directory" in result.err


def test_crds_prints_both_definitions(agentctl: Agentctl) -> None:
    result = agentctl("crds")
    assert result.code == 0
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(result.out) if d]
    assert sorted(names) == ["agentdeployments.agentoperator.dev", "readinesspolicies.agentoperator.dev"]


def test_crds_output_dir_writes_the_printed_definitions(agentctl: Agentctl, tmp_path: Path) -> None:
    printed = {d["metadata"]["name"]: d for d in yaml.safe_load_all(agentctl("crds").out) if d}
    result = agentctl("crds", "--output-dir", tmp_path / "out")
    assert result.code == 0
    written = sorted((tmp_path / "out").glob("*.yaml"))
    assert [p.name for p in written] == [f"{name}.yaml" for name in sorted(printed)]
    for path in written:
        assert yaml.safe_load(path.read_text()) == printed[path.stem]


def test_crds_output_dir_that_is_a_file_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = agentctl("crds", "--output-dir", blocker)
    assert result.code == 2
    assert "cannot write" in result.err
