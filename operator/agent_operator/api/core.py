"""The embedded Kubernetes types an AgentDeployment uses, typed tightly enough to validate offline.

They mirror the upstream core/v1 shapes field for field, so what a user copies from a Pod spec works.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .base import (
    INT32_MAX,
    MAX_SAFE_INTEGER,
    ApiModel,
    LabelValue,
    PortOrName,
    Quantity,
    cel,
    cel_rules,
)

# Names whose last segment says "this is a credential" (OPENAI_API_KEY, DB_PASSWORD), but not
# MAX_TOKENS or SECRET_NAME: a literal value there is refused by the schema itself.
CREDENTIAL_NAME = (
    r"(?i)^(.*[_-])?(api[_-]?key|secret|secret[_-]?key|token|access[_-]?token|auth[_-]?token"
    r"|password|passwd|private[_-]?key|client[_-]?secret)$"
)
MAX_ENV_NAME_LENGTH = 256
MAX_ENV_VARS = 1000


class SecretKeySelector(ApiModel):
    """A key of a Secret in the agent's namespace."""

    name: str = Field(min_length=1)
    """Name of the Secret."""
    key: str = Field(min_length=1)
    """Key within the Secret."""
    optional: bool | None = None
    """Start even when the Secret or key is missing (not recommended for credentials)."""


class ConfigMapKeySelector(ApiModel):
    """A key of a ConfigMap in the agent's namespace."""

    name: str = Field(min_length=1)
    """Name of the ConfigMap."""
    key: str = Field(min_length=1)
    """Key within the ConfigMap."""
    optional: bool | None = None
    """Start even when the ConfigMap or key is missing."""


class ObjectFieldSelector(ApiModel):
    """A field of the pod, for the downward API."""

    field_path: str
    """Path of the field, for example metadata.name."""
    api_version: str | None = None
    """API version the path is written in."""


class ResourceFieldSelector(ApiModel):
    """A resource request or limit of a container, for the downward API."""

    resource: str
    """Resource name, for example limits.memory."""
    container_name: str | None = None
    """Container whose resources are read."""
    divisor: Quantity | None = None
    """Unit to express the value in."""


class EnvVarSource(ApiModel):
    """Where an environment variable's value comes from."""

    model_config = cel_rules(
        (
            "[has(self.secretKeyRef), has(self.configMapKeyRef), has(self.fieldRef),"
            " has(self.resourceFieldRef)].filter(x, x).size() == 1",
            "set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef",
        ),
    )

    secret_key_ref: SecretKeySelector | None = None
    """A key of a Secret: the place for credentials."""
    config_map_key_ref: ConfigMapKeySelector | None = None
    """A key of a ConfigMap."""
    field_ref: ObjectFieldSelector | None = None
    """A field of the pod."""
    resource_field_ref: ResourceFieldSelector | None = None
    """A resource of the container."""

    @model_validator(mode="after")
    def _exactly_one(self) -> EnvVarSource:
        chosen = [
            f
            for f in ("secret_key_ref", "config_map_key_ref", "field_ref", "resource_field_ref")
            if getattr(self, f) is not None
        ]
        if len(chosen) != 1:
            raise ValueError("set exactly one of secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef")
        return self


class EnvVar(ApiModel):
    """An environment variable of the agent container."""

    model_config = cel_rules(
        ("!(has(self.value) && has(self.valueFrom))", "set value or valueFrom, not both"),
        (
            f"!(has(self.value) && size(self.value) > 0 && self.name.matches('{CREDENTIAL_NAME}'))",
            "credentials must come from a Secret: use valueFrom.secretKeyRef, not a literal value",
        ),
    )

    # The bound keeps the CEL regex rule below within the apiserver's cost budget.
    name: str = Field(min_length=1, max_length=MAX_ENV_NAME_LENGTH, pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
    """Variable name."""
    value: str | None = None
    """Literal value. Never put credentials here: use valueFrom.secretKeyRef."""
    value_from: EnvVarSource | None = None
    """Source of the value."""

    @model_validator(mode="after")
    def _value_or_source(self) -> EnvVar:
        if self.value is not None and self.value_from is not None:
            raise ValueError("set value or valueFrom, not both")
        if self.value and re.fullmatch(CREDENTIAL_NAME, self.name):
            raise ValueError(
                "credentials must come from a Secret: use valueFrom.secretKeyRef, not a literal value"
            )
        return self


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace."""

    name: str = Field(min_length=1)
    """Name of the object."""
    optional: bool | None = None
    """Start even when the object is missing."""


class EnvFromSource(ApiModel):
    """A ConfigMap or Secret whose keys all become environment variables."""

    model_config = cel_rules(
        ("has(self.configMapRef) != has(self.secretRef)", "set exactly one of configMapRef, secretRef"),
    )

    prefix: str | None = None
    """Prefix added to every variable name."""
    config_map_ref: LocalObjectReference | None = None
    """The ConfigMap to read."""
    secret_ref: LocalObjectReference | None = None
    """The Secret to read."""

    @model_validator(mode="after")
    def _exactly_one(self) -> EnvFromSource:
        if (self.config_map_ref is None) == (self.secret_ref is None):
            raise ValueError("set exactly one of configMapRef, secretRef")
        return self


class ContainerPort(ApiModel):
    """A port the agent listens on."""

    name: str = Field(min_length=1, max_length=15, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Port name (an IANA service name); Services and probes refer to it."""
    container_port: int = Field(ge=1, le=65535)
    """Port number."""
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    """Protocol, TCP by default."""


# Standard compute resources, hugepages, and extended resources (a domain-qualified name such as
# nvidia.com/gpu). Anything else is a typo the apiserver would refuse on the Deployment.
RESOURCE_NAME = (
    r"^(cpu|memory|ephemeral-storage|hugepages-[-a-zA-Z0-9]+|[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[-._a-zA-Z0-9]+)$"
)
MAX_RESOURCES = 8
_RESOURCE_NAME = re.compile(RESOURCE_NAME)
_RESOURCE_NAME_MESSAGE = "resource names are cpu, memory, ephemeral-storage, hugepages-SIZE or DOMAIN/NAME"
_RESOURCE_LIST = cel(f"self.all(k, k.matches('{RESOURCE_NAME}'))", _RESOURCE_NAME_MESSAGE)
REQUESTS_WITHIN_LIMITS = "every request must be at most its limit"


class ResourceRequirements(ApiModel):
    """Compute resources of the agent container."""

    model_config = cel_rules(
        (
            "!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits)"
            " || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)",
            REQUESTS_WITHIN_LIMITS,
        ),
    )

    requests: dict[str, Quantity] | None = Field(
        default=None, max_length=MAX_RESOURCES, json_schema_extra=_RESOURCE_LIST
    )
    """Resources the scheduler reserves, for example cpu: 250m, memory: 256Mi."""
    limits: dict[str, Quantity] | None = Field(
        default=None, max_length=MAX_RESOURCES, json_schema_extra=_RESOURCE_LIST
    )
    """Hard caps the kubelet enforces."""

    @field_validator("requests", "limits")
    @classmethod
    def _known_names(cls, resources: dict[str, Quantity] | None) -> dict[str, Quantity] | None:
        if any(not _RESOURCE_NAME.match(name) for name in resources or {}):
            raise ValueError(_RESOURCE_NAME_MESSAGE)
        return resources

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourceRequirements:
        from kubernetes.utils import parse_quantity

        limits = self.limits or {}
        for name, request in (self.requests or {}).items():
            if name in limits and parse_quantity(request) > parse_quantity(limits[name]):  # type: ignore[no-untyped-call]
                raise ValueError(REQUESTS_WITHIN_LIMITS)
        return self


class HTTPHeader(ApiModel):
    """A header sent with an HTTP probe."""

    name: str
    """Header name."""
    value: str
    """Header value."""


class HTTPGetAction(ApiModel):
    """An HTTP GET probe."""

    path: str | None = Field(default=None, min_length=1)
    """Path to request, for example /healthz."""
    port: PortOrName
    """Port number or name."""
    host: str | None = None
    """Host to connect to; the pod IP by default."""
    scheme: Literal["HTTP", "HTTPS"] | None = None
    """Scheme, HTTP by default."""
    http_headers: list[HTTPHeader] | None = None
    """Extra request headers."""


class TCPSocketAction(ApiModel):
    """A TCP connect probe."""

    port: PortOrName
    """Port number or name."""
    host: str | None = None
    """Host to connect to; the pod IP by default."""


class ExecAction(ApiModel):
    """A command run inside the container."""

    command: list[str] = Field(min_length=1)
    """Command and arguments; exit status 0 is healthy."""


class GRPCAction(ApiModel):
    """A gRPC health check."""

    port: int = Field(ge=1, le=65535)
    """Port number."""
    service: str | None = None
    """Service name in the gRPC health protocol."""


class Probe(ApiModel):
    """A Kubernetes probe: exactly one of httpGet, tcpSocket, exec, grpc, plus its timing."""

    model_config = cel_rules(
        (
            "[has(self.httpGet), has(self.tcpSocket), has(self.exec), has(self.grpc)]"
            ".filter(x, x).size() == 1",
            "set exactly one of httpGet, tcpSocket, exec, grpc",
        ),
    )

    http_get: HTTPGetAction | None = None
    """HTTP GET probe."""
    tcp_socket: TCPSocketAction | None = None
    """TCP connect probe."""
    exec: ExecAction | None = None
    """Command probe."""
    grpc: GRPCAction | None = None
    """gRPC health probe."""
    initial_delay_seconds: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """Seconds after start before the first probe."""
    period_seconds: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Seconds between probes."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Seconds before a probe times out."""
    success_threshold: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Consecutive successes to count as healthy."""
    failure_threshold: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Consecutive failures to count as unhealthy."""
    termination_grace_period_seconds: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    """Grace period when this probe's failure kills the container."""

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [self.http_get, self.tcp_socket, self.exec, self.grpc]
        if sum(h is not None for h in handlers) != 1:
            raise ValueError("set exactly one of httpGet, tcpSocket, exec, grpc")
        return self


class NetworkPolicyPort(ApiModel):
    """A port (or port range) of a network peer."""

    port: PortOrName | None = None
    """Port number or name; every port when unset."""
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    """Protocol, TCP by default."""
    end_port: int | None = Field(default=None, ge=1, le=65535)
    """Last port of a range starting at port."""


# A qualified name: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
MAX_SELECTOR_LABELS = 64
MAX_SELECTOR_VALUES = 64


class LabelSelectorRequirement(ApiModel):
    """One expression of a label selector."""

    key: str = Field(min_length=1, max_length=317, pattern=LABEL_KEY_PATTERN)
    """Label key."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """How the key relates to the values."""
    values: list[LabelValue] | None = Field(default=None, max_length=MAX_SELECTOR_VALUES)
    """Values for In and NotIn."""


class LabelSelector(ApiModel):
    """A Kubernetes label selector; an empty selector matches everything."""

    match_labels: dict[str, LabelValue] | None = Field(default=None, max_length=MAX_SELECTOR_LABELS)
    """Labels that must all be present with these values."""
    match_expressions: list[LabelSelectorRequirement] | None = Field(
        default=None, max_length=MAX_SELECTOR_LABELS
    )
    """Expressions that must all hold."""


CIDR_PATTERN = r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"
CIDR_RULE = ("isCIDR(self)", "must be a CIDR such as 10.0.0.0/8")
# 43 characters hold the longest IPv6 CIDR; the bound (with the lists' maxItems) keeps isCIDR()
# within the apiserver's CEL cost budget.
Cidr = Annotated[str, Field(max_length=43, pattern=CIDR_PATTERN, json_schema_extra=cel(*CIDR_RULE))]
MAX_CIDRS = 32
"""An IP range in CIDR notation."""


def check_cidr(value: str) -> str:
    """``value`` when it is a CIDR; the twin of CIDR_RULE (the pattern is checked first)."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(CIDR_RULE[1]) from exc
    return value


class IPBlock(ApiModel):
    """An IP range, minus some sub-ranges."""

    cidr: Cidr
    """The range."""
    except_: list[Cidr] | None = Field(default=None, alias="except", max_length=MAX_CIDRS)
    """Sub-ranges left out."""

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return check_cidr(value)

    @field_validator("except_")
    @classmethod
    def _excepts(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            check_cidr(value)
        return values


PEER_SHAPE = "set ipBlock alone, or podSelector and/or namespaceSelector"


class NetworkPolicyPeer(ApiModel):
    """Who may reach the agent: pods chosen by labels (in namespaces chosen by labels), or an IP range."""

    model_config = cel_rules(
        (
            "has(self.ipBlock) ? !(has(self.podSelector) || has(self.namespaceSelector))"
            " : (has(self.podSelector) || has(self.namespaceSelector))",
            PEER_SHAPE,
        ),
    )

    pod_selector: LabelSelector | None = None
    """Pods allowed, in the agent's namespace unless namespaceSelector is set."""
    namespace_selector: LabelSelector | None = None
    """Namespaces whose pods are allowed."""
    ip_block: IPBlock | None = None
    """An IP range allowed."""

    @model_validator(mode="after")
    def _one_shape(self) -> NetworkPolicyPeer:
        selectors = self.pod_selector is not None or self.namespace_selector is not None
        if (self.ip_block is not None) == selectors:
            raise ValueError(PEER_SHAPE)
        return self
