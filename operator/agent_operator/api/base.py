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
# For int64 fields: the apiserver reads a CRD's bounds as float64, so 2**63 - 1 is not a usable
# maximum; 2**53 - 1 is the largest integer every JSON client keeps exact, and it refuses
# everything beyond int64 (replicas: 9223372036854775808) on both sides.
MIN_SAFE_INTEGER: Final = -(2**53 - 1)
MAX_SAFE_INTEGER: Final = 2**53 - 1


def int_or_string(**validations: Any) -> WithJsonSchema:
    """The CRD form of an int-or-string field. Its value validations (minimum/maximum for the
    number, pattern/maxLength for the string) sit on the node itself, as controller-gen writes
    them for quantities: the apiserver checks them at no CEL cost."""
    return WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            **validations,
        }
    )


# The apiserver's own quantity grammar (as controller-gen emits it), without the minus sign: a
# negative request or limit is never valid. [0-9], not \d: Python's \d also matches other digits.
QUANTITY_PATTERN: Final = (
    r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY = re.compile(QUANTITY_PATTERN)
MAX_QUANTITY_LENGTH: Final = 64
_QUANTITY_MESSAGE = "must be a non-negative Kubernetes quantity such as 500m, 256Mi or 2"


def _check_quantity(value: int | float | str) -> int | float | str:
    if isinstance(value, bool):
        raise ValueError(_QUANTITY_MESSAGE)
    # The CRD types quantities as int-or-string, so the apiserver refuses 0.5: say so offline too.
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"write a fractional quantity as a string such as '{value}' or 500m")
    if isinstance(value, int | float) and not 0 <= value <= MAX_SAFE_INTEGER:
        raise ValueError(_QUANTITY_MESSAGE)
    if isinstance(value, str) and (len(value) > MAX_QUANTITY_LENGTH or not _QUANTITY.match(value)):
        raise ValueError(_QUANTITY_MESSAGE)
    return value


Quantity = Annotated[
    int | float | str,
    AfterValidator(_check_quantity),
    int_or_string(
        minimum=0, maximum=MAX_SAFE_INTEGER, maxLength=MAX_QUANTITY_LENGTH, pattern=QUANTITY_PATTERN
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


PORT_NAME_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_PORT_NAME = re.compile(PORT_NAME_PATTERN)
PORT_MESSAGE: Final = (
    "must be a port number from 1 to 65535 or a port name (at most 15 lower-case letters, digits and '-')"
)


def _check_port(value: int | str) -> int | str:
    if isinstance(value, bool):
        raise ValueError(PORT_MESSAGE)
    if isinstance(value, int) and not 1 <= value <= 65535:
        raise ValueError(PORT_MESSAGE)
    if isinstance(value, str) and (len(value) > 15 or not _PORT_NAME.match(value)):
        raise ValueError(PORT_MESSAGE)
    return value


PortOrName = Annotated[
    int | str,
    AfterValidator(_check_port),
    int_or_string(minimum=1, maximum=65535, maxLength=15, pattern=PORT_NAME_PATTERN),
]
"""A container port: a number from 1 to 65535, or the name of a port of the container."""

LABEL_VALUE_PATTERN: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
LabelValue = Annotated[str, Field(max_length=63, pattern=LABEL_VALUE_PATTERN)]
"""A Kubernetes label value: at most 63 characters, alphanumeric at both ends."""
