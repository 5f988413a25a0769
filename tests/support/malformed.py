"""A generated corpus of malformed AgentDeployments: mutations of the examples, for the agreement
test between ``agentctl validate`` and the apiserver's CRD schema.

Every mutation is applied at every place it fits, walking the examples' specs:

* wrong types (a string where a number is, a list where a mapping is, ...);
* out-of-range numbers: negative, beyond int32, beyond int64, fractional;
* empty and oversized strings;
* an unknown key in every mapping;
* the semantic rules (one broken object per CEL rule, plus requests above limits, ...).

The corpus says nothing about which variants are valid: the test only demands that both sides decide
the same way. ``metadata`` is left alone (it is the apiserver's ObjectMeta, not our schema) except
for the name rules the CRD adds, and so are ``apiVersion`` and ``kind`` (they route the request).
Variants are deduplicated by (where in the spec, which mutation) so the corpus stays a few hundred
objects that each test something different.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_KEY = "unexpectedField"
OVERSIZED = "a" * 300
"""Longer than any DNS name (253) or label value (63) the schema allows."""


@dataclass(frozen=True)
class Variant:
    """One malformed object and how it was made."""

    label: str
    """``<example>: <path> <mutation>``, unique in the corpus."""
    obj: dict[str, Any]


def example_agents() -> list[tuple[str, dict[str, Any]]]:
    """(file stem, object) of every AgentDeployment in examples/*.yaml, sorted by file."""
    found = []
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "AgentDeployment":
                found.append((path.stem, doc))
    return found


Path_ = tuple[str | int, ...]

CRON_CASES = (
    "0 3 * * *",
    "*/15 9-17 * * 1-5",
    "0 0 1,15 * *",
    "05-10 0 * * 7",
    "0  3 * * *",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 13 *",
    "* * * * 8",
    "*/0 * * * *",
    "*/100 * * * *",
    "5-1 * * * *",
    "0 9-17 * * 5-1",
    "1-2,09-08 * * * *",
    "* * * JAN *",
    "* * * * MON",
    "@daily",
    "* * * *",
    "* * * * * *",
    " 0 3 * * *",
    "0 3 * * * ",
    "0\t3 * * *",
    "1,,2 * * * *",
    "? * * * *",
    "0 " * 48 + "*",
)
"""Cron expressions around every rule of the grammar (cron.py): bounds, steps, order, shape."""


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _replaced(obj: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def _mutations(value: Any) -> list[tuple[str, Any]]:
    """(name, replacement) pairs for a value found in an example."""
    if isinstance(value, bool):
        return [("as a string", "true"), ("as a number", 1)]
    if isinstance(value, int):
        return [
            ("as a string", str(value)),
            ("negative", -1),
            ("beyond int32", 2**31),
            ("beyond int64", 2**63),
            ("fractional", 1.5),
        ]
    if isinstance(value, float):
        return [("as a string", str(value)), ("negative", -1.0), ("huge", 2**63), ("as a bool", True)]
    if isinstance(value, str):
        return [("empty", ""), ("oversized", OVERSIZED), ("as a number", 12345), ("as a list", [value])]
    if isinstance(value, list):
        return [("as a mapping", {"item": value[0] if value else 1}), ("as a string", "x")]
    if isinstance(value, Mapping):
        return [("as a list", [dict(value)]), ("as a string", "x"), ("unknown key", None)]
    return []


def _generic_variants(stem: str, agent: dict[str, Any], seen: set[tuple[str, str]]) -> Iterator[Variant]:
    for path, value in _walk(agent["spec"], ("spec",)):
        if path == ("spec",):
            mutations: list[tuple[str, Any]] = [("unknown key", None)]
        else:
            mutations = _mutations(value)
        # Where in the schema, not which list index: "spec.container.env[].name".
        shape = ".".join("[]" if isinstance(p, int) else p for p in path).replace(".[]", "[]")
        for name, replacement in mutations:
            if (shape, name) in seen:
                continue
            seen.add((shape, name))
            if name == "unknown key":
                obj = _replaced(agent, path, {**value, UNKNOWN_KEY: "x"})
            else:
                obj = _replaced(agent, path, replacement)
            yield Variant(f"{stem}: {shape} {name}", obj)


def _spec_patch(agent: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(agent)
    change(out["spec"])
    return out


def _semantic_variants(stem: str, agent: dict[str, Any]) -> Iterator[Variant]:
    """Rules across fields, on a realistic object rather than a minimal one."""
    container = agent["spec"]["container"]

    def resources(requests: dict[str, Any], limits: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        return lambda spec: spec["container"].__setitem__(
            "resources", {"requests": requests, "limits": limits}
        )

    def probe(handler: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        return lambda spec: spec["container"].__setitem__("probes", {"liveness": handler})

    def ingress(peer: Any) -> Callable[[dict[str, Any]], None]:
        return lambda spec: spec.setdefault("network", {}).__setitem__("ingressFrom", [peer])

    def evaluation(**fields: Any) -> Callable[[dict[str, Any]], None]:
        suite = {"image": "registry.example.com/evals@sha256:" + "e" * 64}
        return lambda spec: spec.__setitem__("evaluation", {**spec.get("evaluation", suite), **fields})

    cases: dict[str, Callable[[dict[str, Any]], None]] = {
        **{f"schedule {text!r}": evaluation(schedule=text) for text in CRON_CASES},
        "onRegression unknown": evaluation(onRegression="Page"),
        "onRegression Suspend": evaluation(onRegression="Suspend"),
        "requests above limits": resources({"cpu": "2"}, {"cpu": "1500m"}),
        "requests equal limits": resources(
            {"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1024Mi"}
        ),
        "unknown resource name": resources({"cpus": "1"}, {}),
        "extended resource": resources({"nvidia.com/gpu": 1}, {"nvidia.com/gpu": 1}),
        "negative quantity": resources({"memory": "-1Gi"}, {}),
        "malformed quantity": resources({"memory": "1GB"}, {}),
        "fractional number quantity": resources({"cpu": 0.5}, {}),
        "quantity beyond int64": resources({"memory": 2**63}, {}),
        "empty probe path": probe({"httpGet": {"path": "", "port": 8080}}),
        "probe port zero": probe({"httpGet": {"path": "/healthz", "port": 0}}),
        "probe port beyond 65535": probe({"tcpSocket": {"port": 65536}}),
        "probe port name too long": probe({"tcpSocket": {"port": "a-very-long-port-name"}}),
        "probe port name upper case": probe({"tcpSocket": {"port": "HTTP"}}),
        "probe with two handlers": probe({"tcpSocket": {"port": 1}, "exec": {"command": ["true"]}}),
        "probe without handler": probe({"periodSeconds": 5}),
        "podSelector unknown key": ingress({"podSelector": {"matchLabelz": {"a": "b"}}}),
        "matchLabels number value": ingress({"podSelector": {"matchLabels": {"app": 1}}}),
        "matchLabels bool value": ingress({"podSelector": {"matchLabels": {"app": True}}}),
        "matchLabels bad value": ingress({"podSelector": {"matchLabels": {"app": "-bad-"}}}),
        "matchExpressions bad operator": ingress(
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}}
        ),
        "matchExpressions bad key": ingress(
            {"podSelector": {"matchExpressions": [{"key": "a b", "operator": "Exists"}]}}
        ),
        "peer without selector": ingress({}),
        "peer ipBlock with selector": ingress({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}),
        "peer ipBlock bad cidr": ingress({"ipBlock": {"cidr": "10.0.0.0/40"}}),
        "peer ipBlock": ingress({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}),
        "peer not a mapping": ingress("gateway"),
        "egress domain with scheme": lambda spec: spec.setdefault("network", {}).__setitem__(
            "egress", {"allowedDomains": ["https://api.openai.com"]}
        ),
        "egress cidr prefix too long": lambda spec: spec.setdefault("network", {}).__setitem__(
            "egress", {"allowedCIDRs": ["10.0.0.0/33"]}
        ),
        "egress cidr not an address": lambda spec: spec.setdefault("network", {}).__setitem__(
            "egress", {"allowedCIDRs": ["10.0.0.256/8"]}
        ),
        "rolling surge not a percentage": lambda spec: spec.__setitem__(
            "rollout", {"strategy": "RollingUpdate", "rollingUpdate": {"maxSurge": "25"}}
        ),
        "rolling surge negative": lambda spec: spec.__setitem__(
            "rollout", {"strategy": "RollingUpdate", "rollingUpdate": {"maxUnavailable": -1}}
        ),
        "duplicate port names": lambda spec: spec["container"].__setitem__(
            "ports", [{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]
        ),
        "pod label bad value": lambda spec: spec.setdefault("podTemplate", {}).__setitem__(
            "labels", {"tier": "a b"}
        ),
        "pod label number value": lambda spec: spec.setdefault("podTemplate", {}).__setitem__(
            "labels", {"tier": 3}
        ),
        "literal credential": lambda spec: spec["container"].__setitem__(
            "env", [{"name": "OPENAI_API_KEY", "value": "sk-not-a-real-key"}]
        ),
    }
    if "image" in container:
        for name, change in cases.items():
            yield Variant(f"{stem}: {name}", _spec_patch(agent, change))


def _rule_variants() -> Iterator[Variant]:
    """One object per CEL rule, from the table tests/unit/test_crds.py keeps."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_crd_cases", ROOT / "tests/unit/test_crds.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for index, (message, obj) in enumerate(module.BAD_AGENTS):
        yield Variant(f"rule {index}: {message[:60]}", obj)


def corpus() -> list[Variant]:
    """The whole corpus, deterministic, labels unique."""
    seen: set[tuple[str, str]] = set()
    variants: list[Variant] = []
    for stem, agent in example_agents():
        variants.extend(_generic_variants(stem, agent, seen))
        variants.extend(_semantic_variants(stem, agent))
    variants.extend(_rule_variants())
    labels = [v.label for v in variants]
    assert len(set(labels)) == len(labels), "corpus labels must be unique"
    return variants
