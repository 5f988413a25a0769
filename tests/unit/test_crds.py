"""The generated CRDs: drift, structural schema, descriptions, metadata, and CEL/pydantic parity.

The CEL rules are evaluated offline with the ``cel`` library, on objects defaulted the way the
apiserver defaults them, so a rule that disagrees with its pydantic twin fails here before it
reaches a cluster (tests/integration/test_crd_admission.py repeats the cases on a real apiserver).
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cel
import pytest
import yaml
from pydantic import ValidationError

from agent_operator.api import AgentDeployment, ReadinessPolicy, format_validation_error
from agent_operator.api.base import _QUANTITY
from agent_operator.api.core import CIDR_RULE, PEER_SHAPE, REQUESTS_WITHIN_LIMITS
from agent_operator.api.crd import crd_file_name, crd_yaml, custom_resource_definitions, write_crds
from agent_operator.cron import CRON_RULE

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
EXAMPLES = ROOT / "examples"

CRDS = custom_resource_definitions()
AGD, RPOL = CRDS
INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def _schema(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if "items" in node:
        yield from _nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _nodes(node["additionalProperties"], f"{path}.*")


# --- generation -----------------------------------------------------------------------------------


def test_committed_crds_match_the_models() -> None:
    for crd in CRDS:
        committed = CRD_DIR / crd_file_name(crd)
        assert committed.exists(), f"{committed} is missing: run `make crds`"
        assert committed.read_text(encoding="utf-8") == crd_yaml(crd), (
            f"{committed.relative_to(ROOT)} drifted from the pydantic models: run `make crds` and commit"
        )


def test_no_stray_files_in_crds_directory() -> None:
    expected = {crd_file_name(crd) for crd in CRDS}
    assert {p.name for p in CRD_DIR.glob("*.yaml")} == expected


def test_write_crds_writes_one_file_per_crd(tmp_path: Path) -> None:
    written = write_crds(tmp_path / "out")
    assert [p.name for p in written] == [
        "agentdeployments.agentoperator.dev.yaml",
        "readinesspolicies.agentoperator.dev.yaml",
    ]
    for path, crd in zip(written, CRDS, strict=True):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# Generated")
        assert yaml.safe_load(text) == crd


def test_yaml_has_no_anchors_or_aliases() -> None:
    for crd in CRDS:
        text = crd_yaml(crd)
        assert "&id" not in text
        assert "*id" not in text


def test_generation_is_deterministic() -> None:
    assert [crd_yaml(c) for c in custom_resource_definitions()] == [crd_yaml(c) for c in CRDS]


# --- structural schema ----------------------------------------------------------------------------


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["spec"]["names"]["kind"])
def test_schema_is_structural(crd: dict[str, Any]) -> None:
    for path, node in _nodes(_schema(crd)):
        where = path or "<root>"
        assert "$ref" not in node, where
        assert "title" not in node, where
        assert "oneOf" not in node, where
        assert "allOf" not in node, where
        assert "not" not in node, where
        assert "nullable" not in node, where
        if node.get("x-kubernetes-int-or-string"):
            assert "type" not in node, where
            assert node.get("anyOf") == INT_OR_STRING, where
            continue
        assert "anyOf" not in node, where
        assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, where
        assert not ("properties" in node and "additionalProperties" in node), where
        assert node.get("additionalProperties") is not False, where
        if node["type"] == "array":
            assert "items" in node, where
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(key, True) is True, f"{where}: {key} must be an OpenAPI 3.0 boolean"


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["spec"]["names"]["kind"])
def test_root_leaves_metadata_to_the_apiserver(crd: dict[str, Any]) -> None:
    root = _schema(crd)
    assert root["properties"]["metadata"] == {"type": "object"}
    assert root["required"] == ["spec"]


def test_name_length_rule_stays_on_the_root() -> None:
    rules = _schema(AGD)["x-kubernetes-validations"]
    assert [r["rule"] for r in rules] == [
        "size(self.metadata.name) <= 50",
        "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    ]


@pytest.mark.parametrize("crd", CRDS, ids=lambda c: c["spec"]["names"]["kind"])
def test_every_spec_and_status_property_is_described(crd: dict[str, Any]) -> None:
    root = _schema(crd)
    for part in ("spec", "status"):
        if part in root["properties"]:
            for path, node in _nodes(root["properties"][part], part):
                # List items and map values are explained by their property.
                if not path.endswith(("[]", ".*")):
                    assert node.get("description"), f"{path} has no description for kubectl explain"


def test_descriptions_come_from_field_docstrings() -> None:
    runtime = _schema(AGD)["properties"]["spec"]["properties"]["runtime"]
    assert runtime["description"] == "Runtime guardrails."
    timeout = runtime["properties"]["timeoutSeconds"]
    assert timeout["description"].startswith("Wall-clock limit for one task.")
    assert (timeout["type"], timeout["minimum"], timeout["maximum"]) == ("integer", 1, 86400)


def test_type_mapping() -> None:
    spec = _schema(AGD)["properties"]["spec"]["properties"]
    assert spec["environment"]["enum"] == ["production", "staging", "development"]
    assert spec["environment"]["type"] == "string"
    assert spec["replicas"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,
        "maximum": 2**31 - 1,
        "default": 1,
        "description": "Pods of the stable revision.",
    }
    port = spec["container"]["properties"]["ports"]["items"]["properties"]["containerPort"]
    assert port["format"] == "int32"
    tracing = spec["observability"]["properties"]["tracing"]["properties"]
    assert tracing["samplingRate"]["type"] == "number"
    budget = spec["runtime"]["properties"]["budget"]["properties"]["dailyUSD"]
    assert (budget["minimum"], budget["exclusiveMinimum"]) == (0, True)
    requests = spec["container"]["properties"]["resources"]["properties"]["requests"]
    assert requests["type"] == "object"
    assert requests["additionalProperties"]["x-kubernetes-int-or-string"] is True
    affinity = spec["podTemplate"]["properties"]["affinity"]
    assert affinity["x-kubernetes-preserve-unknown-fields"] is True
    assert spec["container"]["required"] == ["image"]
    assert "required" not in spec["runtime"]


def test_defaults_only_on_scalar_leaves() -> None:
    for crd in CRDS:
        for path, node in _nodes(_schema(crd)):
            if "default" in node:
                assert node.get("type") not in {"object", "array"}, path
                assert not isinstance(node["default"], dict | list), path


def test_list_maps_key_on_required_fields() -> None:
    found = {}
    for crd in CRDS:
        for path, node in _nodes(_schema(crd)):
            if node.get("x-kubernetes-list-type") == "map":
                keys = node["x-kubernetes-list-map-keys"]
                assert set(keys) <= set(node["items"].get("required", [])), path
                found[path] = keys
    assert found == {
        ".spec.container.ports": ["name"],
        ".spec.secrets": ["name"],
        ".status.conditions": ["type"],
        ".spec.rules": ["name"],
        ".spec.analysis.metrics": ["name"],
        ".spec.analysis.cost.prices": ["model"],
    }


# --- CRD metadata ---------------------------------------------------------------------------------


def test_agent_deployment_names_and_subresources() -> None:
    spec = AGD["spec"]
    assert AGD["metadata"]["name"] == "agentdeployments.agentoperator.dev"
    assert spec["group"] == "agentoperator.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "AgentDeployment",
        "listKind": "AgentDeploymentList",
        "plural": "agentdeployments",
        "singular": "agentdeployment",
        "shortNames": ["agd"],
        "categories": ["agents"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    status = _schema(AGD)["properties"]["status"]["properties"]
    assert status["replicas"]["type"] == "integer"
    assert status["selector"]["type"] == "string"


def test_agent_deployment_printer_columns() -> None:
    (version,) = AGD["spec"]["versions"]
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")] == [
        "Phase",
        "Ready",
        "Stable",
        "Canary",
        "Weight",
        "Age",
    ]
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Weight"] == {
        "name": "Weight",
        "type": "integer",
        "jsonPath": ".status.actualWeight",
        "description": "Canary share of ready pods, in percent.",
    }
    assert columns["Age"]["type"] == "date"
    status = _schema(AGD)["properties"]["status"]["properties"]
    for column in version["additionalPrinterColumns"]:
        path = column["jsonPath"]
        if path.startswith(".status."):
            field = path.removeprefix(".status.").split(".")[0].split("[")[0]
            assert field in status, f"printer column {column['name']} reads a missing status field"


def test_readiness_policy_names_and_columns() -> None:
    spec = RPOL["spec"]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["plural"] == "readinesspolicies"
    assert spec["names"]["shortNames"] == ["rpol"]
    assert spec["names"]["categories"] == ["agents"]
    (version,) = spec["versions"]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Enforcement", "Priority", "Age"]
    assert version["subresources"] == {}
    assert "status" not in _schema(RPOL)["properties"]


# --- CEL rules, evaluated offline, paired with the pydantic validators ------------------------------


def _apply_defaults(node: dict[str, Any], value: Any) -> Any:
    """``value`` defaulted and typed as the apiserver does before running CEL."""
    if isinstance(value, dict) and "properties" in node:
        out = {}
        for name, sub in node["properties"].items():
            if name in value:
                out[name] = _apply_defaults(sub, value[name])
            elif "default" in sub:
                out[name] = sub["default"]
        return {**value, **out}
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        return {k: _apply_defaults(node["additionalProperties"], v) for k, v in value.items()}
    if isinstance(value, list) and "items" in node:
        return [_apply_defaults(node["items"], v) for v in value]
    if node.get("type") == "number" and isinstance(value, int):
        return float(value)
    return value


def _cel_failures(node: dict[str, Any], value: Any) -> list[str]:
    """Messages of every x-kubernetes-validations rule that rejects ``value``."""
    failures = []
    for rule in node.get("x-kubernetes-validations", []):
        context = cel.Context()
        context.add_variable("self", value)
        # Kubernetes' list library; the cel package only has the CEL standard library.
        context.add_function("isSorted", lambda xs: list(xs) == sorted(xs))
        context.add_function("isQuantity", lambda x: bool(_QUANTITY.match(x)))
        context.add_function("isCIDR", _is_cidr)
        if rule["message"] in APISERVER_ONLY:
            continue
        if cel.evaluate(rule["rule"], context) is not True:
            failures.append(rule["message"])
    if isinstance(value, dict) and "properties" in node:
        for name, sub in node["properties"].items():
            if name in value:
                failures += _cel_failures(sub, value[name])
    if isinstance(value, list) and "items" in node:
        for item in value:
            failures += _cel_failures(node["items"], item)
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        for item in value.values():
            failures += _cel_failures(node["additionalProperties"], item)
    return failures


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


# Rules using Kubernetes CEL libraries the offline evaluator lacks (quantity comparison, the strings
# library's split); the real apiserver checks them in tests/integration/test_crd_admission.py and
# test_validity_agreement.py.
APISERVER_ONLY = {REQUESTS_WITHIN_LIMITS, CRON_RULE[1]}


def admission_failures(obj: dict[str, Any], *, defaulted: bool = True) -> list[str]:
    schema = _schema(AGD)
    return _cel_failures(schema, _apply_defaults(schema, obj) if defaulted else obj)


def pydantic_messages(obj: dict[str, Any]) -> list[str]:
    try:
        AgentDeployment.model_validate(obj)
    except ValidationError as exc:
        return [e.message for e in format_validation_error(exc, AgentDeployment)]
    return []


def _agent(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "agentoperator.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "support-bot", "namespace": "agents"},
        "spec": {"container": {"image": "registry.example.com/bot:1"}},
    }
    base["spec"].update(spec)
    return base


def _canary(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return _agent(rollout={"strategy": "Canary", "canary": {"steps": list(steps)}}, **extra)


_SECRET_REF = {"secretKeyRef": {"name": "creds", "key": "token"}}
_EVALUATION = {"image": "registry.example.com/evals:1"}
_ANALYSIS: dict[str, Any] = {
    "prometheus": {"address": "http://prometheus.monitoring:9090"},
    "metrics": [{"name": "errorRate", "max": 0.05}],
}
_PRICE = {"model": "gpt-x", "inputPerMillionTokens": 2.5, "outputPerMillionTokens": 10}

# One object per CEL rule, each breaking exactly that rule: (expected message, object).
BAD_AGENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "metadata.name must be at most 50 characters, so that revision and Service names fit",
        {**_agent(), "metadata": {"name": "a" * 51, "namespace": "agents"}},
    ),
    (
        "metadata.name must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter)",
        {**_agent(), "metadata": {"name": "support.bot", "namespace": "agents"}},
    ),
    (
        "metadata.name must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter)",
        {**_agent(), "metadata": {"name": "1bot", "namespace": "agents"}},
    ),
    (
        "set value or valueFrom, not both",
        _agent(container={"image": "i:1", "env": [{"name": "X", "value": "v", "valueFrom": _SECRET_REF}]}),
    ),
    (
        "credentials must come from a Secret: use valueFrom.secretKeyRef, not a literal value",
        _agent(container={"image": "i:1", "env": [{"name": "OPENAI_API_KEY", "value": "placeholder"}]}),
    ),
    (
        "set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef",
        _agent(
            container={
                "image": "i:1",
                "env": [
                    {
                        "name": "X",
                        "valueFrom": {**_SECRET_REF, "configMapKeyRef": {"name": "c", "key": "k"}},
                    }
                ],
            }
        ),
    ),
    (
        "set exactly one of configMapRef, secretRef",
        _agent(container={"image": "i:1", "envFrom": [{"prefix": "APP_"}]}),
    ),
    (
        "set exactly one of httpGet, tcpSocket, exec, grpc",
        _agent(
            container={
                "image": "i:1",
                "probes": {"readiness": {"httpGet": {"port": 8080}, "tcpSocket": {"port": 8080}}},
            }
        ),
    ),
    (
        "a step sets exactly one of setWeight, pause, evaluate, analyze",
        _canary({"setWeight": 10, "pause": {}}),
    ),
    ("a step sets exactly one of setWeight, pause, evaluate, analyze", _canary({})),
    (
        "setWeight values must not decrease from one step to the next",
        _canary({"setWeight": 50}, {"pause": {}}, {"setWeight": 10}),
    ),
    (
        "canary is only allowed with strategy Canary",
        _agent(rollout={"canary": {"steps": [{"setWeight": 5}]}}),
    ),
    (
        "canary is only allowed with strategy Canary",
        _agent(rollout={"strategy": "Recreate", "canary": {"steps": []}}),
    ),
    ("an evaluate step needs spec.evaluation", _canary({"setWeight": 10}, {"evaluate": {}})),
    (
        CRON_RULE[1],
        _agent(evaluation={"image": "registry.example.com/evals:1", "schedule": "0 9-17 * * 5-1"}),
    ),
    (
        "maxSeconds must be at least initialSeconds",
        _agent(runtime={"retry": {"limit": 3, "backoff": {"initialSeconds": 10, "maxSeconds": 5}}}),
    ),
    (
        # Only maxSeconds set: the rule must use the default initialSeconds (1), as pydantic does.
        "maxSeconds must be at least initialSeconds",
        _agent(runtime={"retry": {"limit": 3, "backoff": {"maxSeconds": 0.5}}}),
    ),
    ("an analyze step needs spec.analysis", _canary({"setWeight": 10}, {"analyze": {}})),
    (
        "set at least one of max, maxIncrease, maxDelta",
        _agent(analysis={**_ANALYSIS, "metrics": [{"name": "errorRate"}]}),
    ),
    (
        "a metric that is not built in needs a query",
        _agent(analysis={**_ANALYSIS, "metrics": [{"name": "refusals", "max": 0.1}]}),
    ),
    (
        "set exactly one of prices, metric",
        _agent(analysis={**_ANALYSIS, "cost": {}}),
    ),
    (
        "set exactly one of prices, metric",
        _agent(analysis={**_ANALYSIS, "cost": {"metric": "spend_total", "prices": [_PRICE]}}),
    ),
    (
        "resource names are cpu, memory, ephemeral-storage, hugepages-SIZE or DOMAIN/NAME",
        _agent(container={"image": "i:1", "resources": {"limits": {"cpus": "1"}}}),
    ),
    (
        REQUESTS_WITHIN_LIMITS,
        _agent(container={"image": "i:1", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}),
    ),
    (
        CIDR_RULE[1],
        _agent(network={"egress": {"allowedCIDRs": ["10.0.0.0/99"]}}),
    ),
    (
        PEER_SHAPE,
        _agent(network={"ingressFrom": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}),
    ),
]

GOOD_AGENTS: list[dict[str, Any]] = [
    _agent(),
    _canary(
        {"setWeight": 10},
        {"pause": {"durationSeconds": 60}},
        {"evaluate": {}},
        {"setWeight": 50},
        {"pause": {}},
        evaluation=_EVALUATION,
    ),
    _agent(rollout={"strategy": "Canary", "canary": {}}),
    _canary(
        {"setWeight": 10},
        {"analyze": {"windowSeconds": 120, "intervalSeconds": 30, "count": 4, "metrics": ["costPerTask"]}},
        analysis={
            "prometheus": {"address": "https://prom:9090", "secretName": "prom-auth"},
            "metrics": [
                {"name": "errorRate", "max": 0.05, "maxDelta": 0.01},
                {"name": "costPerTask", "maxIncrease": 50, "onFailure": "Pause"},
                {"name": "refusals", "max": 0.1, "query": "sum(x{{{selector}}}[{{window}}])"},
            ],
            "cost": {"prices": [_PRICE]},
            "minSamples": 5,
            "onInconclusive": "Fail",
            "background": {"intervalSeconds": 30},
        },
    ),
    _agent(runtime={"retry": {"limit": 3, "backoff": {"initialSeconds": 2}}}),
    _agent(
        container={
            "image": "i:1",
            "env": [
                {"name": "OPENAI_API_KEY", "valueFrom": _SECRET_REF},
                {"name": "MAX_TOKENS", "value": "4096"},
                {"name": "API_TOKEN", "value": ""},
            ],
            "envFrom": [{"secretRef": {"name": "bundle"}}],
            "probes": {"liveness": {"exec": {"command": ["true"]}}},
        }
    ),
]


def _example_agents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "AgentDeployment":
                docs.append(doc)
    return docs


def test_every_cel_rule_has_a_bad_case() -> None:
    messages = {m for crd in CRDS for _, n in _nodes(_schema(crd)) for m in _rule_messages(n)}
    assert messages == {message for message, _ in BAD_AGENTS}


def _rule_messages(node: dict[str, Any]) -> list[str]:
    return [r["message"] for r in node.get("x-kubernetes-validations", [])]


@pytest.mark.parametrize(("message", "obj"), BAD_AGENTS, ids=[m[:40] for m, _ in BAD_AGENTS])
def test_cel_rule_and_pydantic_validator_agree_on_bad_objects(message: str, obj: dict[str, Any]) -> None:
    assert message in pydantic_messages(obj)
    expected = set() if message in APISERVER_ONLY else {message}
    assert set(admission_failures(obj)) == expected
    assert set(admission_failures(obj, defaulted=False)) == expected


@pytest.mark.parametrize("obj", GOOD_AGENTS + _example_agents())
def test_valid_objects_pass_both(obj: dict[str, Any]) -> None:
    assert pydantic_messages(obj) == []
    assert admission_failures(obj) == []
    assert admission_failures(obj, defaulted=False) == []


def test_pydantic_enforces_list_map_uniqueness() -> None:
    dup_port = _agent(
        container={
            "image": "i:1",
            "ports": [{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}],
        }
    )
    dup_secret = _agent(secrets=[{"name": "s"}, {"name": "s"}])
    assert "port names must be unique" in pydantic_messages(dup_port)
    assert "secret names must be unique" in pydantic_messages(dup_secret)


def test_fractional_quantity_must_be_a_string() -> None:
    obj = _agent(container={"image": "i:1", "resources": {"requests": {"cpu": 0.5}}})
    assert any("as a string" in m for m in pydantic_messages(obj))
    ok = _agent(container={"image": "i:1", "resources": {"requests": {"cpu": "500m", "memory": 2}}})
    assert pydantic_messages(ok) == []


def test_readiness_policy_examples_fit_the_schema() -> None:
    schema = _schema(RPOL)
    for path in sorted((EXAMPLES / "policies").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "ReadinessPolicy":
                ReadinessPolicy.model_validate(doc)
                assert _cel_failures(schema, _apply_defaults(schema, copy.deepcopy(doc))) == []


def test_every_integer_is_bounded() -> None:
    """Beyond int64 the apiserver refuses a number; pydantic must refuse it too, so every integer
    declares both bounds (the generator fails otherwise)."""
    for crd in CRDS:
        for path, node in _nodes(_schema(crd)):
            if node.get("type") == "integer":
                assert -(2**53 - 1) <= node["minimum"] <= node["maximum"] <= 2**53 - 1, path
    assert pydantic_messages(_agent(replicas=2**63)) == ["must be between 0 and 2147483647"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("replicas", "4", "must be a whole number"), ("paused", "yes", "must be true or false")],
)
def test_wire_types_are_as_strict_as_the_apiserver(field: str, value: str, message: str) -> None:
    assert message in pydantic_messages(_agent(**{field: value}))
