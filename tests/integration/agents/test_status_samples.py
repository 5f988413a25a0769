"""Real AgentDeployment statuses for the Argo CD health check.

Drives agents into each state on the real control plane with the real operator, runs
docs/gitops/argocd-health.lua on the live objects, and keeps what the Lua reads as JSON samples
in tests/data/status-samples/, which tests/unit/test_gitops_lua.py replays without a cluster.

A sample that no longer matches what the operator writes fails here; after a deliberate status
change, regenerate them with

    UPDATE_SAMPLES=1 pytest tests/integration/agents/test_status_samples.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.agents.conftest import Agents
from tests.support.argocd_lua import SAMPLES_DIR, LuaHealth, sample_projection, sanitize
from tests.support.cluster import REPO_ROOT, env_flag
from tests.support.kube import FAULT_NEVER_READY, fault_labels
from tests.support.operator import agent_manifest, condition
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

HEALTH_LUA = REPO_ROOT / "docs" / "gitops" / "argocd-health.lua"


def _fresh(obj: dict[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("observedGeneration") == obj["metadata"].get("generation"))


def _phase(phase: str) -> Callable[[dict[str, Any]], bool]:
    return lambda obj: _fresh(obj) and (obj.get("status") or {}).get("phase") == phase


def _available(obj: dict[str, Any]) -> bool:
    return _fresh(obj) and condition(obj, "Ready").get("status") == "True"


def _progressing(obj: dict[str, Any]) -> bool:
    return _fresh(obj) and (obj.get("status") or {}).get("phase") in ("Pending", "Progressing")


NEVER_READY = {"podTemplate": {"labels": fault_labels(FAULT_NEVER_READY)}}
BAD_VOLUME = {"podTemplate": {"volumes": [{"name": "Not_A_DNS_Label", "emptyDir": {}}]}}
Case = tuple[str, dict[str, Any], dict[str, Any] | None, Callable[[dict[str, Any]], bool], str]

# name, spec overrides at creation, patch once Available (None: none), the state, expected health
CASES: list[Case] = [
    ("available", {}, None, _available, "Healthy"),
    ("progressing", NEVER_READY, None, _progressing, "Progressing"),
    ("blocked-secret", {"secrets": [{"name": "model-key"}]}, None, _phase("Blocked"), "Degraded"),
    ("failed", BAD_VOLUME, None, _phase("Failed"), "Degraded"),
    ("suspended", {}, {"spec": {"suspend": True}}, _phase("Suspended"), "Suspended"),
    ("paused", {}, {"spec": {"paused": True}}, _phase("Paused"), "Suspended"),
]


def _reaches(
    agents: Agents, name: str, state: Callable[[dict[str, Any]], bool]
) -> Callable[[], tuple[bool, dict[str, Any]]]:
    def probe() -> tuple[bool, dict[str, Any]]:
        obj = agents.get(name)
        return state(obj), obj

    return probe


def test_health_of_real_statuses(agents: Agents, namespace: str) -> None:
    lua = LuaHealth(HEALTH_LUA.read_text())
    for name, spec, _, _, _ in CASES:
        agents.create(agent_manifest(name, namespace, **spec))
    for name, _, change, _, _ in CASES:
        if change is not None:
            wait_for(_reaches(agents, name, _available), f"{name} Available", timeout=90)
            agents.patch(name, change)

    update = env_flag("UPDATE_SAMPLES")
    for name, _, _, reached, expected in CASES:
        live = wait_for(_reaches(agents, name, reached), f"{name} in its state", timeout=90)
        health = lua.health(live)
        assert health["status"] == expected, (name, health, live.get("status"))
        sample = {"health": health, "object": sanitize(live, namespace)}
        path = SAMPLES_DIR / f"{name}.json"
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(sample, indent=2, sort_keys=True) + "\n")
            continue
        assert path.exists(), (
            f"{path} is missing: run UPDATE_SAMPLES=1 pytest {Path(__file__).relative_to(REPO_ROOT)}"
        )
        stored = json.loads(path.read_text())
        assert stored["health"]["status"] == health["status"], name
        assert sample_projection(stored["object"]) == sample_projection(sample["object"]), (
            f"{name}: the operator's status no longer matches {path.name}; if that is intended, "
            "regenerate the samples with UPDATE_SAMPLES=1"
        )
