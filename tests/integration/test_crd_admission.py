"""The generated CRDs on a real kube-apiserver: accepted (CEL compiles within its cost budget),
valid AgentDeployments admitted and defaulted to what pydantic reads, and every CEL rule
rejecting the object that breaks it, with its message.

The cases are the ones tests/unit/test_crds.py checks offline against pydantic, so a rule that the
apiserver and ``agentctl validate`` disagree on fails one of the two files.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from agent_operator.api import AgentDeployment
from agent_operator.api.crd import custom_resource_definitions
from tests.support.wait import conditions_of, wait_for_condition

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
FIELD_MANAGER = "agent-operator-crd-tests"


def _load_cases() -> ModuleType:
    # The unit test module owns the case table; load it by path (tests/ is not a package).
    spec = importlib.util.spec_from_file_location("_crd_unit_cases", ROOT / "tests/unit/test_crds.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _load_cases()


@pytest.fixture(scope="module")
def crds(apiextensions_v1: client.ApiextensionsV1Api) -> list[dict[str, Any]]:
    """The generated CRDs, server-side applied as `make deploy` would; kept for later tests."""
    generated = custom_resource_definitions()
    for crd in generated:
        apiextensions_v1.patch_custom_resource_definition(
            crd["metadata"]["name"],
            crd,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
    for crd in generated:
        name = crd["metadata"]["name"]
        served = wait_for_condition(
            lambda name=name: apiextensions_v1.read_custom_resource_definition(name),
            "Established",
            what=f"CRD {name}",
            timeout=60,
        )
        assert "NonStructuralSchema" not in conditions_of(served)
    return generated


@pytest.fixture
def api(api_client: client.ApiClient, crds: list[dict[str, Any]]) -> client.ApiClient:
    return api_client


def _create(api: client.ApiClient, namespace: str, obj: dict[str, Any], *, dry_run: bool = True) -> Any:
    body = json.loads(json.dumps(obj))
    body["metadata"] = {**body["metadata"], "namespace": namespace}
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body, dry_run="All" if dry_run else None
    )


def _rejection(api: client.ApiClient, namespace: str, obj: dict[str, Any]) -> str:
    with pytest.raises(ApiException) as caught:
        _create(api, namespace, obj)
    assert caught.value.status == 422, caught.value.body
    return str(caught.value.body)


def _example_agents() -> list[dict[str, Any]]:
    return list(CASES._example_agents())


def test_crds_are_established_with_their_columns(api: client.ApiClient, crds: list[dict[str, Any]]) -> None:
    served = client.ApiextensionsV1Api(api).read_custom_resource_definition(crds[0]["metadata"]["name"])
    (version,) = served.spec.versions
    assert [c.name for c in version.additional_printer_columns][:5] == [
        "Phase",
        "Ready",
        "Stable",
        "Canary",
        "Weight",
    ]
    assert served.spec.names.short_names == ["agd"]


@pytest.mark.parametrize("index", range(len(CASES.GOOD_AGENTS) + len(_example_agents())))
def test_valid_agents_are_admitted(api: client.ApiClient, namespace: str, index: int) -> None:
    obj = [*CASES.GOOD_AGENTS, *_example_agents()][index]
    _create(api, namespace, obj)


def test_stored_object_reads_back_as_the_same_model(api: client.ApiClient, namespace: str) -> None:
    """Schema defaults are applied by the apiserver; they must equal the pydantic defaults."""
    original = CASES._canary(
        {"setWeight": 10},
        {"evaluate": {}},
        evaluation={"image": "registry.example.com/evals:1"},
        runtime={"retry": {"limit": 2, "backoff": {}}, "budget": {"dailyUSD": 5}},
        observability={"metrics": {}, "logs": {}, "tracing": {"otlpEndpoint": "http://otel:4317"}},
    )
    stored = _create(api, namespace, original, dry_run=False)
    assert stored["spec"]["environment"] == "production"
    assert stored["spec"]["replicas"] == 1
    assert stored["spec"]["runtime"]["retry"]["backoff"] == {
        "initialSeconds": 1,
        "maxSeconds": 30,
        "jitter": True,
    }
    expected = AgentDeployment.model_validate({**original, "metadata": stored["metadata"]})
    assert AgentDeployment.model_validate(stored) == expected


def test_scale_subresource(api: client.ApiClient, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    _create(api, namespace, CASES._agent(replicas=2), dry_run=False)
    scale = custom.get_namespaced_custom_object_scale(GROUP, VERSION, namespace, PLURAL, "support-bot")
    assert scale["spec"]["replicas"] == 2
    custom.patch_namespaced_custom_object_scale(
        GROUP, VERSION, namespace, PLURAL, "support-bot", {"spec": {"replicas": 5}}
    )
    agent = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "support-bot")
    assert agent["spec"]["replicas"] == 5


@pytest.mark.parametrize(("message", "obj"), CASES.BAD_AGENTS, ids=[m[:40] for m, _ in CASES.BAD_AGENTS])
def test_cel_rule_rejects_with_its_message(
    api: client.ApiClient, namespace: str, message: str, obj: dict[str, Any]
) -> None:
    assert message in _rejection(api, namespace, obj)


def test_duplicate_list_map_keys_are_rejected(api: client.ApiClient, namespace: str) -> None:
    obj = CASES._agent(secrets=[{"name": "s"}, {"name": "s"}])
    assert "Duplicate value" in _rejection(api, namespace, obj)


def test_unknown_fields_are_pruned(api: client.ApiClient, namespace: str) -> None:
    obj = CASES._agent(replicaz=3)
    stored = _create(api, namespace, obj)
    assert "replicaz" not in stored["spec"]


def test_readiness_policy_examples_are_admitted(api: client.ApiClient, crds: list[dict[str, Any]]) -> None:
    custom = client.CustomObjectsApi(api)
    for path in sorted((ROOT / "examples/policies").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "ReadinessPolicy":
                custom.create_cluster_custom_object(GROUP, VERSION, "readinesspolicies", doc, dry_run="All")
