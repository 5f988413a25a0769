"""The shipped examples: they parse, they give the documented verdicts, and what they render is valid
Kubernetes for every supported version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from agent_operator.api import AgentDeployment, ReadinessPolicy
from agent_operator.loader import Document, load_agent, load_policy, parse_documents
from agent_operator.render import ClusterCapabilities, render

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
AGENT_EXAMPLES = ("minimal.yaml", "production.yaml", "canary.yaml", "noncompliant.yaml")
SUPPORTED_VERSIONS = tuple(f"1.{minor}" for minor in range(30, 38))
AGENTCTL = (sys.executable, "-m", "agent_operator.cli.main")
ALL_CAPABILITIES = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)

NO_UPSTREAM_SCHEMA = frozenset({"CiliumNetworkPolicy", "ServiceMonitor", "PrometheusRule"})
"""Kinds from third-party CRDs: kubernetes-validate ships schemas for core Kubernetes only."""

EXPECTED_EXIT = {
    "minimal.yaml": 0,
    "production.yaml": 0,
    "canary.yaml": 0,
    "noncompliant.yaml": 1,
}


def _documents(path: Path) -> list[Document]:
    return parse_documents(path.read_text(), str(path.relative_to(REPO)))


def _agent(name: str) -> AgentDeployment:
    (doc,) = _documents(EXAMPLES / name)
    return load_agent(doc.data, doc.location)


def test_every_agent_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(AGENT_EXAMPLES)


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_document_is_a_valid_object(path: Path) -> None:
    documents = _documents(path)
    assert documents
    for doc in documents:
        if doc.kind == "AgentDeployment":
            assert isinstance(load_agent(doc.data, doc.location), AgentDeployment)
        else:
            assert doc.kind == "ReadinessPolicy"
            assert isinstance(load_policy(doc.data, doc.location), ReadinessPolicy)


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED_EXIT.items()))
def test_validate_exit_code(name: str, code: int) -> None:
    proc = subprocess.run(
        [*AGENTCTL, "validate", f"examples/{name}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr


def test_minimal_is_not_production_ready() -> None:
    proc = subprocess.run(
        [*AGENTCTL, "validate", "--environment", "production", "examples/minimal.yaml"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1


def _validate_strict(obj: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        pytest.fail(
            f"{obj['kind']}/{obj['metadata']['name']} invalid for {version} at {where}: {exc.message}"
        )


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
@pytest.mark.parametrize("name", AGENT_EXAMPLES)
def test_rendered_objects_pass_strict_schema_validation(name: str, version: str) -> None:
    objects = render(_agent(name), ALL_CAPABILITIES)
    validated = set()
    for obj in objects:
        if obj["kind"] in NO_UPSTREAM_SCHEMA:
            continue
        _validate_strict(obj, version)
        validated.add(obj["kind"])
    assert {"ServiceAccount", "Deployment", "NetworkPolicy"} <= validated


def test_production_renders_every_optional_kind_with_capabilities() -> None:
    kinds = {o["kind"] for o in render(_agent("production.yaml"), ALL_CAPABILITIES)}
    assert kinds >= NO_UPSTREAM_SCHEMA | {"PodDisruptionBudget"}
