"""Property tests: any valid AgentDeployment renders deterministic, schema-valid, hardened objects."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from render_helpers import restricted_violations

from agent_operator.api import AgentDeployment
from agent_operator.render import ClusterCapabilities, render, revision_hash, to_yaml

KUBERNETES_VERSIONS = [f"1.{minor}" for minor in range(30, 38)]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "CiliumNetworkPolicy"}

dns_label = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
agent_names = st.one_of(dns_label, st.just("a" * 50))
port_names = st.sampled_from(["http", "metrics", "grpc", "admin", "web"])


@st.composite
def ports(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(port_names, unique=True, max_size=3))
    numbers = draw(st.lists(st.integers(1024, 65535), unique=True, min_size=len(names), max_size=len(names)))
    return [{"name": n, "containerPort": p} for n, p in zip(names, numbers, strict=True)]


probes = st.fixed_dictionaries(
    {},
    optional={
        "liveness": st.just({"httpGet": {"path": "/healthz", "port": 8080}}),
        "readiness": st.just({"tcpSocket": {"port": 8080}, "periodSeconds": 5}),
        "startup": st.just({"exec": {"command": ["/bin/true"]}, "failureThreshold": 30}),
    },
)
container = st.fixed_dictionaries(
    {"image": st.sampled_from(["r.example.com/a:1", "r.example.com/a@sha256:" + "0" * 64])},
    optional={
        "args": st.lists(
            st.text(st.characters(codec="ascii", categories=["L", "N"]), max_size=5), max_size=2
        ),
        "env": st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(["MODE", "REGION", "AGENT_LOG_LEVEL"]), "value": dns_label}
            ),
            max_size=2,
            unique_by=lambda e: e["name"],
        ),
        "ports": ports(),
        "resources": st.just({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}),
        "probes": probes,
    },
)
runtime = st.fixed_dictionaries(
    {},
    optional={
        "securityLevel": st.sampled_from(["low", "medium", "high", "critical"]),
        "timeoutSeconds": st.integers(1, 86400),
        "retry": st.builds(lambda n: {"limit": n}, st.integers(0, 10)),
        "rateLimit": st.just({"requestsPerMinute": 60, "maxConcurrency": 4}),
        "budget": st.builds(
            lambda usd, pct: {"dailyUSD": usd, "alertAtPercent": pct},
            st.floats(0.01, 10_000, allow_nan=False),
            st.integers(1, 100),
        ),
    },
)
network = st.fixed_dictionaries(
    {},
    optional={
        "ingressFrom": st.lists(
            st.builds(
                lambda ns: {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}},
                dns_label,
            ),
            max_size=2,
        ),
        "egress": st.fixed_dictionaries(
            {},
            optional={
                "allowedDomains": st.lists(st.sampled_from(["api.openai.com", "*.example.com"]), max_size=2),
                "allowedCIDRs": st.lists(st.sampled_from(["10.0.0.0/8", "2001:db8::/32"]), max_size=2),
                "ports": st.lists(
                    st.sampled_from([{"port": 443, "protocol": "TCP"}, {"port": 8000, "endPort": 8100}]),
                    min_size=1,
                    max_size=2,
                ),
            },
        ),
    },
)
observability = st.fixed_dictionaries(
    {},
    optional={
        "metrics": st.sampled_from([{}, {"port": "metrics", "path": "/m"}, {"port": 9090}]),
        "logs": st.just({"format": "json"}),
        "tracing": st.just({"otlpEndpoint": "http://otel:4317", "samplingRate": 0.25}),
        "audit": st.just({"enabled": True}),
        "alerts": st.just({"errorRatePercent": 2.5, "p95LatencyMs": 1500, "taskFailuresPerHour": 3}),
    },
)


@st.composite
def agents(draw: st.DrawFn) -> AgentDeployment:
    spec: dict[str, Any] = {
        "environment": draw(st.sampled_from(["production", "staging", "development"])),
        "replicas": draw(st.integers(0, 6)),
        "container": draw(container),
        "suspend": draw(st.booleans()),
    }
    for key, strategy in (
        ("runtime", runtime),
        ("network", network),
        ("observability", observability),
        (
            "secrets",
            st.lists(st.builds(lambda n: {"name": n}, dns_label), max_size=2, unique_by=lambda s: s["name"]),
        ),
        (
            "model",
            st.just({"provider": "openai", "name": "gpt", "apiKeySecret": {"name": "k", "key": "token"}}),
        ),
    ):
        if draw(st.booleans()):
            spec[key] = draw(strategy)
    metadata: dict[str, Any] = {"name": draw(agent_names)}
    if draw(st.booleans()):
        metadata["namespace"] = draw(dns_label)
    if draw(st.booleans()):
        metadata["uid"] = "00000000-0000-0000-0000-000000000001"
    return AgentDeployment.model_validate({"metadata": metadata, "spec": spec})


capabilities = st.builds(ClusterCapabilities, st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent=agents(), caps=capabilities, version=st.sampled_from(KUBERNETES_VERSIONS))
def test_every_valid_agent_renders_valid_hardened_objects(
    agent: AgentDeployment, caps: ClusterCapabilities, version: str
) -> None:
    objects = render(agent, caps)
    assert to_yaml(objects) == to_yaml(render(agent, caps))
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue  # checked against the CRD subsets in test_render_schema.py
        kubernetes_validate.validate(obj, version, strict=True)
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    assert len(revision_hash(agent)) == 10
