"""CustomResourceDefinitions generated from the pydantic models.

The models are the single source of truth: their JSON schema is rewritten into the structural
``openAPIV3Schema`` the apiserver demands, and the CRD metadata (names, subresources, printer
columns) is declared here. ``make crds`` writes the result to ``crds/`` and a unit test fails when
the committed files drift.

Schema conversion rules, and why:

* ``$ref``/``$defs`` are inlined and ``Optional[X]`` becomes ``X`` (not required): structural
  schemas allow neither references nor ``anyOf`` except the int-or-string form.
* ``default`` is emitted only for scalar leaves (strings, numbers, booleans, int-or-string), where it
  equals the pydantic default. The apiserver persists defaults, so an object read back from the
  cluster parses to the same model values as the file CI validated, and ``kubectl get`` shows the
  effective value. Objects and lists never get a default: that would materialise whole sub-trees
  (and their own defaults) the user never asked for, and freeze them into etcd.
* ``title`` and ``additionalProperties: false`` are dropped (the apiserver prunes unknown fields
  and ``kubectl`` rejects them with strict field validation).
* Every integer carries both bounds, declared on the model (``ge``/``le``), else generation fails:
  the apiserver refuses integers beyond int64 and pydantic must refuse the same.
* ``x-kubernetes-validations`` from ``cel_rules`` and field-level ``json_schema_extra`` stay on the
  node they were declared on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel

from .agent import GROUP, VERSION, AgentDeployment, AgentDeploymentSpec, AgentDeploymentStatus
from .policy import ReadinessPolicy, ReadinessPolicySpec

_INT32_MAX: Final = 2**31 - 1
_INT32_MIN: Final = -(2**31)
_INT_OR_STRING: Final = [{"type": "integer"}, {"type": "string"}]

# Keys that carry no meaning for the apiserver, or that structural schemas forbid.
_DROPPED: Final = frozenset({"title", "$defs", "examples"})
# Validation keywords copied as they are.
_KEPT: Final = (
    "description",
    "type",
    "format",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
)

_HEADER: Final = (
    "# Generated from the pydantic models in operator/agent_operator/api by `make crds`.\n"
    "# Do not edit by hand: change the models and regenerate.\n"
)


class UnsupportedSchemaError(ValueError):
    """A model uses a shape that has no structural CRD equivalent (for example a free union)."""


class _Converter:
    """Rewrites one model's JSON schema into a structural schema, resolving its ``$defs``."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self._defs = defs

    def convert(self, node: Mapping[str, Any], where: str) -> dict[str, Any]:
        node = self._flatten(node, where)
        out: dict[str, Any] = {}
        extra = set(node) - set(_KEPT) - _DROPPED
        extra -= {"const", "default", "properties", "required", "items", "additionalProperties", "anyOf"}
        extra -= {"x-kubernetes-validations", "exclusiveMinimum", "exclusiveMaximum"}
        if extra:
            raise UnsupportedSchemaError(f"{where}: unsupported JSON schema keys {sorted(extra)}")
        for key in _KEPT:
            if key in node:
                out[key] = node[key]
        # JSON Schema's numeric exclusive bounds are OpenAPI 3.0 booleans next to minimum/maximum.
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if exclusive in node:
                out[bound] = node[exclusive]
                out[exclusive] = True
        if "const" in node:
            out["enum"] = [node["const"]]
        if node.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [dict(t) for t in _INT_OR_STRING]
        elif "anyOf" in node:
            raise UnsupportedSchemaError(f"{where}: a union that is not int-or-string has no structural form")
        if out.get("type") == "integer":
            if "minimum" not in out or "maximum" not in out:
                # Unbounded, pydantic takes any Python int and the apiserver only int64: the two
                # would disagree on huge numbers. Declare ge/le (INT32_* or *_SAFE_INTEGER in base.py).
                raise UnsupportedSchemaError(f"{where}: an integer needs both bounds (ge and le)")
            out.setdefault("format", _integer_format(node))
        if "properties" in node:
            out["properties"] = {
                name: self.convert(sub, f"{where}.{name}") for name, sub in node["properties"].items()
            }
            if node.get("required"):
                out["required"] = list(node["required"])
        if "items" in node:
            out["items"] = self.convert(node["items"], f"{where}[]")
        additional = node.get("additionalProperties")
        if isinstance(additional, Mapping):
            out["additionalProperties"] = self.convert(additional, f"{where}.*")
        default = node.get("default")
        if default is not None and not isinstance(default, dict | list):
            out["default"] = default
        rules = node.get("x-kubernetes-validations")
        if rules:
            out["x-kubernetes-validations"] = [{"rule": r["rule"], "message": r["message"]} for r in rules]
        return out

    def _flatten(self, node: Mapping[str, Any], where: str) -> dict[str, Any]:
        """``node`` with its ``$ref`` inlined and ``Optional`` removed; the field's own keys
        (description, default, rules) win over the referenced model's, and rules accumulate."""
        result = dict(node)
        if "$ref" in result:
            target = self._resolve(result.pop("$ref"), where)
            result = _merge(self._flatten(target, where), result)
        if "anyOf" in result and not result.get("x-kubernetes-int-or-string"):
            variants = [v for v in result["anyOf"] if v != {"type": "null"}]
            if len(variants) == 1:
                del result["anyOf"]
                result = _merge(self._flatten(variants[0], where), result)
        return result

    def _resolve(self, ref: str, where: str) -> Mapping[str, Any]:
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self._defs:
            raise UnsupportedSchemaError(f"{where}: cannot resolve {ref}")
        target: Mapping[str, Any] = self._defs[ref[len(prefix) :]]
        return target


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **override}
    rules = [*base.get("x-kubernetes-validations", []), *override.get("x-kubernetes-validations", [])]
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _integer_format(node: Mapping[str, Any]) -> str:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is not None and high is not None and low >= _INT32_MIN and high <= _INT32_MAX:
        return "int32"
    return "int64"


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _Converter(raw.get("$defs", {})).convert(raw, model.__name__)


def _root_schema(
    resource: type[BaseModel], spec: type[BaseModel], status: type[BaseModel] | None
) -> dict[str, Any]:
    """The object schema: apiVersion/kind/metadata are the apiserver's, spec and status are ours."""
    resource_schema = resource.model_json_schema(by_alias=True, mode="validation")
    fields = resource_schema["properties"]
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string", "description": _api_version_doc()},
        "kind": {"type": "string", "description": _kind_doc()},
        "metadata": {"type": "object"},
        "spec": {**_model_schema(spec), "description": fields["spec"]["description"]},
    }
    if status is not None:
        properties["status"] = {**_model_schema(status), "description": fields["status"]["description"]}
    root: dict[str, Any] = {
        "type": "object",
        "description": resource_schema["description"],
        "properties": properties,
        "required": ["spec"],
    }
    rules = resource_schema.get("x-kubernetes-validations")
    if rules:
        root["x-kubernetes-validations"] = [{"rule": r["rule"], "message": r["message"]} for r in rules]
    return root


def _api_version_doc() -> str:
    return "Versioned schema of this representation of the object."


def _kind_doc() -> str:
    return "REST resource this object represents."


def _crd(
    *,
    kind: str,
    plural: str,
    singular: str,
    short_names: list[str],
    scope: str,
    schema: dict[str, Any],
    columns: list[dict[str, Any]],
    subresources: dict[str, Any],
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "agent-operator"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": short_names,
                "categories": ["agents"],
            },
            "scope": scope,
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": subresources,
                    "additionalPrinterColumns": columns,
                }
            ],
        },
    }


def _column(name: str, path: str, type_: str, description: str, priority: int = 0) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "type": type_, "jsonPath": path, "description": description}
    if priority:
        column["priority"] = priority
    return column


_AGE: Final = _column("Age", ".metadata.creationTimestamp", "date", "Time since the object was created.")


def agent_deployment_crd() -> dict[str, Any]:
    """The AgentDeployment CRD: namespaced, with status and scale subresources."""
    return _crd(
        kind="AgentDeployment",
        plural="agentdeployments",
        singular="agentdeployment",
        short_names=["agd"],
        scope="Namespaced",
        schema=_root_schema(AgentDeployment, AgentDeploymentSpec, AgentDeploymentStatus),
        subresources={
            "status": {},
            "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        },
        columns=[
            _column("Phase", ".status.phase", "string", "Lifecycle phase."),
            _column(
                "Ready",
                '.status.conditions[?(@.type=="Ready")].status',
                "string",
                "Whether the desired revision is fully available.",
            ),
            _column("Stable", ".status.stableRevision", "string", "Revision serving as stable."),
            _column("Canary", ".status.canaryRevision", "string", "Revision being rolled out."),
            _column("Weight", ".status.actualWeight", "integer", "Canary share of ready pods, in percent."),
            _column(
                "Desired",
                ".status.desiredWeight",
                "integer",
                "Canary weight the current step asks for.",
                priority=1,
            ),
            _column("Score", ".status.readiness.score", "integer", "Readiness score.", priority=1),
            _AGE,
        ],
    )


def readiness_policy_crd() -> dict[str, Any]:
    """The ReadinessPolicy CRD: cluster-scoped, spec only."""
    return _crd(
        kind="ReadinessPolicy",
        plural="readinesspolicies",
        singular="readinesspolicy",
        short_names=["rpol"],
        scope="Cluster",
        schema=_root_schema(ReadinessPolicy, ReadinessPolicySpec, None),
        subresources={},
        columns=[
            _column("Enforcement", ".spec.enforcement", "string", "What happens to non-compliant agents."),
            _column("Priority", ".spec.priority", "integer", "Highest priority wins among matches."),
            _AGE,
        ],
    )


def custom_resource_definitions() -> list[dict[str, Any]]:
    """Every CRD of the operator, AgentDeployment first. Deterministic."""
    return [agent_deployment_crd(), readiness_policy_crd()]


def crd_file_name(crd: Mapping[str, Any]) -> str:
    """``<plural>.<group>.yaml``, the file a CRD is written to."""
    return f"{crd['metadata']['name']}.yaml"


class _PlainDumper(yaml.SafeDumper):
    """Never writes anchors and aliases: models share enum lists, the file should not show it."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def crd_yaml(crd: Mapping[str, Any]) -> str:
    """One CRD as a YAML document with the generated-file header. Byte-stable for equal input."""
    body = yaml.dump(
        dict(crd),
        Dumper=_PlainDumper,
        sort_keys=True,
        default_flow_style=False,
        width=100,
        allow_unicode=True,
    )
    return _HEADER + body


def write_crds(directory: Path) -> list[Path]:
    """Writes every CRD to ``directory`` (created if missing) and returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for crd in custom_resource_definitions():
        path = directory / crd_file_name(crd)
        path.write_text(crd_yaml(crd), encoding="utf-8")
        written.append(path)
    return written
