"""Shared pydantic configuration and the few Kubernetes-flavoured scalar types.

Every model in the API inherits :class:`ApiModel`, so the wire format is camelCase,
unknown fields are errors, and field docstrings become CRD descriptions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
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


# Integer bounds. Every integer field of the API declares both bounds, and the CRD generator
# refuses one that does not, so the apiserver and pydantic refuse the same out-of-range numbers.
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$")
# CEL twin of _check_quantity, on the CRD node of every quantity.
QUANTITY_RULE: Final = (
    "type(self) == int ? self >= 0 : (isQuantity(self) && !self.startsWith('-'))",
    "must be a non-negative Kubernetes quantity such as 500m, 256Mi or 2",
)


def _check_quantity(value: int | float | str) -> int | float | str:
    if isinstance(value, bool):
        raise ValueError("must be a Kubernetes quantity such as 500m, 256Mi or 2")
    if isinstance(value, int) and not 0 <= value <= INT64_MAX:
        raise ValueError("must be a non-negative Kubernetes quantity such as 500m, 256Mi or 2")
    if isinstance(value, str) and value.startswith("-"):
        raise ValueError("must be a non-negative Kubernetes quantity such as 500m, 256Mi or 2")
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
            "x-kubernetes-validations": [{"rule": QUANTITY_RULE[0], "message": QUANTITY_RULE[1]}],
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


def cel(rule: str, message: str) -> dict[str, Any]:
    """Field ``json_schema_extra`` carrying one CRD ``x-kubernetes-validations`` rule, for a rule
    that a pydantic validator on the same field enforces offline."""
    return {"x-kubernetes-validations": [{"rule": rule, "message": message}]}


_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
PORT_RULE: Final = (
    "type(self) == int ? (self >= 1 && self <= 65535)"
    " : (size(self) <= 15 && self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'))",
    "must be a port number from 1 to 65535 or a port name (at most 15 lower-case letters, digits and '-')",
)


def _check_port(value: int | str) -> int | str:
    if isinstance(value, bool):
        raise ValueError(PORT_RULE[1])
    if isinstance(value, int) and not 1 <= value <= 65535:
        raise ValueError(PORT_RULE[1])
    if isinstance(value, str) and (len(value) > 15 or not _PORT_NAME.match(value)):
        raise ValueError(PORT_RULE[1])
    return value


PortOrName = Annotated[
    int | str,
    AfterValidator(_check_port),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "x-kubernetes-validations": [{"rule": PORT_RULE[0], "message": PORT_RULE[1]}],
        }
    ),
]
"""A container port: a number from 1 to 65535, or the name of a port of the container."""

LABEL_VALUE_PATTERN: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LabelValue = Annotated[str, Field(max_length=63, pattern=LABEL_VALUE_PATTERN)]
"""A Kubernetes label value: at most 63 characters, alphanumeric at both ends."""
