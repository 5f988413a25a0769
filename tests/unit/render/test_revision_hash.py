"""The revision changes exactly when what runs changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from render_helpers import agent_dict

from agent_operator.api import AgentDeployment
from agent_operator.render import render_revision, revision_hash

Mutation = Callable[[dict[str, Any]], None]


def _base() -> dict[str, Any]:
    return agent_dict("production")


def _mutated(mutate: Mutation) -> AgentDeployment:
    doc = _base()
    mutate(doc)
    return AgentDeployment.model_validate(doc)


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]
    return spec


CHANGES_WHAT_RUNS: dict[str, Mutation] = {
    "image": lambda d: _spec(d)["container"].update(image="registry.example.com/support-bot:2.0"),
    "args": lambda d: _spec(d)["container"].update(args=["--verbose"]),
    "env value": lambda d: _spec(d)["container"]["env"][0].update(value="30"),
    "ports": lambda d: _spec(d)["container"]["ports"].pop(),
    "resources": lambda d: _spec(d)["container"]["resources"]["limits"].update(memory="2Gi"),
    "probe": lambda d: _spec(d)["container"]["probes"]["readiness"].update(periodSeconds=7),
    "pod labels": lambda d: _spec(d)["podTemplate"]["labels"].update(tier="gold"),
    "pod security": lambda d: _spec(d)["podTemplate"].update(securityContext={"runAsUser": 1000}),
    "secret added": lambda d: _spec(d)["secrets"].append({"name": "extra"}),
    "secret path": lambda d: _spec(d)["secrets"][0].update(mountPath="/secrets/crm"),
    "model name": lambda d: _spec(d)["model"].update(name="gpt-4.1-mini"),
    "model key": lambda d: _spec(d)["model"]["apiKeySecret"].update(key="other"),
    "timeout": lambda d: _spec(d)["runtime"].update(timeoutSeconds=60),
    "retry": lambda d: _spec(d)["runtime"]["retry"].update(limit=2),
    "budget": lambda d: _spec(d)["runtime"]["budget"].update(dailyUSD=20),
    "rate limit": lambda d: _spec(d)["runtime"]["rateLimit"].update(maxConcurrency=5),
    "security level": lambda d: _spec(d)["runtime"].update(securityLevel="critical"),
    "log format": lambda d: _spec(d)["observability"]["logs"].update(format="text"),
    "tracing": lambda d: _spec(d)["observability"]["tracing"].update(samplingRate=0.5),
    "audit": lambda d: _spec(d)["observability"]["audit"].update(enabled=False),
    "environment": lambda d: _spec(d).update(environment="staging"),
}

KEEPS_WHAT_RUNS: dict[str, Mutation] = {
    "replicas": lambda d: _spec(d).update(replicas=9),
    "rollout": lambda d: _spec(d)["rollout"].update(progressDeadlineSeconds=60, autoRollback=False),
    "rollout steps": lambda d: _spec(d)["rollout"]["canary"]["steps"].pop(),
    "network ingress": lambda d: _spec(d)["network"].pop("ingressFrom"),
    "network egress": lambda d: _spec(d)["network"]["egress"].update(allowedCIDRs=["10.0.0.0/8"]),
    "alerts": lambda d: _spec(d)["observability"]["alerts"].update(errorRatePercent=1),
    "metrics": lambda d: _spec(d)["observability"]["metrics"].update(path="/stats"),
    "evaluation": lambda d: _spec(d)["evaluation"].update(minScore=0.5),
    "paused": lambda d: _spec(d).update(paused=True),
    "suspend": lambda d: _spec(d).update(suspend=True),
    "object labels": lambda d: d["metadata"].update(labels={"team": "x"}),
    "generation": lambda d: d["metadata"].update(generation=42),
    "status": lambda d: d.update(status={"phase": "Available"}),
}


def test_revision_is_ten_lowercase_hex_characters() -> None:
    assert re.fullmatch(r"[0-9a-f]{10}", revision_hash(AgentDeployment.model_validate(_base())))


@pytest.mark.parametrize("change", sorted(CHANGES_WHAT_RUNS))
def test_changing_what_runs_changes_the_revision(change: str) -> None:
    before = AgentDeployment.model_validate(_base())
    after = _mutated(CHANGES_WHAT_RUNS[change])
    assert revision_hash(after) != revision_hash(before)
    # ...and the revision's objects are new objects, not edits of the old ones.
    old_names = {
        o["metadata"]["name"]
        for o in render_revision(before, revision_hash(before), 1)
        if o["kind"] == "Deployment"
    }
    new_names = {
        o["metadata"]["name"]
        for o in render_revision(after, revision_hash(after), 1)
        if o["kind"] == "Deployment"
    }
    assert old_names.isdisjoint(new_names)


@pytest.mark.parametrize("change", sorted(KEEPS_WHAT_RUNS))
def test_changing_how_it_is_run_keeps_the_revision(change: str) -> None:
    before = AgentDeployment.model_validate(_base())
    after = _mutated(KEEPS_WHAT_RUNS[change])
    assert revision_hash(after) == revision_hash(before)
    # The revision's objects do not depend on these fields either: same revision, same objects.
    assert render_revision(after, revision_hash(after), 3) == render_revision(
        before, revision_hash(before), 3
    )


def test_runtime_config_name_follows_its_content() -> None:
    def config_map(agent: AgentDeployment) -> dict[str, Any]:
        return next(o for o in render_revision(agent, revision_hash(agent), 1) if o["kind"] == "ConfigMap")

    base = config_map(AgentDeployment.model_validate(_base()))
    image_only = config_map(_mutated(CHANGES_WHAT_RUNS["image"]))
    timeout = config_map(_mutated(CHANGES_WHAT_RUNS["timeout"]))
    # A new image alone keeps the config (and its name); a guardrail change gives a new ConfigMap.
    assert (image_only["metadata"]["name"], image_only["data"]) == (base["metadata"]["name"], base["data"])
    assert timeout["metadata"]["name"] != base["metadata"]["name"]
    assert timeout["data"] != base["data"]
