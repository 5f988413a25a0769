"""The widening function: every kind, both directions, and what does not count."""

from __future__ import annotations

from typing import Any

import pytest

from agent_operator.api.agent import AgentDeploymentSpec
from agent_operator.api.policy import WIDENING_KINDS
from agent_operator.widening import Widening, required, widenings

BASE: dict[str, Any] = {
    "container": {"image": "registry.example.com/bot@sha256:" + "a" * 64},
    "model": {"provider": "openai", "name": "gpt-4o"},
    "runtime": {
        "securityLevel": "high",
        "timeoutSeconds": 60,
        "maxIterations": 20,
        "budget": {"dailyUSD": 50, "monthlyUSD": 1000},
        "rateLimit": {"requestsPerMinute": 60, "tokensPerMinute": 100000, "maxConcurrency": 4},
        "humanOverride": {"approvalRequiredFor": ["refund", "delete_account"]},
    },
    "network": {
        "egress": {"allowedDomains": ["api.openai.com", "*.example.com"], "allowedCIDRs": ["10.1.0.0/16"]}
    },
}


def spec(**changes: Any) -> AgentDeploymentSpec:
    """BASE with dotted-path changes; a value of None removes the field."""
    body: dict[str, Any] = _copy(BASE)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = body
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return AgentDeploymentSpec.model_validate(body)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


WIDENING_CASES: list[tuple[str, dict[str, Any], list[Widening]]] = [
    (
        "new egress domain",
        {"network__egress__allowedDomains": ["api.openai.com", "*.example.com", "evil.io"]},
        [
            Widening(
                "egress", "spec.network.egress.allowedDomains", "[api.openai.com, *.example.com]", "+evil.io"
            )
        ],
    ),
    (
        "wildcard wider than a listed name",
        {"network__egress__allowedDomains": ["*.openai.com", "*.example.com"]},
        [
            Widening(
                "egress",
                "spec.network.egress.allowedDomains",
                "[api.openai.com, *.example.com]",
                "+*.openai.com",
            )
        ],
    ),
    (
        "a name two labels under a wildcard (a wildcard is not assumed to span dots)",
        {"network__egress__allowedDomains": ["api.openai.com", "*.example.com", "a.b.example.com"]},
        [
            Widening(
                "egress",
                "spec.network.egress.allowedDomains",
                "[api.openai.com, *.example.com]",
                "+a.b.example.com",
            )
        ],
    ),
    (
        "new CIDR outside the old ones",
        {"network__egress__allowedCIDRs": ["10.1.0.0/16", "192.168.0.0/24"]},
        [Widening("egress", "spec.network.egress.allowedCIDRs", "[10.1.0.0/16]", "+192.168.0.0/24")],
    ),
    (
        "a CIDR that contains the old one",
        {"network__egress__allowedCIDRs": ["10.0.0.0/8"]},
        [Widening("egress", "spec.network.egress.allowedCIDRs", "[10.1.0.0/16]", "+10.0.0.0/8")],
    ),
    (
        "a new egress port",
        {"network__egress__ports": [{"port": 443}, {"port": 80, "protocol": "TCP"}]},
        [Widening("egress", "spec.network.egress.ports", "[443/TCP]", "+80/TCP")],
    ),
    (
        "a tool no longer needs approval",
        {"runtime__humanOverride__approvalRequiredFor": ["refund"]},
        [
            Widening(
                "humanOverride",
                "spec.runtime.humanOverride.approvalRequiredFor",
                "[refund, delete_account]",
                "-delete_account",
            )
        ],
    ),
    (
        "humanOverride removed entirely",
        {"runtime__humanOverride": None},
        [
            Widening(
                "humanOverride",
                "spec.runtime.humanOverride.approvalRequiredFor",
                "[refund, delete_account]",
                t,
            )
            for t in ("-refund", "-delete_account")
        ],
    ),
    (
        "daily budget raised",
        {"runtime__budget__dailyUSD": 75.5},
        [Widening("budget", "spec.runtime.budget.dailyUSD", "50", "75.5")],
    ),
    (
        "budget removed (unbounded)",
        {"runtime__budget": None},
        [
            Widening("budget", "spec.runtime.budget.dailyUSD", "50", "unbounded"),
            Widening("budget", "spec.runtime.budget.monthlyUSD", "1000", "unbounded"),
        ],
    ),
    (
        "rate limit raised",
        {"runtime__rateLimit__requestsPerMinute": 120},
        [Widening("rateLimit", "spec.runtime.rateLimit.requestsPerMinute", "60", "120")],
    ),
    (
        "concurrency limit removed",
        {"runtime__rateLimit__maxConcurrency": None},
        [Widening("rateLimit", "spec.runtime.rateLimit.maxConcurrency", "4", "unbounded")],
    ),
    (
        "security level lowered",
        {"runtime__securityLevel": "low"},
        [Widening("securityLevel", "spec.runtime.securityLevel", "high", "low")],
    ),
    (
        "security level unset means medium, lower than high",
        {"runtime__securityLevel": None},
        [Widening("securityLevel", "spec.runtime.securityLevel", "high", "medium")],
    ),
    (
        "model changed",
        {"model__name": "gpt-5"},
        [Widening("model", "spec.model.name", "gpt-4o", "gpt-5")],
    ),
    (
        "provider changed",
        {"model": {"provider": "anthropic", "name": "gpt-4o"}},
        [Widening("model", "spec.model.provider", "openai", "anthropic")],
    ),
    (
        "model endpoint changed",
        {"model__endpoint": "https://llm.internal"},
        [Widening("model", "spec.model.endpoint", "unset", "https://llm.internal")],
    ),
    (
        "model section removed",
        {"model": None},
        [Widening("model", "spec.model", "openai/gpt-4o", "unset")],
    ),
    (
        "loop cap removed",
        {"runtime__maxIterations": None},
        [Widening("loopCap", "spec.runtime.maxIterations", "20", "removed")],
    ),
    (
        "timeout removed",
        {"runtime__timeoutSeconds": None},
        [Widening("timeout", "spec.runtime.timeoutSeconds", "60", "removed")],
    ),
]


@pytest.mark.parametrize(
    ("change", "new"), [(c[1], c[2]) for c in WIDENING_CASES], ids=[c[0] for c in WIDENING_CASES]
)
def test_each_widening_is_found_with_its_path(change: dict[str, Any], new: list[Widening]) -> None:
    assert widenings(spec(), spec(**change)) == new


def test_every_kind_has_a_case() -> None:
    assert {w.kind for case in WIDENING_CASES for w in case[2]} == set(WIDENING_KINDS)


NARROWING_CASES: list[tuple[str, dict[str, Any]]] = [
    ("identical", {}),
    ("an egress domain dropped", {"network__egress__allowedDomains": ["api.openai.com"]}),
    (
        "a name under an existing wildcard",
        {"network__egress__allowedDomains": ["api.openai.com", "*.example.com", "x.example.com"]},
    ),
    ("a CIDR inside the old one", {"network__egress__allowedCIDRs": ["10.1.2.0/24"]}),
    ("egress removed entirely (default deny)", {"network": None}),
    ("the default port written out", {"network__egress__ports": [{"port": 443}]}),
    (
        "a tool added to approval",
        {"runtime__humanOverride__approvalRequiredFor": ["refund", "delete_account", "x"]},
    ),
    ("budget lowered", {"runtime__budget__dailyUSD": 10}),
    ("rate limit lowered", {"runtime__rateLimit__tokensPerMinute": 10}),
    ("security level raised", {"runtime__securityLevel": "critical"}),
    ("loop cap lowered", {"runtime__maxIterations": 5}),
    ("loop cap raised (a cap still holds)", {"runtime__maxIterations": 50}),
    ("timeout lowered", {"runtime__timeoutSeconds": 30}),
    ("image changed", {"container": {"image": "registry.example.com/bot@sha256:" + "b" * 64}}),
    ("temperature changed", {"model__temperature": 0.2}),
    ("replicas changed", {"replicas": 5}),
]


@pytest.mark.parametrize("change", [c[1] for c in NARROWING_CASES], ids=[c[0] for c in NARROWING_CASES])
def test_narrowing_or_unrelated_changes_are_not_widenings(change: dict[str, Any]) -> None:
    assert widenings(spec(), spec(**change)) == []


def test_caps_added_where_there_were_none_are_not_widenings() -> None:
    bare = AgentDeploymentSpec.model_validate({"container": BASE["container"]})
    found = widenings(bare, spec())
    # From nothing: the egress allowances and a model are new reach; caps and approvals only narrow.
    assert {w.kind for w in found} == {"egress", "model"}


def test_several_widenings_come_in_kind_order() -> None:
    new = spec(
        runtime__timeoutSeconds=None,
        runtime__securityLevel="low",
        network__egress__allowedCIDRs=["0.0.0.0/0"],
    )
    assert [w.kind for w in widenings(spec(), new)] == ["egress", "securityLevel", "timeout"]


def test_required_keeps_only_the_kinds_the_policy_lists() -> None:
    found = widenings(spec(), spec(runtime__timeoutSeconds=None, model__name="gpt-5"))
    assert [w.kind for w in required(found, ["model"])] == ["model"]
    assert required(found, []) == []


def test_message_names_the_path_and_both_values() -> None:
    (widening,) = widenings(spec(), spec(runtime__budget__dailyUSD=500))
    assert widening.message == "spec.runtime.budget.dailyUSD: 50 -> 500"
