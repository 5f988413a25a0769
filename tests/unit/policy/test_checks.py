"""Every check, through render(): a passing and a failing agent for each, from a table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from policy_helpers import (
    ALL_CAPABILITIES,
    DELETE,
    NO_CAPABILITIES,
    Patch,
    all_required,
    make_agent,
    put,
    result,
)

from agent_operator.policy import CHECKS, evaluate
from agent_operator.render import ClusterCapabilities

SIDECAR = {"name": "shipper", "image": "registry.example.com/shipper:1.4.2"}
SIDECAR_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "100m", "memory": "128Mi"},
}
NO_HUMAN = (
    put("spec.runtime.humanOverride", DELETE),
    put("spec.rollout.canary.steps.4", {"pause": {"durationSeconds": 60}}),
)

_ANALYSIS = {
    "prometheus": {"address": "http://prometheus.monitoring:9090"},
    "metrics": [{"name": "errorRate", "max": 0.05}],
}


@dataclass(frozen=True)
class Case:
    check: str
    name: str
    patches: tuple[Patch, ...]
    status: str
    path: str = ""
    fragment: str = ""
    capabilities: ClusterCapabilities = ALL_CAPABILITIES
    limits: dict[str, object] = field(default_factory=dict)


def ok(check: str, name: str, *patches: Patch, **kw: object) -> Case:
    return Case(check, name, patches, "pass", **kw)  # type: ignore[arg-type]


def bad(check: str, name: str, *patches: Patch, path: str = "", fragment: str = "", **kw: object) -> Case:
    return Case(check, name, patches, "fail", path, fragment, **kw)  # type: ignore[arg-type]


def advise(check: str, name: str, *patches: Patch, path: str = "", fragment: str = "", **kw: object) -> Case:
    return Case(check, name, patches, "warn", path, fragment, **kw)  # type: ignore[arg-type]


def skip(check: str, name: str, *patches: Patch, fragment: str = "") -> Case:
    return Case(check, name, patches, "skip", "", fragment)


CASES: list[Case] = [
    # probes
    ok("probes.liveness", "set"),
    bad(
        "probes.liveness",
        "missing",
        put("spec.container.probes.liveness", DELETE),
        path="spec.container.probes.liveness",
    ),
    bad(
        "probes.liveness",
        "undeclared named port",
        put("spec.container.probes.liveness", {"httpGet": {"path": "/healthz", "port": "admin"}}),
        fragment="'admin'",
    ),
    advise(
        "probes.liveness",
        "identical to readiness",
        put("spec.container.probes.liveness", {"httpGet": {"path": "/ready", "port": "http"}}),
        fragment="identical",
    ),
    ok("probes.readiness", "set"),
    bad(
        "probes.readiness",
        "missing",
        put("spec.container.probes.readiness", DELETE),
        path="spec.container.probes.readiness",
    ),
    ok("probes.startup", "set"),
    bad("probes.startup", "missing", put("spec.container.probes.startup", DELETE)),
    # resources
    ok("resources.requests", "set"),
    ok(
        "resources.requests",
        "sidecar with requests",
        put("spec.podTemplate.containers", [{**SIDECAR, "resources": SIDECAR_RESOURCES}]),
    ),
    bad(
        "resources.requests",
        "missing",
        put("spec.container.resources.requests", DELETE),
        path="spec.container.resources.requests",
    ),
    bad(
        "resources.requests",
        "sidecar without",
        put("spec.podTemplate.containers", [SIDECAR]),
        path="spec.podTemplate.containers[0].resources.requests",
        fragment="'shipper'",
    ),
    ok("resources.limits", "set"),
    bad(
        "resources.limits",
        "no memory limit",
        put("spec.container.resources.limits.memory", DELETE),
        fragment="memory",
    ),
    ok("resources.ephemeralStorage", "set"),
    bad(
        "resources.ephemeralStorage",
        "missing",
        put("spec.container.resources.limits.ephemeral-storage", DELETE),
    ),
    # security, judged on the rendered pod
    ok("security.runAsNonRoot", "hardened defaults"),
    bad(
        "security.runAsNonRoot",
        "pod runs as root",
        put("spec.podTemplate.securityContext", {"runAsUser": 0}),
        path="spec.podTemplate.securityContext.runAsUser",
    ),
    bad(
        "security.runAsNonRoot",
        "sidecar opts out",
        put(
            "spec.podTemplate.containers",
            [{**SIDECAR, "resources": SIDECAR_RESOURCES, "securityContext": {"runAsNonRoot": False}}],
        ),
        path="spec.podTemplate.containers[0].securityContext.runAsNonRoot",
    ),
    ok("security.readOnlyRootFilesystem", "hardened defaults"),
    bad(
        "security.readOnlyRootFilesystem",
        "agent overlay writable",
        put("spec.podTemplate.containerSecurityContext", {"readOnlyRootFilesystem": False}),
        path="spec.podTemplate.containerSecurityContext.readOnlyRootFilesystem",
    ),
    ok("security.privilegeEscalation", "hardened defaults"),
    bad(
        "security.privilegeEscalation",
        "agent overlay escalates",
        put("spec.podTemplate.containerSecurityContext", {"allowPrivilegeEscalation": True}),
    ),
    ok("security.capabilities", "hardened defaults"),
    bad(
        "security.capabilities",
        "sidecar adds NET_ADMIN",
        put(
            "spec.podTemplate.containers",
            [{**SIDECAR, "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}}}],
        ),
        fragment="NET_ADMIN",
    ),
    ok(
        "security.capabilities",
        "NET_BIND_SERVICE is allowed",
        put(
            "spec.podTemplate.containerSecurityContext",
            {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
        ),
    ),
    ok("security.seccomp", "hardened defaults"),
    bad(
        "security.seccomp",
        "agent unconfined",
        put("spec.podTemplate.containerSecurityContext", {"seccompProfile": {"type": "Unconfined"}}),
        path="spec.podTemplate.containerSecurityContext.seccompProfile.type",
        fragment="Unconfined",
    ),
    ok("security.hostNamespaces", "none"),
    bad(
        "security.hostNamespaces",
        "hostNetwork",
        put("spec.podTemplate.hostNetwork", True),
        path="spec.podTemplate.hostNetwork",
    ),
    bad(
        "security.hostNamespaces",
        "hostPort on a sidecar",
        put("spec.podTemplate.containers", [{**SIDECAR, "ports": [{"containerPort": 80, "hostPort": 80}]}]),
        fragment="hostPort",
    ),
    ok("security.privileged", "none"),
    bad(
        "security.privileged",
        "privileged init container",
        put(
            "spec.podTemplate.initContainers",
            [{**SIDECAR, "name": "setup", "securityContext": {"privileged": True}}],
        ),
        path="spec.podTemplate.initContainers[0].securityContext.privileged",
    ),
    ok("security.hostPath", "none"),
    bad(
        "security.hostPath",
        "hostPath volume",
        put("spec.podTemplate.volumes", [{"name": "node", "hostPath": {"path": "/"}}]),
        fragment="node",
    ),
    ok(
        "security.volumeTypes",
        "restricted types",
        put("spec.podTemplate.volumes", [{"name": "c", "emptyDir": {}}]),
    ),
    bad(
        "security.volumeTypes",
        "nfs volume",
        put("spec.podTemplate.volumes", [{"name": "share", "nfs": {"server": "nfs.local", "path": "/x"}}]),
        fragment="nfs",
    ),
    ok("security.serviceAccountToken", "not mounted"),
    bad(
        "security.serviceAccountToken",
        "token mounted",
        put("spec.podTemplate.automountServiceAccountToken", True),
        path="spec.podTemplate.automountServiceAccountToken",
    ),
    ok("security.level", "high"),
    bad("security.level", "low", put("spec.runtime.securityLevel", "low"), path="spec.runtime.securityLevel"),
    bad("security.level", "below the policy minimum", limits={"min_security_level": "critical"}),
    bad(
        "security.level",
        "medium without egress allowances",
        put("spec.runtime.securityLevel", "medium"),
        put("spec.network.egress", DELETE),
        fragment="without outbound",
    ),
    ok("security.level", "medium with egress allowances", put("spec.runtime.securityLevel", "medium")),
    # network
    ok("network.defaultDeny", "rendered policy"),
    ok("egress.allowlist", "domains with Cilium"),
    ok(
        "egress.allowlist",
        "CIDRs only",
        put("spec.network.egress.allowedDomains", DELETE),
        capabilities=NO_CAPABILITIES,
    ),
    bad("egress.allowlist", "none", put("spec.network.egress", DELETE), path="spec.network.egress"),
    bad(
        "egress.allowlist",
        "whole internet",
        put("spec.network.egress.allowedCIDRs", ["0.0.0.0/0"]),
        path="spec.network.egress.allowedCIDRs",
        fragment="0.0.0.0/0",
    ),
    bad(
        "egress.allowlist",
        "split internet",
        put("spec.network.egress.allowedCIDRs", ["0.0.0.0/1", "128.0.0.0/1"]),
    ),
    advise(
        "egress.allowlist", "domains without Cilium", capabilities=NO_CAPABILITIES, fragment="needs Cilium"
    ),
    # secrets
    ok("secrets.noLiterals", "plain config values"),
    bad(
        "secrets.noLiterals",
        "OpenAI key in env",
        put(
            "spec.container.env", [{"name": "PROVIDER", "value": "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7" * 2}]
        ),
        path="spec.container.env[0].value",
        fragment="PROVIDER",
    ),
    bad(
        "secrets.noLiterals",
        "token in a sidecar",
        put(
            "spec.podTemplate.containers",
            [{**SIDECAR, "env": [{"name": "SLACK", "value": "xoxb-1234567890-abcdefghijkl"}]}],
        ),
        path="spec.podTemplate.containers[0].env[0].value",
        fragment="'shipper'",
    ),
    bad(
        "secrets.noLiterals",
        "key in evaluation env",
        put("spec.evaluation.env", [{"name": "GH", "value": "ghp_" + "a1B2c3D4e5" * 4}]),
        path="spec.evaluation.env[0].value",
    ),
    bad(
        "secrets.noLiterals",
        "key in args",
        put("spec.container.args", ["--api-key=Zx81Qp02Lm93Nb74Vc65Aq56Ws47"]),
        path="spec.container.args[0]",
    ),
    ok("secrets.modelCredentials", "from a Secret"),
    ok(
        "secrets.modelCredentials",
        "self-hosted provider",
        put("spec.model", {"provider": "vllm", "name": "llama-3.1-8b", "endpoint": "http://vllm:8000"}),
    ),
    bad(
        "secrets.modelCredentials",
        "no Secret",
        put("spec.model.apiKeySecret", DELETE),
        path="spec.model.apiKeySecret",
    ),
    bad(
        "secrets.modelCredentials",
        "optional Secret",
        put("spec.model.apiKeySecret.optional", True),
        path="spec.model.apiKeySecret.optional",
    ),
    skip("secrets.modelCredentials", "no model", put("spec.model", DELETE), fragment="spec.model"),
    ok("secrets.mountedAsFiles", "files"),
    bad(
        "secrets.mountedAsFiles",
        "secret env var",
        put(
            "spec.container.env",
            [{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "openai", "key": "token"}}}],
        ),
        path="spec.container.env[0]",
    ),
    bad(
        "secrets.mountedAsFiles",
        "envFrom a Secret",
        put("spec.container.envFrom", [{"secretRef": {"name": "all"}}]),
    ),
    # image
    ok("image.pinned", "digests"),
    ok(
        "image.pinned",
        "tag is enough without requireImageDigest",
        put("spec.container.image", "registry.example.com/support-bot:1.4.2"),
        limits={"require_image_digest": False},
    ),
    bad(
        "image.pinned",
        "tag under requireImageDigest",
        put("spec.container.image", "registry.example.com/bot:1.4.2"),
        path="spec.container.image",
        fragment="digest",
    ),
    bad(
        "image.pinned",
        "latest",
        put("spec.container.image", "registry.example.com/bot:latest"),
        limits={"require_image_digest": False},
        fragment="latest",
    ),
    bad(
        "image.pinned",
        "no tag",
        put("spec.container.image", "registry.example.com/bot"),
        limits={"require_image_digest": False},
        fragment="no tag",
    ),
    bad(
        "image.pinned",
        "evaluation image by tag",
        put("spec.evaluation.image", "registry.example.com/evals:v3"),
        path="spec.evaluation.image",
    ),
    bad(
        "image.pinned",
        "sidecar by tag",
        put("spec.podTemplate.containers", [SIDECAR]),
        path="spec.podTemplate.containers[0].image",
    ),
    bad(
        "image.pinned",
        "registry not allowed",
        limits={"allowed_registries": ["ghcr.io/acme"]},
        fragment="allowedRegistries",
    ),
    ok("image.pinned", "registry allowed", limits={"allowed_registries": ["registry.example.com"]}),
    # runtime
    ok("runtime.timeout", "120s"),
    bad(
        "runtime.timeout",
        "unset",
        put("spec.runtime.timeoutSeconds", DELETE),
        path="spec.runtime.timeoutSeconds",
    ),
    bad("runtime.timeout", "an hour", put("spec.runtime.timeoutSeconds", 3600), fragment="900"),
    ok("runtime.retry", "3 with jitter"),
    bad("runtime.retry", "unset", put("spec.runtime.retry", DELETE)),
    bad("runtime.retry", "zero", put("spec.runtime.retry.limit", 0), path="spec.runtime.retry.limit"),
    bad("runtime.retry", "above max", put("spec.runtime.retry.limit", 6), fragment="maximum of 5"),
    bad(
        "runtime.retry",
        "bare retries",
        put("spec.runtime.retry.backoff", DELETE),
        path="spec.runtime.retry.backoff",
    ),
    bad(
        "runtime.retry",
        "no jitter",
        put("spec.runtime.retry.backoff.jitter", False),
        path="spec.runtime.retry.backoff.jitter",
    ),
    ok("runtime.circuitBreaker", "set"),
    bad("runtime.circuitBreaker", "unset", put("spec.runtime.circuitBreaker", DELETE)),
    ok("runtime.rateLimit", "set"),
    ok(
        "runtime.rateLimit",
        "tokens per minute",
        put("spec.runtime.rateLimit", {"tokensPerMinute": 90000, "maxConcurrency": 4}),
    ),
    bad("runtime.rateLimit", "unset", put("spec.runtime.rateLimit", DELETE)),
    bad(
        "runtime.rateLimit",
        "no concurrency cap",
        put("spec.runtime.rateLimit.maxConcurrency", DELETE),
        path="spec.runtime.rateLimit.maxConcurrency",
    ),
    bad("runtime.rateLimit", "concurrency only", put("spec.runtime.rateLimit", {"maxConcurrency": 4})),
    ok("runtime.loopGuard", "set"),
    bad(
        "runtime.loopGuard",
        "unset",
        put("spec.runtime.maxIterations", DELETE),
        path="spec.runtime.maxIterations",
    ),
    ok("budget.cap", "50 USD"),
    bad("budget.cap", "unset", put("spec.runtime.budget", DELETE), path="spec.runtime.budget.dailyUSD"),
    bad("budget.cap", "monthly only", put("spec.runtime.budget", {"monthlyUSD": 1000})),
    bad("budget.cap", "above policy maximum", limits={"max_daily_budget_usd": 20}, fragment="maximum of 20"),
    ok("override.human", "contact and approvals"),
    ok("override.human", "approval pause only", put("spec.runtime.humanOverride", DELETE)),
    bad("override.human", "none", *NO_HUMAN, path="spec.runtime.humanOverride"),
    # availability
    ok("availability.replicas", "3"),
    bad("availability.replicas", "1 below production minimum", put("spec.replicas", 1), path="spec.replicas"),
    ok("availability.disruptionBudget", "rendered"),
    skip("availability.disruptionBudget", "one replica", put("spec.replicas", 1), fragment="2 replicas"),
    ok("availability.gracefulShutdown", "preStop and grace period"),
    bad(
        "availability.gracefulShutdown",
        "grace period 0",
        put("spec.podTemplate.terminationGracePeriodSeconds", 0),
        path="spec.podTemplate.terminationGracePeriodSeconds",
    ),
    # observability
    ok("observability.metrics", "declared port"),
    ok("observability.metrics", "by number", put("spec.observability.metrics.port", 9090)),
    bad("observability.metrics", "unset", put("spec.observability.metrics", DELETE)),
    bad(
        "observability.metrics",
        "undeclared port",
        put("spec.observability.metrics.port", "prom"),
        path="spec.observability.metrics.port",
    ),
    bad("observability.metrics", "undeclared number", put("spec.observability.metrics.port", 9100)),
    ok("observability.structuredLogs", "json"),
    bad("observability.structuredLogs", "text", put("spec.observability.logs.format", "text")),
    bad("observability.structuredLogs", "unset", put("spec.observability.logs", DELETE)),
    advise(
        "observability.structuredLogs",
        "debug",
        put("spec.observability.logs.level", "debug"),
        fragment="debug",
    ),
    ok("observability.logRedaction", "on"),
    bad("observability.logRedaction", "off", put("spec.observability.logs.redact", False)),
    ok("observability.tracing", "10%"),
    bad("observability.tracing", "unset", put("spec.observability.tracing", DELETE)),
    bad("observability.tracing", "zero sampling", put("spec.observability.tracing.samplingRate", 0)),
    ok("observability.audit", "on"),
    bad("observability.audit", "off", put("spec.observability.audit.enabled", False)),
    bad("observability.audit", "unset", put("spec.observability.audit", DELETE)),
    ok("alerts.configured", "error rate"),
    bad("alerts.configured", "unset", put("spec.observability.alerts", DELETE)),
    bad("alerts.configured", "latency only", put("spec.observability.alerts", {"p95LatencyMs": 2000})),
    advise(
        "alerts.configured", "no PrometheusRule CRD", capabilities=NO_CAPABILITIES, fragment="PrometheusRule"
    ),
    # rollout and evaluation
    ok("rollout.canary", "10% then 50%"),
    bad(
        "rollout.canary",
        "rolling update",
        put("spec.rollout", {"strategy": "RollingUpdate"}),
        put("spec.runtime.humanOverride.contact", "oncall"),
        path="spec.rollout.strategy",
    ),
    bad(
        "rollout.canary",
        "no partial weight",
        put("spec.rollout.canary.steps", [{"evaluate": {}}, {"setWeight": 100}]),
        path="spec.rollout.canary.steps",
    ),
    skip("rollout.canary", "no replicas", put("spec.replicas", 0)),
    ok("rollout.rollbackPlan", "auto rollback, 10 kept"),
    ok("rollout.rollbackPlan", "defaults", put("spec.rollout", DELETE)),
    bad("rollout.rollbackPlan", "no auto rollback", put("spec.rollout.autoRollback", False)),
    bad(
        "rollout.rollbackPlan",
        "history 1",
        put("spec.rollout.revisionHistoryLimit", 1),
        path="spec.rollout.revisionHistoryLimit",
    ),
    ok("evaluation.suite", "canary evaluates"),
    bad(
        "evaluation.suite",
        "unset",
        put("spec.evaluation", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"setWeight": 50}]),
        path="spec.evaluation",
    ),
    bad("evaluation.suite", "minScore 0", put("spec.evaluation.minScore", 0)),
    bad(
        "evaluation.suite",
        "never run",
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"setWeight": 50}]),
        path="spec.rollout.canary.steps",
    ),
    ok("rollout.liveGate", "canary evaluates"),
    ok(
        "rollout.liveGate",
        "analyze step",
        put("spec.evaluation", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"analyze": {}}, {"setWeight": 50}]),
        put("spec.analysis", _ANALYSIS),
    ),
    ok(
        "rollout.liveGate",
        "background analysis",
        put("spec.evaluation", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"setWeight": 50}]),
        put("spec.analysis", {**_ANALYSIS, "background": {}}),
    ),
    bad(
        "rollout.liveGate",
        "analysis that nothing runs",
        put("spec.evaluation", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"setWeight": 50}]),
        put("spec.analysis", _ANALYSIS),
        path="spec.rollout.canary.steps",
        fragment="no live gate",
    ),
    bad(
        "rollout.liveGate",
        "analysis of metrics nothing scrapes",
        put("spec.evaluation", DELETE),
        put("spec.observability.metrics", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"analyze": {}}]),
        put("spec.analysis", _ANALYSIS),
        path="spec.observability.metrics",
        fragment="does not expose",
    ),
    bad(
        "rollout.liveGate",
        "no gate",
        put("spec.evaluation", DELETE),
        put("spec.rollout.canary.steps", [{"setWeight": 10}, {"setWeight": 50}]),
        path="spec.rollout.canary.steps",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.check}:{c.status}:{c.name}")
def test_check_verdict(case: Case) -> None:
    agent = make_agent(*case.patches)
    report = evaluate(agent, all_required(**case.limits), case.capabilities)
    found = result(report, case.check)
    assert found.status == case.status, found.message
    if case.path:
        assert found.path == case.path
    if case.fragment:
        assert case.fragment in found.message
    assert found.title == CHECKS[case.check].title
    assert found.remediation == CHECKS[case.check].remediation


def test_every_check_has_a_passing_and_a_failing_case() -> None:
    covered = {(c.check, c.status) for c in CASES}
    # Their failures need objects the renderer never makes: see test_pod_objects.py.
    hand_built = {"network.defaultDeny", "availability.disruptionBudget"}
    for check_id in CHECKS:
        assert (check_id, "pass") in covered, check_id
        if check_id not in hand_built:
            assert (check_id, "fail") in covered, check_id


def test_the_ready_agent_passes_every_check() -> None:
    report = evaluate(make_agent(), all_required(), ALL_CAPABILITIES)
    assert [(c.id, c.message) for c in report.checks if c.status != "pass"] == []
    assert report.ready
    assert report.score == 100
