"""Helpers of the policy tests: a production-ready agent to mutate, patch helpers, and a policy
under which every check is required so a test sees each check's raw verdict."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from agent_operator.api import AgentDeployment
from agent_operator.policy import CHECKS, CheckResult, EffectivePolicy, ReadinessReport, builtin_policy
from agent_operator.render import ClusterCapabilities

DIGEST = "sha256:" + "3f1c9a7e" * 8
ALL_CAPABILITIES = ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True)
NO_CAPABILITIES = ClusterCapabilities()

Patch = Callable[[dict[str, Any]], None]


class _Delete:
    """Marker: remove the key instead of setting it."""


DELETE = _Delete()


def ready_agent_dict() -> dict[str, Any]:
    """An agent that passes every built-in check under the production profile."""
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "support-bot", "namespace": "agents", "labels": {"team": "support"}},
        "spec": {
            "environment": "production",
            "replicas": 3,
            "container": {
                "image": f"registry.example.com/support-bot@{DIGEST}",
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
                "ports": [
                    {"name": "http", "containerPort": 8080},
                    {"name": "metrics", "containerPort": 9090},
                ],
                "resources": {
                    "requests": {"cpu": "250m", "memory": "512Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
                },
                "probes": {
                    "startup": {"httpGet": {"path": "/healthz", "port": "http"}, "failureThreshold": 30},
                    "liveness": {"httpGet": {"path": "/healthz", "port": "http"}},
                    "readiness": {"httpGet": {"path": "/ready", "port": "http"}},
                },
            },
            "secrets": [{"name": "openai-api-key", "mountPath": "/var/run/secrets/openai"}],
            "model": {
                "provider": "openai",
                "name": "gpt-4.1",
                "apiKeySecret": {"name": "openai-api-key", "key": "token"},
            },
            "runtime": {
                "securityLevel": "high",
                "timeoutSeconds": 120,
                "maxIterations": 25,
                "retry": {"limit": 3, "backoff": {"initialSeconds": 1, "maxSeconds": 30, "jitter": True}},
                "circuitBreaker": {"failureThreshold": 5, "recoverySeconds": 30, "successThreshold": 2},
                "rateLimit": {"requestsPerMinute": 600, "maxConcurrency": 20},
                "budget": {"dailyUSD": 50, "alertAtPercent": 80},
                "humanOverride": {"approvalRequiredFor": ["send_email"], "contact": "oncall-agents"},
            },
            "network": {
                "ingressFrom": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gw"}}}
                ],
                "egress": {"allowedDomains": ["api.openai.com"], "allowedCIDRs": ["10.20.0.0/16"]},
            },
            "observability": {
                "metrics": {"port": "metrics", "path": "/metrics"},
                "logs": {"format": "json", "redact": True},
                "tracing": {"otlpEndpoint": "http://otel-collector.observability:4317", "samplingRate": 0.1},
                "audit": {"enabled": True},
                "alerts": {"errorRatePercent": 5, "p95LatencyMs": 2000},
            },
            "evaluation": {"image": f"registry.example.com/support-bot-evals@{DIGEST}", "minScore": 0.9},
            "rollout": {
                "strategy": "Canary",
                "canary": {
                    "steps": [
                        {"setWeight": 10},
                        {"pause": {"durationSeconds": 300}},
                        {"evaluate": {}},
                        {"setWeight": 50},
                        {"pause": {}},
                    ]
                },
                "revisionHistoryLimit": 10,
                "autoRollback": True,
            },
        },
    }


def put(path: str, value: Any) -> Patch:
    """Set (or, with DELETE, remove) the dotted ``path``; list items by index (steps.2)."""

    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(last)] = value
        elif isinstance(value, _Delete):
            node.pop(last, None)
        else:
            node[last] = value

    return apply


def make_agent(*patches: Patch, base: dict[str, Any] | None = None) -> AgentDeployment:
    doc = copy.deepcopy(base or ready_agent_dict())
    for patch in patches:
        patch(doc)
    return AgentDeployment.model_validate(doc)


def all_required(**limits: Any) -> EffectivePolicy:
    """Production limits (plus overrides), every check required: raw verdicts, no level mapping."""
    base = builtin_policy("production")
    return EffectivePolicy(
        name="test/all-required",
        enforcement="Enforce",
        levels=MappingProxyType(dict.fromkeys(CHECKS, "required")),
        limits=base.limits.model_copy(update=limits),
    )


def result(report: ReadinessReport, check_id: str) -> CheckResult:
    (found,) = [c for c in report.checks if c.id == check_id]
    return found


def ids(results: Iterable[CheckResult]) -> list[str]:
    return [r.id for r in results]
