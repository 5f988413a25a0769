"""Shared pydantic configuration and the few Kubernetes-flavoured scalar types.

Every model in the API inherits :class:`ApiModel`, so the wire format is camelCase,
unknown fields are errors, and field docstrings become CRD descriptions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every API type: camelCase aliases, no unknown fields, immutable values."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=False,
        # No lax coercion ("4" for 4, "yes" for true): the apiserver's schema refuses those, and
        # what agentctl validate accepts must be what the cluster admits.
        strict=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as it is written to Kubernetes: camelCase keys, unset fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$")


def _check_quantity(value: int | float | str) -> int | float | str:
    if isinstance(value, bool):
        raise ValueError("must be a Kubernetes quantity such as 500m, 256Mi or 2")
    # The CRD types quantities as int-or-string, so the apiserver refuses 0.5: say so offline too.
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"write a fractional quantity as a string such as '{value}' or 500m")
    if isinstance(value, str) and not _QUANTITY.match(value):
        raise ValueError(f"must be a Kubernetes quantity such as 500m, 256Mi or 2, not {value!r}")
    return value


Quantity = Annotated[
    int | float | str,
    AfterValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        }
    ),
]
"""A Kubernetes resource quantity (``500m``, ``256Mi``, ``2``)."""

IntOrString = Annotated[
    int | str,
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}),
]
"""A port number or a port name, as Kubernetes accepts for probes and network policies."""

FreeForm = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""An embedded Kubernetes object passed through as is (affinity, volumes, peers…)."""

FreeFormList = Annotated[
    list[dict[str, Any]],
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }
    ),
]
"""A list of embedded Kubernetes objects passed through as is."""


def cel_rules(*rules: tuple[str, str]) -> ConfigDict:
    """Model config carrying CRD ``x-kubernetes-validations`` as (rule, message) pairs.

    The apiserver enforces these; the matching pydantic validators enforce the same
    thing offline, and an integration test checks the two agree.
    """
    return ConfigDict(
        json_schema_extra={"x-kubernetes-validations": [{"rule": r, "message": m} for r, m in rules]}
    )


def list_map(*keys: str) -> dict[str, Any]:
    """Field ``json_schema_extra`` making a CRD list a map keyed by ``keys`` (each a required field
    of the items): the apiserver rejects duplicate keys and server-side apply merges per item."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}
