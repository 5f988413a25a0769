"""Property tests: every valid AgentDeployment renders schema-valid objects, and neither the loader nor
the policy engine raises on anything thrown at them."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity

from agent_operator.api import AgentDeployment
from agent_operator.loader import DocumentError, load_agent
from agent_operator.policy import evaluate
from agent_operator.render import ClusterCapabilities, render

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VERSIONS = [f"1.{minor}" for minor in range(30, 38)]
NO_UPSTREAM_SCHEMA = frozenset({"CiliumNetworkPolicy", "ServiceMonitor", "PrometheusRule"})

DIGEST = "@sha256:" + "ab12" * 16
PORT_NAMES = ("http", "metrics", "grpc", "admin")
names = st.from_regex(r"\A[a-z]([a-z0-9-]{0,14}[a-z0-9])?\Z")
label_values = st.from_regex(r"\A[a-z0-9]([a-z0-9.-]{0,10}[a-z0-9])?\Z")
words = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=24)
cpu = st.sampled_from(["100m", "250m", "500m", "1", "2", 1])
memory = st.sampled_from(["128Mi", "256Mi", "1Gi", "2Gi"])


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def probes(draw: st.DrawFn, ports: list[str]) -> dict[str, Any]:
    def probe() -> st.SearchStrategy[dict[str, Any]]:
        port: st.SearchStrategy[Any] = st.integers(1, 65535)
        if ports:
            port = port | st.sampled_from(ports)
        handler = st.one_of(
            st.builds(lambda p, path: {"httpGet": {"path": path, "port": p}}, port, st.just("/healthz")),
            st.builds(lambda p: {"tcpSocket": {"port": p}}, port),
            st.just({"exec": {"command": ["/bin/agent", "health"]}}),
        )
        timing = st.fixed_dictionaries({}, optional={"periodSeconds": st.integers(1, 60)})
        return st.builds(lambda h, t: {**h, **t}, handler, timing)

    return drop_none(
        {
            "liveness": draw(optional(probe())),
            "readiness": draw(optional(probe())),
            "startup": draw(optional(probe())),
        }
    )


def within_limits(resources: dict[str, Any] | None) -> dict[str, Any] | None:
    """``resources`` with each request at most its limit (swapped where drawn the other way)."""
    if not resources or "requests" not in resources or "limits" not in resources:
        return resources
    requests, limits = dict(resources["requests"]), dict(resources["limits"])
    for name in set(requests) & set(limits):
        if parse_quantity(requests[name]) > parse_quantity(limits[name]):
            requests[name], limits[name] = limits[name], requests[name]
    return {**resources, "requests": requests, "limits": limits}


@st.composite
def containers(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    ports = draw(st.lists(st.sampled_from(PORT_NAMES), unique=True, max_size=3))
    image = "registry.example.com/" + draw(names) + draw(st.sampled_from([DIGEST, ":1.2.3", ":latest", ""]))
    env_names = draw(st.lists(st.from_regex(r"\A[A-Z][A-Z0-9_]{0,10}\Z"), unique=True, max_size=4))
    env = []
    for i, name in enumerate(env_names):
        if i % 2:
            env.append({"name": f"REF_{name}", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}})
        else:
            env.append({"name": f"VAR_{name}", "value": draw(words)})
    container = drop_none(
        {
            "image": image,
            "args": draw(optional(st.lists(words, max_size=3))),
            "env": env or None,
            "ports": [{"name": p, "containerPort": 8080 + i} for i, p in enumerate(ports)] or None,
            "resources": within_limits(
                draw(
                    optional(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "requests": st.fixed_dictionaries({"cpu": cpu, "memory": memory}),
                                "limits": st.fixed_dictionaries({}, optional={"cpu": cpu, "memory": memory}),
                            },
                        )
                    )
                )
            ),
            "probes": draw(optional(probes(ports))),
        }
    )
    return container, ports


pod_templates = st.fixed_dictionaries(
    {},
    optional={
        "labels": st.dictionaries(st.sampled_from(["team", "tier", "cost-center"]), label_values, max_size=2),
        "nodeSelector": st.dictionaries(st.just("kubernetes.io/os"), st.just("linux")),
        "tolerations": st.just([{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]),
        "securityContext": st.fixed_dictionaries(
            {}, optional={"runAsUser": st.integers(0, 65535), "runAsNonRoot": st.booleans()}
        ),
        "containerSecurityContext": st.fixed_dictionaries(
            {},
            optional={"readOnlyRootFilesystem": st.booleans(), "allowPrivilegeEscalation": st.booleans()},
        ),
        "automountServiceAccountToken": st.booleans(),
        "terminationGracePeriodSeconds": st.integers(0, 600),
        "hostNetwork": st.booleans(),
    },
)

runtimes = st.fixed_dictionaries(
    {},
    optional={
        "securityLevel": st.sampled_from(["low", "medium", "high", "critical"]),
        "timeoutSeconds": st.integers(1, 86400),
        "maxIterations": st.integers(1, 100),
        "retry": st.fixed_dictionaries(
            {"limit": st.integers(0, 100)},
            optional={
                "backoff": st.builds(
                    lambda a, b: {"initialSeconds": a, "maxSeconds": a + b},
                    st.integers(1, 60),
                    st.integers(0, 60),
                )
            },
        ),
        "circuitBreaker": st.fixed_dictionaries({}, optional={"failureThreshold": st.integers(1, 10)}),
        "rateLimit": st.fixed_dictionaries(
            {}, optional={"requestsPerMinute": st.integers(1, 10000), "maxConcurrency": st.integers(1, 100)}
        ),
        "budget": st.fixed_dictionaries({}, optional={"dailyUSD": st.integers(1, 1000)}),
        "humanOverride": st.fixed_dictionaries(
            {}, optional={"approvalRequiredFor": st.lists(names, max_size=2), "contact": names}
        ),
    },
)

networks = st.fixed_dictionaries(
    {},
    optional={
        "ingressFrom": st.lists(
            st.sampled_from(
                [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}},
                    {"podSelector": {"matchLabels": {"app": "frontend"}}},
                    {"ipBlock": {"cidr": "10.0.0.0/8"}},
                ]
            ),
            max_size=2,
        ),
        "egress": st.fixed_dictionaries(
            {},
            optional={
                "allowedDomains": st.lists(st.sampled_from(["api.openai.com", "*.example.com"]), unique=True),
                "allowedCIDRs": st.lists(st.sampled_from(["10.20.0.0/16", "192.168.1.0/24"]), unique=True),
                "ports": st.lists(
                    st.fixed_dictionaries(
                        {"port": st.integers(1, 65535)}, optional={"protocol": st.just("TCP")}
                    ),
                    max_size=2,
                ),
            },
        ),
    },
)


def observability(ports: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    metric_port: st.SearchStrategy[Any] = st.integers(1, 65535)
    if ports:
        metric_port = st.sampled_from(ports)
    return st.fixed_dictionaries(
        {},
        optional={
            "metrics": st.fixed_dictionaries({"port": metric_port}),
            "logs": st.fixed_dictionaries(
                {}, optional={"format": st.sampled_from(["json", "text"]), "redact": st.booleans()}
            ),
            "tracing": st.just({"otlpEndpoint": "http://otel:4317"}),
            "audit": st.fixed_dictionaries({"enabled": st.booleans()}),
            "alerts": st.fixed_dictionaries(
                {}, optional={"errorRatePercent": st.integers(1, 100), "p95LatencyMs": st.integers(1, 60000)}
            ),
        },
    )


@st.composite
def canary_steps(draw: st.DrawFn, with_evaluation: bool) -> list[dict[str, Any]]:
    weights = sorted(draw(st.lists(st.integers(0, 100), min_size=1, max_size=4)))
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps.append({"setWeight": weight})
        extra = draw(st.sampled_from(["none", "timed", "approval", "evaluate"]))
        if extra == "timed":
            steps.append({"pause": {"durationSeconds": draw(st.integers(1, 3600))}})
        elif extra == "approval":
            steps.append({"pause": {}})
        elif extra == "evaluate" and with_evaluation:
            steps.append({"evaluate": {}})
    return steps


@st.composite
def agent_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A wire-form AgentDeployment that the schema accepts; the generator aims at valid, not compliant."""
    container, ports = draw(containers())
    evaluation = draw(optional(st.just({"image": "registry.example.com/evals" + DIGEST, "minScore": 0.8})))
    strategy = draw(st.sampled_from(["Canary", "RollingUpdate", "Recreate", None]))
    rollout = None
    if strategy is not None:
        rollout = {"strategy": strategy, "autoRollback": draw(st.booleans())}
        if strategy == "Canary":
            rollout["canary"] = {"steps": draw(canary_steps(evaluation is not None))}
    spec = drop_none(
        {
            "environment": draw(st.sampled_from(["production", "staging", "development"])),
            "replicas": draw(st.integers(0, 10)),
            "container": container,
            "podTemplate": draw(optional(pod_templates)),
            "secrets": draw(
                optional(st.lists(names, max_size=2, unique=True).map(lambda ns: [{"name": n} for n in ns]))
            ),
            "model": draw(
                optional(
                    st.just(
                        {"provider": "openai", "name": "gpt-4.1", "apiKeySecret": {"name": "k", "key": "t"}}
                    )
                )
            ),
            "runtime": draw(optional(runtimes)),
            "network": draw(optional(networks)),
            "observability": draw(optional(observability(ports))),
            "evaluation": evaluation,
            "rollout": rollout,
            "paused": draw(st.booleans()),
            "suspend": draw(st.booleans()),
        }
    )
    metadata = drop_none(
        {"name": draw(names), "namespace": draw(optional(st.sampled_from(["agents", "team-a"])))}
    )
    return {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": metadata,
        "spec": spec,
    }


capabilities = st.builds(ClusterCapabilities, st.booleans(), st.booleans(), st.booleans())


@SETTINGS
@given(agent_documents(), capabilities, st.sampled_from(VERSIONS))
def test_every_valid_spec_renders_schema_valid_objects(
    document: dict[str, Any], caps: ClusterCapabilities, version: str
) -> None:
    agent = load_agent(document, "generated")
    objects = render(agent, caps)
    assert render(agent, caps) == objects, "render must be deterministic"
    kinds = {o["kind"] for o in objects}
    assert {"ServiceAccount", "Deployment", "NetworkPolicy"} <= kinds
    for obj in objects:
        if obj["kind"] in NO_UPSTREAM_SCHEMA:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']} invalid for {version} at {where}: {exc.message}")


@SETTINGS
@given(
    agent_documents(),
    optional(capabilities),
    optional(st.sampled_from(["production", "staging", "development"])),
)
def test_evaluate_never_raises_and_reports_consistently(
    document: dict[str, Any], caps: ClusterCapabilities | None, environment: str | None
) -> None:
    if environment is not None:
        document["spec"]["environment"] = environment
    report = evaluate(load_agent(document, "generated"), None, caps)
    assert 0 <= report.score <= 100
    failing_required = [c.id for c in report.checks if c.status == "fail"]
    assert sorted(report.missing_required) == sorted(failing_required)
    assert report.ready == (not report.missing_required)
    assert all(c.severity == "required" for c in report.checks if c.status == "fail")
    assert {c.id for c in report.checks if c.status == "warn"} <= set(report.warnings)
    assert len({c.id for c in report.checks}) == len(report.checks), "check ids are unique"
    assert report.to_wire()["ready"] == report.ready


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A valid document with one subtree replaced by arbitrary JSON, to reach deep validators."""
    document = copy.deepcopy(draw(agent_documents()))
    node: Any = document
    for _ in range(draw(st.integers(0, 5))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], dict | list) or not node[key]:
                break
            node = node[key]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], dict | list) or not node[index]:
                break
            node = node[index]
    if isinstance(node, dict):
        node[draw(st.sampled_from([*sorted(node), "unexpected"]))] = draw(json_values)
    elif isinstance(node, list) and node:
        node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
    return document


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_values, mutated_documents()))
def test_loader_returns_a_model_or_document_error(data: Any) -> None:
    outcome: AgentDeployment | DocumentError
    try:
        outcome = load_agent(data, "fuzz")
    except DocumentError as exc:
        outcome = exc
    if isinstance(outcome, DocumentError):
        assert outcome.errors
        assert all(line.startswith("fuzz: ") for line in outcome.lines())
    else:
        assert isinstance(outcome, AgentDeployment)
