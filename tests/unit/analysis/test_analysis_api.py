"""spec.analysis and the analyze step: what the API accepts, and the one-line errors it gives."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent_operator.api import AgentDeployment, format_validation_error
from agent_operator.api.agent import Rollout
from agent_operator.rollout._steps import strategy_steps

PROM = {"address": "http://prometheus.monitoring:9090"}


def _agent(analysis: dict[str, Any] | None, *steps: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "container": {"image": "registry.example.com/bot@sha256:" + "a" * 64},
        "rollout": {"strategy": "Canary", "canary": {"steps": list(steps)}},
    }
    if analysis is not None:
        spec["analysis"] = analysis
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "shop"},
        "spec": spec,
    }


def _error(obj: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        AgentDeployment.model_validate(obj)
    return "\n".join(str(e) for e in format_validation_error(info.value, AgentDeployment))


def test_defaults() -> None:
    agent = AgentDeployment.model_validate(
        _agent({"prometheus": PROM, "metrics": [{"name": "errorRate", "max": 0.05}]}, {"analyze": {}})
    )
    analysis = agent.spec.analysis
    assert analysis is not None
    assert (analysis.on_inconclusive, analysis.on_failure, analysis.min_samples) == ("Pause", "Rollback", 20)
    assert analysis.prometheus.timeout_seconds == 10
    step = agent.spec.rollout.canary.steps[0].analyze  # type: ignore[union-attr]
    assert step is not None
    assert (step.window_seconds, step.interval_seconds, step.count, step.metrics) == (300, 60, 3, None)


@pytest.mark.parametrize(
    ("analysis", "steps", "message"),
    [
        (None, [{"analyze": {}}], "an analyze step needs spec.analysis"),
        (
            {"prometheus": PROM, "metrics": [{"name": "errorRate", "max": 0.05}]},
            [{"analyze": {"metrics": ["errorRate", "latencyP99"]}}],
            "an analyze step names metrics spec.analysis does not define: latencyP99",
        ),
        (
            {"prometheus": PROM, "metrics": [{"name": "costPerTask", "maxIncrease": 50}]},
            [],
            "costPerTask needs spec.analysis.cost (prices or metric)",
        ),
        (
            {
                "prometheus": PROM,
                "metrics": [{"name": "loops", "max": 3, "query": "sum(x{a='{{revison}}'})"}],
            },
            [],
            "metric loops: query: unknown placeholder {{revison}}",
        ),
        (
            {"prometheus": PROM, "metrics": [{"name": "loops", "max": 3, "query": "sum(x)"}]},
            [],
            "metric loops: query: the query does not select a revision",
        ),
        (
            {
                "prometheus": PROM,
                "metrics": [{"name": "errorRate", "max": 1}, {"name": "errorRate", "max": 2}],
            },
            [],
            "metric names must be unique",
        ),
        (
            {"prometheus": {"address": "prometheus:9090"}, "metrics": [{"name": "errorRate", "max": 1}]},
            [],
            "address",
        ),
        ({"prometheus": PROM, "metrics": []}, [], "metrics"),
        (
            {
                "prometheus": PROM,
                "metrics": [{"name": "costPerTask", "max": 1}],
                "cost": {
                    "prices": [{"model": "m", "inputPerMillionTokens": 1, "outputPerMillionTokens": 1}] * 2
                },
            },
            [],
            "each model is priced once",
        ),
        (
            {"prometheus": PROM, "metrics": [{"name": "errorRate", "maxIncrease": -5}]},
            [],
            "maxIncrease",
        ),
        (
            {"prometheus": PROM, "metrics": [{"name": "errorRate", "max": 1}], "onInconclusive": "Promote"},
            [],
            "onInconclusive",
        ),
    ],
)
def test_refused(analysis: dict[str, Any] | None, steps: list[dict[str, Any]], message: str) -> None:
    assert message in _error(_agent(analysis, *steps))


def test_a_step_sets_one_action_only() -> None:
    analysis = {"prometheus": PROM, "metrics": [{"name": "errorRate", "max": 0.05}]}
    assert "exactly one of setWeight, pause, evaluate, analyze" in _error(
        _agent(analysis, {"setWeight": 10, "analyze": {}})
    )


def test_an_analyze_step_is_a_step_of_its_own_with_its_schedule() -> None:
    rollout = Rollout.model_validate(
        {
            "strategy": "Canary",
            "canary": {"steps": [{"setWeight": 20}, {"analyze": {"count": 2, "metrics": ["errorRate"]}}]},
        }
    )
    steps = strategy_steps(rollout)
    assert [s.kind for s in steps] == ["weight", "analyze", "promote"]
    assert (steps[1].count, steps[1].interval_seconds, steps[1].window_seconds) == (2, 60, 300)
    assert steps[1].metrics == ("errorRate",)
