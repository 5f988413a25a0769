"""Checks over hand-built Kubernetes objects: the shapes the renderer never produces on its own
(missing or permissive NetworkPolicies, PDBs that block drains, pods without a preStop hook)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from policy_helpers import ALL_CAPABILITIES, all_required, make_agent, put, result

from agent_operator.policy import CHECKS, evaluate
from agent_operator.policy._context import CheckContext
from agent_operator.render import render

AGENT = make_agent()
POD_LABELS = {"agentoperator.dev/agent": "support-bot", "agentoperator.dev/revision": "abc"}


def _rendered() -> list[dict[str, Any]]:
    return copy.deepcopy(render(AGENT, ALL_CAPABILITIES))


def _run(check_id: str, objects: list[dict[str, Any]]) -> tuple[str, str]:
    ctx = CheckContext.build(AGENT, all_required().limits, ALL_CAPABILITIES, objects)
    outcome = CHECKS[check_id].run(ctx)
    return outcome.kind, outcome.message


def _pod(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "kind": "Deployment",
            "metadata": {"name": "support-bot-abc"},
            "spec": {"template": {"metadata": {"labels": POD_LABELS}, "spec": spec}},
        }
    ]


def _netpol(spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": "np"}, "spec": spec}


DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
DNS_ANYWHERE = {"ports": [{"port": 53, "protocol": "UDP"}]}


@pytest.mark.parametrize(
    ("policies", "kind", "fragment"),
    [
        ([DENY_ALL], "pass", ""),
        ([{**DENY_ALL, "egress": [DNS_ANYWHERE]}], "pass", ""),
        ([], "fail", "no NetworkPolicy"),
        (
            [{"podSelector": {"matchLabels": {"app": "other"}}, "policyTypes": ["Ingress", "Egress"]}],
            "fail",
            "no ",
        ),
        ([{"podSelector": {}, "policyTypes": ["Ingress"]}], "fail", "Egress"),
        ([DENY_ALL, {"podSelector": {}, "egress": [{}]}], "fail", "every destination on every port"),
        ([{**DENY_ALL, "egress": [{"ports": [{"port": 443}]}]}], "fail", "port 443"),
        ([{**DENY_ALL, "ingress": [{}]}], "fail", "ingress from everywhere"),
        (
            [
                {
                    "podSelector": {
                        "matchExpressions": [{"key": "agentoperator.dev/agent", "operator": "Exists"}]
                    },
                    "policyTypes": ["Ingress", "Egress"],
                }
            ],
            "pass",
            "",
        ),
    ],
)
def test_default_deny(policies: list[dict[str, Any]], kind: str, fragment: str) -> None:
    objects = _pod({"containers": [{"name": "agent"}]}) + [_netpol(p) for p in policies]
    got, message = _run("network.defaultDeny", objects)
    assert got == kind, message
    assert fragment in message


def test_default_deny_through_render_passes_and_breaks_when_the_policy_is_dropped() -> None:
    objects = _rendered()
    assert _run("network.defaultDeny", objects)[0] == "pass"
    assert _run("network.defaultDeny", [o for o in objects if o["kind"] != "NetworkPolicy"])[0] == "fail"


def test_disruption_budget_missing_or_blocking() -> None:
    objects = _rendered()
    assert _run("availability.disruptionBudget", objects)[0] == "pass"
    without = [o for o in objects if o["kind"] != "PodDisruptionBudget"]
    assert _run("availability.disruptionBudget", without) == (
        "fail",
        "no PodDisruptionBudget covers the agent's pods",
    )
    blocking = copy.deepcopy(objects)
    for o in blocking:
        if o["kind"] == "PodDisruptionBudget":
            o["spec"] = {"minAvailable": 3, "selector": o["spec"]["selector"]}
    kind, message = _run("availability.disruptionBudget", blocking)
    assert kind == "fail"
    assert "drain" in message


def test_graceful_shutdown_needs_a_pre_stop_hook() -> None:
    objects = _rendered()
    for o in objects:
        if o["kind"] == "Deployment":
            for c in o["spec"]["template"]["spec"]["containers"]:
                c.pop("lifecycle", None)
    kind, message = _run("availability.gracefulShutdown", objects)
    assert kind == "fail"
    assert "preStop" in message


@pytest.mark.parametrize(
    ("check_id", "pod", "kind"),
    [
        (
            "security.seccomp",
            {
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "agent"}],
            },
            "pass",
        ),
        (
            "security.seccomp",
            {
                "securityContext": {"seccompProfile": {"type": "Unconfined"}},
                "containers": [{"name": "agent"}],
            },
            "fail",
        ),
        ("security.seccomp", {"containers": [{"name": "agent"}]}, "fail"),
        (
            "security.seccomp",
            {
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {"name": "agent", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}
                ],
            },
            "fail",
        ),
        (
            "security.runAsNonRoot",
            {"securityContext": {"runAsNonRoot": True}, "containers": [{"name": "agent"}]},
            "pass",
        ),
        (
            "security.runAsNonRoot",
            {
                "securityContext": {"runAsNonRoot": True},
                "containers": [{"name": "agent", "securityContext": {"runAsNonRoot": False}}],
            },
            "fail",
        ),
        ("security.runAsNonRoot", {"containers": [{"name": "agent"}]}, "fail"),
        (
            "security.runAsNonRoot",
            {
                "securityContext": {"runAsNonRoot": True},
                "ephemeralContainers": [{"name": "debug", "securityContext": {"runAsUser": 0}}],
                "containers": [{"name": "agent"}],
            },
            "fail",
        ),
        (
            "security.privileged",
            {"containers": [{"name": "agent", "securityContext": {"procMount": "Unmasked"}}]},
            "fail",
        ),
        ("security.hostNamespaces", {"hostPID": True, "containers": [{"name": "agent"}]}, "fail"),
        (
            "security.hostNamespaces",
            {
                "hostIPC": False,
                "containers": [{"name": "agent", "ports": [{"containerPort": 8080, "hostPort": 0}]}],
            },
            "pass",
        ),
        ("security.serviceAccountToken", {"containers": [{"name": "agent"}]}, "fail"),
        (
            "security.capabilities",
            {"containers": [{"name": "agent", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]},
            "fail",
        ),
        (
            "resources.requests",
            {
                "initContainers": [{"name": "setup"}],
                "containers": [{"name": "agent", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
            },
            "fail",
        ),
    ],
)
def test_pod_shapes(check_id: str, pod: dict[str, Any], kind: str) -> None:
    got, message = _run(check_id, _pod(pod))
    assert got == kind, message


def test_service_account_token_off_on_the_service_account_counts() -> None:
    sa = {"kind": "ServiceAccount", "metadata": {"name": "bot"}, "automountServiceAccountToken": False}
    objects = [*_pod({"serviceAccountName": "bot", "containers": [{"name": "agent"}]}), sa]
    assert _run("security.serviceAccountToken", objects)[0] == "pass"


def test_a_renderer_failure_fails_the_pod_checks_without_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent_operator.policy._evaluate as evaluate_module

    def broken(*_: object) -> list[dict[str, Any]]:
        raise ValueError("sk-proj-should-never-be-shown-1234567890")

    monkeypatch.setattr(evaluate_module, "render", broken)
    report = evaluate(make_agent(put("spec.replicas", 3)), all_required(), ALL_CAPABILITIES)
    assert not report.ready
    assert result(report, "security.runAsNonRoot").status == "fail"
    assert "renderer failed (ValueError)" in result(report, "security.runAsNonRoot").message
    assert result(report, "runtime.timeout").status == "pass"  # spec-only checks still judge
    assert "should-never-be-shown" not in report.model_dump_json()
