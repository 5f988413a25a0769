"""The rendered pod: hardening by default, overlays rendered truthfully, secrets as files,
runtime config and its env summary, graceful drain."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from render_helpers import (
    FIXTURE_NAMES,
    agent_container,
    agent_dict,
    find,
    load_agent_file,
    pod_spec,
    restricted_violations,
)

from agent_operator.api import AgentDeployment
from agent_operator.render import AGENT_CONTAINER, render, render_revision, revision_hash


def _agent(spec_patch: dict[str, Any], name: str = "minimal") -> AgentDeployment:
    doc = agent_dict(name)
    doc["spec"].update(spec_patch)
    return AgentDeployment.model_validate(doc)


def _env(objects: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in agent_container(objects)["env"] if "value" in e}


@pytest.mark.parametrize("name", ["minimal", "production", "suspended"])
def test_pods_without_overlay_pass_the_restricted_profile(name: str) -> None:
    assert restricted_violations(pod_spec(render(load_agent_file(name)))) == []


def test_hardening_defaults_are_rendered() -> None:
    objects = render(load_agent_file("minimal"))
    pod = pod_spec(objects)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["serviceAccountName"] == "hello-agent"
    assert pod["automountServiceAccountToken"] is False
    container = agent_container(objects)
    assert container["name"] == AGENT_CONTAINER
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert find(objects, "ServiceAccount")["automountServiceAccountToken"] is False


def test_probes_and_resources_are_taken_as_given_and_never_invented() -> None:
    minimal = agent_container(render(load_agent_file("minimal")))
    for field in ("livenessProbe", "readinessProbe", "startupProbe", "resources", "ports"):
        assert field not in minimal
    production = agent_container(render(load_agent_file("production")))
    assert production["readinessProbe"] == {
        "httpGet": {"path": "/readyz", "port": "http"},
        "periodSeconds": 5,
    }
    assert production["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }


def test_overlay_that_weakens_security_is_rendered_as_written() -> None:
    objects = render(load_agent_file("weakened"))
    pod = pod_spec(objects)
    main = agent_container(objects)
    assert pod["securityContext"]["runAsNonRoot"] is False
    assert pod["securityContext"]["runAsUser"] == 0
    assert pod["automountServiceAccountToken"] is True
    assert find(objects, "ServiceAccount")["automountServiceAccountToken"] is True
    assert pod["terminationGracePeriodSeconds"] == 10
    assert main["securityContext"]["allowPrivilegeEscalation"] is True
    assert main["securityContext"]["privileged"] is True
    assert "readOnlyRootFilesystem" not in main["securityContext"], "null in the overlay removes a default"
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    warmup = pod["initContainers"][0]
    assert (warmup["securityContext"]["runAsUser"], warmup["securityContext"]["runAsNonRoot"]) == (0, False)
    # The overlay's own tmp volume replaces the default one instead of being added next to it.
    assert [v for v in pod["volumes"] if v["name"] == "tmp"] == [
        {"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}
    ]
    # And the restricted profile sees every weakening.
    violations = restricted_violations(pod)
    assert "agent: allowPrivilegeEscalation is not false" in violations
    assert "agent: privileged" in violations
    assert "agent: capabilities add ['NET_ADMIN']" in violations
    assert "pod runAsUser is 0" in violations
    assert "warmup: runAsUser is 0" in violations
    assert "warmup: runAsNonRoot is not true" in violations


def test_sidecars_get_the_hardened_security_context_under_their_own() -> None:
    pod = pod_spec(render(load_agent_file("weakened")))
    proxy = next(c for c in pod["containers"] if c["name"] == "proxy")
    assert proxy["securityContext"]["allowPrivilegeEscalation"] is False
    assert proxy["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert [c["name"] for c in pod["containers"]] == ["agent", "proxy"]


def test_operator_labels_win_over_overlay_labels() -> None:
    agent = _agent({"podTemplate": {"labels": {"agentoperator.dev/revision": "fake", "team": "a"}}})
    labels = find(render(agent), "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["agentoperator.dev/revision"] == revision_hash(agent)
    assert labels["team"] == "a"


def test_secrets_are_read_only_files_never_literals() -> None:
    objects = render(load_agent_file("production"))
    pod = pod_spec(objects)
    container = agent_container(objects)
    secret_volumes = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    assert secret_volumes == {
        "secret-crm-credentials": {"secretName": "crm-credentials", "defaultMode": 0o440},
        # Not a DNS label (it has dots): named by position instead.
        "secret-1": {"secretName": "tls.example.com", "defaultMode": 0o440},
        "agent-model-api-key": {
            "secretName": "openai-api-key",
            "items": [{"key": "token", "path": "api-key"}],
            "defaultMode": 0o440,
        },
    }
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["secret-crm-credentials"]["mountPath"] == "/var/run/secrets/agent/crm-credentials"
    assert mounts["secret-1"]["mountPath"] == "/var/run/secrets/tls"
    assert mounts["agent-model-api-key"]["mountPath"] == "/var/run/secrets/agent-model"
    assert all(mounts[name]["readOnly"] is True for name in secret_volumes)
    assert _env(objects)["AGENT_MODEL_API_KEY_FILE"] == "/var/run/secrets/agent-model/api-key"
    # The user's secretKeyRef env is passed through as a reference.
    assert {"name": "CRM_TOKEN", "valueFrom": {"secretKeyRef": {"name": "crm", "key": "token"}}} in container[
        "env"
    ]


def test_runtime_config_is_immutable_hashed_and_mounted() -> None:
    agent = load_agent_file("production")
    objects = render(agent)
    config_map = find(objects, "ConfigMap")
    assert config_map["immutable"] is True
    assert re.fullmatch(r"support-bot-runtime-[0-9a-f]{10}", config_map["metadata"]["name"])
    assert config_map["metadata"]["labels"]["agentoperator.dev/revision"] == revision_hash(agent)
    document = json.loads(config_map["data"]["runtime.json"])
    assert document["runtime"]["timeoutSeconds"] == 120
    assert document["runtime"]["humanOverride"]["contact"] == "oncall-agents"
    assert document["model"] == {
        "provider": "openai",
        "name": "gpt-4.1",
        "temperature": 0.2,
        "apiKeyFile": "/var/run/secrets/agent-model/api-key",
    }
    assert document["logs"] == {"format": "json", "redact": True, "level": "info"}
    assert "openai-api-key" not in config_map["data"]["runtime.json"], "no Secret reference in the config"
    volume = next(v for v in pod_spec(objects)["volumes"] if v.get("configMap"))
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = next(m for m in agent_container(objects)["volumeMounts"] if m["name"] == volume["name"])
    assert (mount["mountPath"], mount["readOnly"]) == ("/etc/agent", True)


def test_env_summarises_the_guardrails_then_user_env() -> None:
    agent = load_agent_file("production")
    container = agent_container(render(agent))
    names = [e["name"] for e in container["env"]]
    assert names == [
        "AGENT_NAME",
        "AGENT_REVISION",
        "AGENT_ENVIRONMENT",
        "AGENT_CONFIG_FILE",
        "AGENT_SECURITY_LEVEL",
        "AGENT_TIMEOUT_SECONDS",
        "AGENT_MAX_ITERATIONS",
        "AGENT_RETRY_LIMIT",
        "AGENT_REQUESTS_PER_MINUTE",
        "AGENT_MAX_CONCURRENCY",
        "AGENT_DAILY_BUDGET_USD",
        "AGENT_MODEL_PROVIDER",
        "AGENT_MODEL_NAME",
        "AGENT_MODEL_API_KEY_FILE",
        "AGENT_LOG_FORMAT",
        "AGENT_LOG_LEVEL",
        "AGENT_LOG_REDACT",
        "AGENT_AUDIT_ENABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "TOOL_TIMEOUT_SECONDS",
        "CRM_TOKEN",
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AGENT_REVISION"] == revision_hash(agent)
    assert env["AGENT_DAILY_BUDGET_USD"] == "50"
    assert env["AGENT_TIMEOUT_SECONDS"] == "120"
    assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.1"


def test_only_settings_that_are_set_reach_the_env() -> None:
    assert set(_env(render(load_agent_file("minimal")))) == {
        "AGENT_NAME",
        "AGENT_REVISION",
        "AGENT_ENVIRONMENT",
        "AGENT_CONFIG_FILE",
    }


def test_user_env_wins_over_the_summary_without_duplicates() -> None:
    container = agent_container(render(load_agent_file("weakened")))
    log_format = [e for e in container["env"] if e["name"] == "AGENT_LOG_FORMAT"]
    assert log_format == [{"name": "AGENT_LOG_FORMAT", "value": "text"}]


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, 30),  # the Kubernetes default when there is no task timeout to honour
        (1, 30),  # never below the Kubernetes default
        (15, 30),  # 5 + 15 + 10 = 30
        (16, 31),
        (120, 135),  # preStop 5 + timeout 120 + margin 10
        (885, 900),
        (7200, 900),  # capped: a node drain must not wait for hours
    ],
)
def test_grace_period_lets_an_in_flight_task_finish(timeout: int | None, expected: int) -> None:
    runtime = {} if timeout is None else {"timeoutSeconds": timeout}
    assert pod_spec(render(_agent({"runtime": runtime})))["terminationGracePeriodSeconds"] == expected


def test_overlay_grace_period_wins() -> None:
    agent = _agent({"runtime": {"timeoutSeconds": 600}, "podTemplate": {"terminationGracePeriodSeconds": 45}})
    assert pod_spec(render(agent))["terminationGracePeriodSeconds"] == 45


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_object_carries_the_agent_labels(name: str) -> None:
    agent = load_agent_file(name)
    revision = revision_hash(agent)
    expected = {
        "app.kubernetes.io/name": agent.metadata.name,
        "app.kubernetes.io/instance": agent.metadata.name,
        "app.kubernetes.io/component": "agent",
        "app.kubernetes.io/managed-by": "agent-operator",
        "agentoperator.dev/agent": agent.metadata.name,
    }
    for obj in render(agent):
        assert expected.items() <= obj["metadata"]["labels"].items(), obj["kind"]
    for obj in render_revision(agent, revision_hash(agent), 1):
        assert obj["metadata"]["labels"]["agentoperator.dev/revision"] == revision
    deployment = find(render_revision(agent, revision_hash(agent), 1), "Deployment")
    assert deployment["spec"]["selector"] == {
        "matchLabels": {
            "agentoperator.dev/agent": agent.metadata.name,
            "agentoperator.dev/revision": revision,
        }
    }
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert {**expected, "agentoperator.dev/revision": revision}.items() <= pod_labels.items()


def test_owner_reference_and_namespace_only_when_known() -> None:
    offline = render(load_agent_file("minimal"))
    assert all("ownerReferences" not in o["metadata"] and "namespace" not in o["metadata"] for o in offline)
    live = render(load_agent_file("production"))
    for obj in live:
        assert obj["metadata"]["namespace"] == "agents"
        assert obj["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "agentoperator.dev/v1alpha1",
                "kind": "AgentDeployment",
                "name": "support-bot",
                "uid": "6f1c1d2e-8a4b-4c1e-9d5f-0a1b2c3d4e5f",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_suspend_scales_the_revision_to_zero_and_keeps_everything_else() -> None:
    suspended = load_agent_file("suspended")
    running = AgentDeployment.model_validate(
        {**agent_dict("suspended"), "spec": {**agent_dict("suspended")["spec"], "suspend": False}}
    )
    assert find(render(suspended), "Deployment")["spec"]["replicas"] == 0
    assert find(render(running), "Deployment")["spec"]["replicas"] == 3
    assert [o["kind"] for o in render(suspended)] == [o["kind"] for o in render(running)]


def test_render_revision_refuses_negative_replicas() -> None:
    with pytest.raises(ValueError, match="negative"):
        render_revision(load_agent_file("minimal"), "0123456789", -1)


def test_longest_agent_name_gives_valid_service_names() -> None:
    doc = yaml.safe_load(yaml.safe_dump(agent_dict("production")))
    doc["metadata"]["name"] = "a" * 50
    objects = render(AgentDeployment.model_validate(doc))
    for obj in objects:
        if obj["kind"] == "Service":
            assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", obj["metadata"]["name"])
            assert len(obj["metadata"]["name"]) <= 63
