"""Every rendered object is valid for Kubernetes 1.30 to 1.37.

Core kinds are checked with kubernetes-validate in strict mode (unknown fields are errors) against
the OpenAPI schemas it ships for each version. It has no schemas for the CRD kinds, so
ServiceMonitor, PrometheusRule (monitoring.coreos.com/v1) and CiliumNetworkPolicy (cilium.io/v2)
are checked against the JSON schemas below instead: a strict subset of the upstream CRDs covering
every field the renderer writes, with unknown fields refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions
from render_helpers import FIXTURE_NAMES, load_agent_file

from agent_operator.render import ClusterCapabilities, render, render_revision, render_shared, revision_hash

KUBERNETES_VERSIONS = [f"1.{minor}" for minor in range(30, 38)]
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "CiliumNetworkPolicy"}
CAPABILITIES = {
    "none": ClusterCapabilities(),
    "everything": ClusterCapabilities(cilium=True, service_monitor=True, prometheus_rule=True),
}

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name", "labels"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": _DNS_SUBDOMAIN, "maxLength": 253},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "ownerReferences": {"type": "array"},
    },
}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"matchLabels": _STRING_MAP},
}


def _crd_schema(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
    }


SERVICE_MONITOR = _crd_schema(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    {
        "type": "object",
        "required": ["selector", "endpoints"],
        "additionalProperties": False,
        "properties": {
            "selector": _LABEL_SELECTOR,
            "namespaceSelector": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
            },
            "targetLabels": {"type": "array", "items": {"type": "string"}},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["port"],
                    "additionalProperties": False,
                    "properties": {"port": {"type": "string"}, "path": {"type": "string", "pattern": "^/"}},
                },
            },
        },
    },
)

PROMETHEUS_RULE = _crd_schema(
    "monitoring.coreos.com/v1",
    "PrometheusRule",
    {
        "type": "object",
        "required": ["groups"],
        "additionalProperties": False,
        "properties": {
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "rules"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "rules": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["alert", "expr"],
                                "additionalProperties": False,
                                "properties": {
                                    "alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                                    "expr": {"type": "string", "minLength": 1},
                                    # Prometheus durations, as the CRD's pattern accepts them.
                                    "for": {"type": "string", "pattern": "^(0|(([0-9]+)(y|w|d|h|m|s|ms))+)$"},
                                    "labels": _STRING_MAP,
                                    "annotations": _STRING_MAP,
                                },
                            },
                        },
                    },
                },
            }
        },
    },
)

_CILIUM_PORT = {
    "type": "object",
    "required": ["port"],
    "additionalProperties": False,
    "properties": {
        # The CRD's port pattern: a number or an IANA port name.
        "port": {
            "type": "string",
            "pattern": r"^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|"
            r"[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$",
        },
        "endPort": {"type": "integer", "minimum": 0, "maximum": 65535},
        "protocol": {"enum": ["TCP", "UDP", "SCTP", "ICMP", "ICMPV6", "VRRP", "IGMP", "ANY"]},
    },
}
_FQDN = r"^([-a-zA-Z0-9_]+[.]?)+$"
_FQDN_PATTERN = r"^([-a-zA-Z0-9_*]+[.]?)+$"
CILIUM_NETWORK_POLICY = _crd_schema(
    "cilium.io/v2",
    "CiliumNetworkPolicy",
    {
        "type": "object",
        "required": ["endpointSelector", "egress"],
        "additionalProperties": False,
        "properties": {
            "endpointSelector": _LABEL_SELECTOR,
            "egress": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "toEndpoints": {"type": "array", "items": _LABEL_SELECTOR},
                        "toFQDNs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "minProperties": 1,
                                "maxProperties": 1,
                                "additionalProperties": False,
                                "properties": {
                                    "matchName": {"type": "string", "pattern": _FQDN, "maxLength": 255},
                                    "matchPattern": {
                                        "type": "string",
                                        "pattern": _FQDN_PATTERN,
                                        "maxLength": 255,
                                    },
                                },
                            },
                        },
                        "toPorts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "ports": {"type": "array", "items": _CILIUM_PORT},
                                    "rules": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "dns": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "properties": {
                                                        "matchName": {"type": "string"},
                                                        "matchPattern": {"type": "string"},
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
)

CRD_SCHEMAS = {
    "ServiceMonitor": SERVICE_MONITOR,
    "PrometheusRule": PROMETHEUS_RULE,
    "CiliumNetworkPolicy": CILIUM_NETWORK_POLICY,
}


def _all_rendered() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for name in FIXTURE_NAMES:
        agent = load_agent_file(name)
        for caps_name, caps in CAPABILITIES.items():
            for obj in render(agent, caps):
                cases.append((f"{name}/{caps_name}/{obj['kind']}/{obj['metadata']['name']}", obj))
        # Mid-rollout objects: a canary Service pointing elsewhere than stable, a scaled-down revision.
        for obj in render_shared(agent, "0123456789", revision_hash(agent), CAPABILITIES["everything"]):
            cases.append((f"{name}/canary/{obj['kind']}/{obj['metadata']['name']}", obj))
        for obj in render_revision(agent, revision_hash(agent), 0):
            cases.append((f"{name}/scaled-to-zero/{obj['kind']}/{obj['metadata']['name']}", obj))
    return cases


def _distinct(cases: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Each distinct object once: the cases overlap (the same ServiceAccount in every variant)."""
    seen: set[str] = set()
    distinct = []
    for case_id, obj in cases:
        key = json.dumps(obj, sort_keys=True)
        if key not in seen:
            seen.add(key)
            distinct.append((case_id, obj))
    return distinct


RENDERED = _distinct(_all_rendered())
CORE = [(case_id, obj) for case_id, obj in RENDERED if obj["kind"] not in CRD_KINDS]
CUSTOM = [(case_id, obj) for case_id, obj in RENDERED if obj["kind"] in CRD_KINDS]


def test_kubernetes_validate_ships_every_targeted_version() -> None:
    shipped = {re.sub(r"^(\d+\.\d+).*", r"\1", v) for v in all_versions()}
    assert set(KUBERNETES_VERSIONS) <= shipped, f"missing schemas: {set(KUBERNETES_VERSIONS) - shipped}"


def test_the_fixtures_exercise_every_kind() -> None:
    assert {obj["kind"] for _, obj in RENDERED} == {
        "ServiceAccount",
        "NetworkPolicy",
        "CiliumNetworkPolicy",
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("case_id", "obj"), CORE, ids=[case_id for case_id, _ in CORE])
def test_core_object_is_valid_in_strict_mode(case_id: str, obj: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{case_id} is invalid for Kubernetes {version}: {error.message} at {list(error.path)}")


@pytest.mark.parametrize(("case_id", "obj"), CUSTOM, ids=[case_id for case_id, _ in CUSTOM])
def test_custom_resource_matches_its_crd_subset(case_id: str, obj: dict[str, Any]) -> None:
    try:
        jsonschema.validate(obj, CRD_SCHEMAS[obj["kind"]])
    except jsonschema.ValidationError as error:
        pytest.fail(f"{case_id}: {error.message} at {list(error.path)}")


def test_crd_schemas_refuse_unknown_fields() -> None:
    """The structural check can fail: a misspelt field is caught."""
    monitor = next(obj for _, obj in CUSTOM if obj["kind"] == "ServiceMonitor")
    broken = {**monitor, "spec": {**monitor["spec"], "endpoint": monitor["spec"]["endpoints"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, CRD_SCHEMAS["ServiceMonitor"])


def test_strict_validation_refuses_unknown_fields() -> None:
    deployment = next(obj for _, obj in CORE if obj["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30", strict=True)
