"""Revision identity is pinned: for a fixed set of specs, the revision hash, the names of the objects
a revision and the shared layer render to, and the runtime ConfigMap name.

A live agent's Deployment, Service, ConfigMap and ControllerRevision are named by these values. A
change to any of them renames live objects on upgrade and restarts every agent's pods, so it must
fail here, and it must come with a new "Upgrading" note in README.md. The expected values in
tests/data/golden-revisions.json were computed by the operator as released (main at 6790331).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_operator.api import AgentDeployment
from agent_operator.controller.history import history_name
from agent_operator.render import ClusterCapabilities, render_revision, render_shared, revision_hash
from agent_operator.render._runtime_config import runtime_config_name

ROOT = Path(__file__).resolve().parents[3]
GOLDEN: dict[str, dict[str, Any]] = json.loads(
    (ROOT / "tests" / "data" / "golden-revisions.json").read_text()
)
ALL_CAPABILITIES = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)


def _agents() -> dict[str, AgentDeployment]:
    files = sorted((ROOT / "tests/unit/render/fixtures").glob("*.yaml")) + sorted(
        (ROOT / "examples").glob("*.yaml")
    )
    out: dict[str, AgentDeployment] = {}
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "AgentDeployment":
                agent = AgentDeployment.model_validate(doc)
                out[f"{path.parent.name}/{path.name}#{agent.metadata.name}"] = agent
    return out


AGENTS = _agents()


def test_every_pinned_spec_still_exists() -> None:
    assert set(AGENTS) == set(GOLDEN)


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_revision_identity_and_object_names_are_unchanged(key: str) -> None:
    agent = AGENTS[key]
    revision = revision_hash(agent)
    actual = {
        "revision": revision,
        "runtimeConfigMap": runtime_config_name(agent),
        "controllerRevision": history_name(agent.metadata.name, revision),
        "revisionObjects": sorted(
            f"{o['kind']}/{o['metadata']['name']}" for o in render_revision(agent, revision, 2)
        ),
        "sharedObjects": sorted(
            f"{o['kind']}/{o['metadata']['name']}"
            for o in render_shared(agent, revision, "0123456789", ALL_CAPABILITIES)
        ),
    }
    assert actual == GOLDEN[key], "renames live objects on upgrade: see README.md, Upgrading"
