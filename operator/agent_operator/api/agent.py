"""The AgentDeployment resource: one AI agent, its guardrails and how it ships."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..cron import CRON_PATTERN, CRON_RULE, MAX_CRON_LENGTH, BackwardsRangeError, CronError, check_cron
from .analysis import Analysis, AnalysisRunStatus, AnalyzeStep, check_analysis_references
from .base import (
    INT32_MAX,
    INT32_MIN,
    MAX_SAFE_INTEGER,
    MIN_SAFE_INTEGER,
    ApiModel,
    FreeForm,
    FreeFormList,
    LabelValue,
    PortOrName,
    cel_rules,
    int_or_string,
    list_map,
)
from .budget import BudgetStatus, OnUnknown, check_timezone
from .core import (
    MAX_CIDRS,
    MAX_ENV_VARS,
    Cidr,
    ContainerPort,
    EnvFromSource,
    EnvVar,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    Probe,
    ResourceRequirements,
    SecretKeySelector,
    check_cidr,
)
from .meta import Condition, ObjectMeta
from .scheduled import ScheduledEvaluationStatus

GROUP: Final = "agentoperator.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "agentoperator.dev/v1alpha1"

Environment = Literal["production", "staging", "development"]
SecurityLevel = Literal["low", "medium", "high", "critical"]
Phase = Literal["Pending", "Progressing", "Available", "Degraded", "Paused", "Suspended", "Blocked", "Failed"]

# Room for "-" + a 10-character revision hash and for "-stable"/"-canary" in a 63-character
# DNS-1035 Service name.
MAX_NAME_LENGTH = 50
_DNS1035_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$"
_DNS1035 = re.compile(_DNS1035_PATTERN)
_DOMAIN_PATTERN = r"^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$"
Domain = Annotated[str, Field(max_length=253, pattern=_DOMAIN_PATTERN)]
SURGE_MESSAGE = "must be a non-negative integer or a percentage such as 25%"
_INITIAL_BACKOFF = 1.0
_MAX_BACKOFF = 30.0
# Bounds the CEL rules on ingress peers (isCIDR) need to pass the apiserver's cost estimate.
MAX_PEERS = 32
# Bounds the CEL rules on canary steps need to pass the apiserver's cost estimate.
MAX_CANARY_STEPS = 50
NAME_NOT_DNS1035 = (
    "metadata.name must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter)"
)
NAME_TOO_LONG = (
    f"metadata.name must be at most {MAX_NAME_LENGTH} characters, so that revision and Service names fit"
)


def unique_names(items: list[ContainerPort] | list[SecretMount] | None, what: str) -> None:
    """Raises when two items share a name: the CRD lists them as maps keyed by name."""
    names = [item.name for item in items or []]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique")


def surge_or_unavailable(value: int | str) -> int | str:
    """maxSurge / maxUnavailable: a pod count or a whole percentage, as a Deployment takes them."""
    if isinstance(value, bool) or (isinstance(value, int) and not 0 <= value <= INT32_MAX):
        raise ValueError(SURGE_MESSAGE)
    if isinstance(value, str) and (len(value) > 11 or not re.fullmatch(r"[0-9]+%", value)):
        raise ValueError(f"{SURGE_MESSAGE}, not {value!r}")
    return value


SurgeOrPercent = Annotated[
    int | str,
    AfterValidator(surge_or_unavailable),
    int_or_string(minimum=0, maximum=INT32_MAX, maxLength=11, pattern="^[0-9]+%$"),
]
"""A pod count or a whole percentage of replicas."""


class Probes(ApiModel):
    """Health probes of the agent container."""

    liveness: Probe | None = None
    """Restarts the container when it fails, for example when the agent loop hangs."""
    readiness: Probe | None = None
    """Takes the pod out of its Services while it fails."""
    startup: Probe | None = None
    """Holds the other probes back while a slow agent starts (model warm-up, index load)."""


class Container(ApiModel):
    """The agent's main container."""

    image: str = Field(min_length=1)
    """Image reference. Pin it by digest (name@sha256:...) so a revision always means the same bits."""
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    """When the kubelet pulls the image."""
    command: list[str] | None = None
    """Entrypoint override."""
    args: list[str] | None = None
    """Arguments to the entrypoint."""
    env: list[EnvVar] | None = Field(default=None, max_length=MAX_ENV_VARS)
    """Environment variables. Credentials belong in valueFrom.secretKeyRef."""
    env_from: list[EnvFromSource] | None = None
    """ConfigMaps or Secrets whose keys all become environment variables."""
    ports: list[ContainerPort] | None = Field(default=None, json_schema_extra=list_map("name"))
    """Ports the agent listens on; name the metrics port so observability.metrics can refer to it."""
    resources: ResourceRequirements | None = None
    """CPU and memory requests and limits."""
    probes: Probes | None = None
    """Liveness, readiness and startup probes."""

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, ports: list[ContainerPort] | None) -> list[ContainerPort] | None:
        unique_names(ports, "port")
        return ports


class PodTemplate(ApiModel):
    """Optional overlay for the rest of the pod. The operator's hardening is applied first and
    readiness checks judge the merged pod, so an overlay that weakens security fails them."""

    labels: dict[str, LabelValue] | None = None
    """Extra pod labels."""
    annotations: dict[str, str] | None = None
    """Extra pod annotations."""
    node_selector: dict[str, str] | None = None
    """Node labels the pod must land on."""
    tolerations: FreeFormList | None = None
    """Kubernetes tolerations."""
    affinity: FreeForm | None = None
    """Kubernetes affinity."""
    topology_spread_constraints: FreeFormList | None = None
    """Kubernetes topology spread constraints."""
    priority_class_name: str | None = None
    """Priority class of the pod."""
    runtime_class_name: str | None = None
    """Runtime class, for example a sandboxed runtime for untrusted tool code."""
    image_pull_secrets: list[dict[str, str]] | None = None
    """Secrets used to pull images."""
    volumes: FreeFormList | None = None
    """Extra volumes."""
    volume_mounts: FreeFormList | None = None
    """Extra mounts for the agent container."""
    containers: FreeFormList | None = None
    """Extra sidecar containers."""
    init_containers: FreeFormList | None = None
    """Init containers."""
    security_context: FreeForm | None = None
    """Pod security context fields, merged over the hardened defaults."""
    container_security_context: FreeForm | None = None
    """Agent container security context fields, merged over the hardened defaults."""
    automount_service_account_token: bool | None = None
    """Mount a service account token; off unless the agent calls the Kubernetes API."""
    termination_grace_period_seconds: int | None = Field(default=None, ge=0, le=MAX_SAFE_INTEGER)
    """Seconds a stopping agent gets to finish its in-flight task."""
    host_network: bool | None = None
    """Use the node's network namespace. Fails the security checks."""
    host_pid: bool | None = None
    """Share the node's process namespace. Fails the security checks."""
    host_ipc: bool | None = None
    """Share the node's IPC namespace. Fails the security checks."""


class SecretMount(ApiModel):
    """A Secret the agent needs. It is mounted read-only as files; the revision is held while it
    is missing."""

    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")
    """Name of the Secret in the agent's namespace."""
    mount_path: str | None = Field(default=None, pattern=r"^/")
    """Directory to mount it at; /var/run/secrets/agent/<name> by default."""


class ModelConfig(ApiModel):
    """The model provider the agent calls."""

    provider: str = Field(min_length=1)
    """Provider name, for example openai, anthropic, azure-openai, vllm."""
    name: str = Field(min_length=1)
    """Model name."""
    endpoint: str | None = None
    """Base URL of the provider's API, when not the provider's default."""
    api_key_secret: SecretKeySelector | None = None
    """The Secret key holding the provider credential. Never a literal key."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature."""
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    """Completion token cap per call."""


class Backoff(ApiModel):
    """Exponential backoff between retries."""

    model_config = cel_rules(
        (
            # Written not to depend on the apiserver having applied the schema defaults.
            f"(has(self.maxSeconds) ? self.maxSeconds : {_MAX_BACKOFF:.1f})"
            f" >= (has(self.initialSeconds) ? self.initialSeconds : {_INITIAL_BACKOFF:.1f})",
            "maxSeconds must be at least initialSeconds",
        ),
    )

    initial_seconds: float = Field(default=_INITIAL_BACKOFF, gt=0, le=3600)
    """First delay."""
    max_seconds: float = Field(default=_MAX_BACKOFF, gt=0, le=3600)
    """Longest delay."""
    jitter: bool = True
    """Randomise delays so that retries from many pods do not arrive together."""

    @model_validator(mode="after")
    def _ordered(self) -> Backoff:
        if self.max_seconds < self.initial_seconds:
            raise ValueError("maxSeconds must be at least initialSeconds")
        return self


class Retry(ApiModel):
    """Retries of failed model and tool calls."""

    limit: int = Field(ge=0, le=100)
    """Attempts after the first failure. 3 is a common production value."""
    backoff: Backoff | None = None
    """Delay between attempts."""


class CircuitBreaker(ApiModel):
    """Stops calling a failing dependency for a while instead of hammering it."""

    failure_threshold: int = Field(default=5, ge=1, le=INT32_MAX)
    """Consecutive failures that open the circuit."""
    recovery_seconds: int = Field(default=30, ge=1, le=INT32_MAX)
    """Seconds the circuit stays open before a trial call."""
    success_threshold: int = Field(default=2, ge=1, le=INT32_MAX)
    """Successful trial calls that close it again."""


class RateLimit(ApiModel):
    """Client-side limits that keep the agent under its provider's quotas."""

    requests_per_minute: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Model or tool requests per minute, per pod."""
    tokens_per_minute: int | None = Field(default=None, ge=1, le=MAX_SAFE_INTEGER)
    """Model tokens per minute, per pod."""
    max_concurrency: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Tasks in flight at once per pod; more wait in a queue."""


class Budget(ApiModel):
    """Spend caps. At dailyUSD the operator scales every revision to 0 until the window resets, when
    spec.analysis says where spend is measured (docs/budget.md)."""

    daily_usd: float | None = Field(default=None, alias="dailyUSD", gt=0)
    """Daily spend cap in US dollars."""
    monthly_usd: float | None = Field(default=None, alias="monthlyUSD", gt=0)
    """Monthly spend cap in US dollars."""
    alert_at_percent: int = Field(default=80, ge=1, le=100)
    """Alert when this share of a cap is spent."""
    timezone: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"
    )
    """IANA time zone whose midnight starts the daily window; UTC when unset."""
    on_unknown: OnUnknown | None = None
    """Spend cannot be measured (Prometheus unreachable): Hold keeps the last decision (the
    default), Suspend scales every revision to 0 until spend is known again."""
    interval_seconds: int | None = Field(default=None, ge=5, le=3600)
    """Time between two spend measurements; 60 when unset."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class HumanOverride(ApiModel):
    """Where a human has to approve, and who takes over."""

    approval_required_for: list[str] | None = None
    """Tools or actions that wait for a human's approval."""
    contact: str | None = None
    """Team, rota or channel that takes over."""


class Runtime(ApiModel):
    """Guardrails handed to the agent process as immutable, per-revision config."""

    security_level: SecurityLevel = "medium"
    """Sandboxing and tool-permission level the agent runtime applies."""
    timeout_seconds: int | None = Field(default=None, ge=1, le=86400)
    """Wall-clock limit for one task. Long defaults (an hour) hide stuck loops."""
    max_iterations: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Reasoning or tool-call steps per task before the agent fails closed (loop guard)."""
    retry: Retry | None = None
    """Retries of failed calls."""
    circuit_breaker: CircuitBreaker | None = None
    """Circuit breaker around model and tool calls."""
    rate_limit: RateLimit | None = None
    """Rate and concurrency limits."""
    budget: Budget | None = None
    """Spend caps."""
    human_override: HumanOverride | None = None
    """Human approval and takeover."""


class Egress(ApiModel):
    """What the agent may reach. Everything else is denied."""

    allowed_domains: list[Domain] | None = None
    """DNS names (or *.suffix wildcards) the agent may call; enforced where the CNI supports FQDN policy."""
    allowed_cidrs: list[Cidr] | None = Field(default=None, alias="allowedCIDRs", max_length=MAX_CIDRS)
    """IP ranges the agent may reach."""
    ports: list[NetworkPolicyPort] | None = Field(default=None, max_length=MAX_PEERS)
    """Ports allowed to those destinations; 443/TCP when unset."""

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str] | None) -> list[str] | None:
        for c in cidrs or []:
            check_cidr(c)
        return cidrs


class Network(ApiModel):
    """Network reach. The operator renders a default-deny NetworkPolicy around these allowances."""

    ingress_from: list[NetworkPolicyPeer] | None = Field(default=None, max_length=MAX_PEERS)
    """NetworkPolicyPeer list allowed to reach the agent's ports."""
    egress: Egress | None = None
    """Allowed destinations."""


class Metrics(ApiModel):
    """Prometheus metrics the agent exposes."""

    port: PortOrName = "metrics"
    """Container port name or number."""
    path: str = Field(default="/metrics", pattern=r"^/")
    """HTTP path."""


class Logs(ApiModel):
    """How the agent logs."""

    format: Literal["json", "text"] = "json"
    """Log format; json for machines."""
    redact: bool = True
    """Redact prompts, credentials and personal data from logs."""
    level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level."""


class Tracing(ApiModel):
    """OpenTelemetry tracing."""

    otlp_endpoint: str = Field(min_length=1)
    """OTLP collector endpoint."""
    sampling_rate: float = Field(default=0.1, ge=0, le=1)
    """Share of tasks traced."""


class Audit(ApiModel):
    """Audit trail of the agent's actions (tool calls, approvals)."""

    enabled: bool = False
    """Write an audit record for every action."""


class Alerts(ApiModel):
    """Alert thresholds, rendered as a PrometheusRule when the cluster has the CRD."""

    error_rate_percent: float | None = Field(default=None, gt=0, le=100)
    """Alert when the task error rate exceeds this."""
    p95_latency_ms: int | None = Field(default=None, alias="p95LatencyMs", ge=1, le=INT32_MAX)
    """Alert when p95 task latency exceeds this."""
    task_failures_per_hour: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Alert when this many tasks fail in an hour."""


class Observability(ApiModel):
    """Metrics, logs, traces, audit and alerts."""

    metrics: Metrics | None = None
    """Prometheus endpoint."""
    logs: Logs | None = None
    """Logging."""
    tracing: Tracing | None = None
    """Tracing."""
    audit: Audit | None = None
    """Audit trail."""
    alerts: Alerts | None = None
    """Alert thresholds."""


class Evaluation(ApiModel):
    """The golden-dataset evaluation run as a Job before a canary is promoted."""

    image: str = Field(min_length=1)
    """Evaluation image; pin it by digest."""
    command: list[str] | None = None
    """Entrypoint override."""
    args: list[str] | None = None
    """Arguments."""
    env: list[EnvVar] | None = Field(default=None, max_length=MAX_ENV_VARS)
    """Environment. AGENT_URL, BASELINE_URL and REVISION are added."""
    min_score: float = Field(default=0.9, ge=0, le=1)
    """Lowest passing score, read from the JSON the job writes to its termination message."""
    timeout_seconds: int = Field(default=600, ge=1, le=86400)
    """The gate fails when the job takes longer."""
    backoff_limit: int = Field(default=0, ge=0, le=10)
    """Job retries before the gate fails."""
    resources: ResourceRequirements | None = None
    """CPU and memory of the evaluation container."""
    labels: dict[str, LabelValue] | None = None
    """Extra labels of the evaluation pod (cost allocation, mesh opt-out...)."""
    annotations: dict[str, str] | None = None
    """Extra annotations of the evaluation pod."""
    schedule: str | None = Field(
        default=None,
        json_schema_extra={
            "maxLength": MAX_CRON_LENGTH,
            "pattern": CRON_PATTERN,
            "x-kubernetes-validations": [{"rule": CRON_RULE[0], "message": CRON_RULE[1]}],
        },
    )
    """Cron schedule (5 fields, UTC, e.g. "0 3 * * *") re-evaluating the stable revision; see docs."""
    on_regression: Literal["Alert", "Suspend"] | None = None
    """Alert (default): condition and Warning event only; Suspend: also scale every revision to 0."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_cron(value)
        except BackwardsRangeError:
            raise ValueError(CRON_RULE[1]) from None  # word for word the CRD rule's message
        except CronError as exc:
            raise ValueError(f"not a cron expression: {exc}") from None


class PauseStep(ApiModel):
    """Waits for durationSeconds, or for `agentctl approve` when durationSeconds is unset."""

    duration_seconds: int | None = Field(default=None, ge=1, le=INT32_MAX)
    """Timed pause. Unset: wait for approval."""


class EvaluateStep(ApiModel):
    """Runs spec.evaluation against the canary and stops the rollout when it fails."""

    min_score: float | None = Field(default=None, ge=0, le=1)
    """Overrides spec.evaluation.minScore for this step."""


class CanaryStep(ApiModel):
    """One step of a canary: exactly one of setWeight, pause, evaluate, analyze."""

    model_config = cel_rules(
        (
            "[has(self.setWeight), has(self.pause), has(self.evaluate), has(self.analyze)]"
            ".filter(x, x).size() == 1",
            "a step sets exactly one of setWeight, pause, evaluate, analyze",
        ),
    )

    set_weight: int | None = Field(default=None, ge=0, le=100)
    """Share of replicas, in percent, the canary gets."""
    pause: PauseStep | None = None
    """Wait for a time or for approval."""
    evaluate: EvaluateStep | None = None
    """Run the evaluation gate."""
    analyze: AnalyzeStep | None = None
    """Run spec.analysis against live metrics."""

    @model_validator(mode="after")
    def _exactly_one(self) -> CanaryStep:
        if sum(x is not None for x in (self.set_weight, self.pause, self.evaluate, self.analyze)) != 1:
            raise ValueError("a step sets exactly one of setWeight, pause, evaluate, analyze")
        return self


class Canary(ApiModel):
    """Canary by replica split."""

    steps: list[CanaryStep] = Field(
        default_factory=list,
        max_length=MAX_CANARY_STEPS,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()",
                    "message": "setWeight values must not decrease from one step to the next",
                }
            ]
        },
    )
    """Steps run in order; after the last the canary is promoted to 100%."""
    max_surge: SurgeOrPercent = "25%"
    """Pods allowed above replicas during the rollout (number or percent)."""
    max_unavailable: SurgeOrPercent = 0
    """Pods allowed below replicas during the rollout (number or percent)."""

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _int_or_percent(cls, value: int | str) -> int | str:
        return surge_or_unavailable(value)

    @field_validator("steps")
    @classmethod
    def _weights_non_decreasing(cls, steps: list[CanaryStep]) -> list[CanaryStep]:
        weights = [s.set_weight for s in steps if s.set_weight is not None]
        if weights != sorted(weights):
            raise ValueError("setWeight values must not decrease from one step to the next")
        return steps


class RollingUpdate(ApiModel):
    """Deployment-style rolling update parameters."""

    max_surge: SurgeOrPercent = "25%"
    """Pods allowed above replicas."""
    max_unavailable: SurgeOrPercent = "25%"
    """Pods allowed below replicas."""

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _int_or_percent(cls, value: int | str) -> int | str:
        return surge_or_unavailable(value)


class Rollout(ApiModel):
    """How a new revision replaces the running one."""

    model_config = cel_rules(
        (
            # strategy defaults to RollingUpdate, so an unset strategy does not allow a canary.
            "!has(self.canary) || (has(self.strategy) && self.strategy == 'Canary')",
            "canary is only allowed with strategy Canary",
        ),
    )

    strategy: Literal["Canary", "RollingUpdate", "Recreate"] = "RollingUpdate"
    """Canary (steps, gates, automatic rollback), RollingUpdate or Recreate."""
    canary: Canary | None = None
    """Canary steps."""
    rolling_update: RollingUpdate | None = None
    """Rolling update parameters."""
    progress_deadline_seconds: int = Field(default=600, ge=1, le=INT32_MAX)
    """A revision not available within this fails the rollout."""
    revision_history_limit: int = Field(default=10, ge=1, le=100)
    """Old revisions kept for rollback."""
    auto_rollback: bool = True
    """Roll back to the stable revision when the canary fails."""

    @model_validator(mode="after")
    def _canary_needs_strategy(self) -> Rollout:
        if self.canary is not None and self.strategy != "Canary":
            raise ValueError("canary is only allowed with strategy Canary")
        return self


class AgentDeploymentSpec(ApiModel):
    """Desired state of one agent."""

    model_config = cel_rules(
        (
            "has(self.evaluation) || !has(self.rollout) || !has(self.rollout.canary)"
            " || !has(self.rollout.canary.steps) || !self.rollout.canary.steps.exists(s, has(s.evaluate))",
            "an evaluate step needs spec.evaluation",
        ),
        (
            "has(self.analysis) || !has(self.rollout) || !has(self.rollout.canary)"
            " || !has(self.rollout.canary.steps) || !self.rollout.canary.steps.exists(s, has(s.analyze))",
            "an analyze step needs spec.analysis",
        ),
    )

    environment: Environment = "production"
    """Picks the built-in readiness profile when no ReadinessPolicy selects the agent."""
    replicas: int = Field(default=1, ge=0, le=INT32_MAX)
    """Pods of the stable revision."""
    container: Container
    """The agent container."""
    pod_template: PodTemplate | None = None
    """Overlay for the rest of the pod."""
    secrets: list[SecretMount] | None = Field(default=None, json_schema_extra=list_map("name"))
    """Secrets the agent needs, mounted as files."""
    model: ModelConfig | None = None
    """The model the agent calls."""
    runtime: Runtime | None = None
    """Runtime guardrails."""
    network: Network | None = None
    """Network reach."""
    observability: Observability | None = None
    """Metrics, logs, traces, audit and alerts."""
    evaluation: Evaluation | None = None
    """Evaluation suite used by rollouts."""
    analysis: Analysis | None = None
    """Canary analysis on live metrics from Prometheus (docs/metrics.md)."""
    rollout: Rollout | None = None
    """Rollout plan."""
    paused: bool = False
    """Freeze rollout progress where it is (human takeover). Running pods are untouched."""
    suspend: bool = False
    """Kill switch: scale every revision to zero at once. Objects are kept."""

    @field_validator("secrets")
    @classmethod
    def _unique_secrets(cls, secrets: list[SecretMount] | None) -> list[SecretMount] | None:
        unique_names(secrets, "secret")
        return secrets

    @model_validator(mode="after")
    def _evaluate_needs_suite(self) -> AgentDeploymentSpec:
        canary = self.rollout.canary if self.rollout else None
        if canary and any(s.evaluate is not None for s in canary.steps) and not self.evaluation:
            raise ValueError("an evaluate step needs spec.evaluation")
        check_analysis_references(
            self.analysis, [s.analyze for s in canary.steps if s.analyze] if canary else []
        )
        return self


class ApprovalStatus(ApiModel):
    """Who released an indefinite pause, and when."""

    revision: str
    """Revision that was approved."""
    step: int = Field(ge=INT32_MIN, le=INT32_MAX)
    """Step index that was approved."""
    by: str
    """Identity of the approver."""
    at: str
    """Time of the approval."""


class EvaluationStatus(ApiModel):
    """The evaluation gate of the current step."""

    revision: str
    """Revision under evaluation."""
    step: int = Field(ge=INT32_MIN, le=INT32_MAX)
    """Step index of the evaluate step."""
    result: Literal["Running", "Passed", "Failed", "TimedOut"]
    """Running, Passed, Failed or TimedOut."""
    started_at: str
    """When the evaluation Job was requested."""
    score: float | None = None
    """Score the job reported."""
    message: str | None = None
    """Why it passed or failed."""


class WideningStatus(ApiModel):
    """One change of the canary that widens the agent's reach or spend, awaiting or past approval."""

    kind: str
    """egress, humanOverride, budget, rateLimit, securityLevel, model, loopCap or timeout."""
    path: str
    """The spec field, e.g. spec.network.egress.allowedDomains."""
    before: str
    """Its value in the stable revision."""
    after: str
    """Its value in the canary (+x: added, -x: removed)."""


class RolloutStatus(ApiModel):
    """Rollout progress. It lives only here, so an operator restart resumes at the same step."""

    step_index: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Index of the canary step being executed."""
    step_started_at: str | None = None
    """When the current step began; pause timers count from here."""
    started_at: str | None = None
    """When the canary revision began rolling out."""
    restart_baseline: int | None = Field(default=None, ge=MIN_SAFE_INTEGER, le=MAX_SAFE_INTEGER)
    """Canary container restarts when the rollout began (crash-loop detection)."""
    failed_revision: str | None = None
    """Revision that failed or was aborted; not retried until the spec changes or `agentctl retry`."""
    rollback_override: str | None = None
    """Revision pinned by a manual rollback."""
    rollback_from: str | None = None
    """Revision the spec asked for when the rollback was made; the override holds while it still does."""
    approval: ApprovalStatus | None = None
    """Last approval."""
    evaluation: EvaluationStatus | None = None
    """Current or last evaluation gate."""
    approvals: list[ApprovalStatus] | None = Field(default=None, max_length=100)
    """Every approval of the current canary."""
    evaluations: list[EvaluationStatus] | None = Field(default=None, max_length=100)
    """Every finished evaluation of the current canary."""
    failure_reason: str | None = None
    """Why the failed revision failed, or why the canary is frozen."""
    blocked_revision: str | None = None
    """Desired revision held back by policy or missing Secrets."""
    handled_commands: dict[str, str] | None = None
    """Time of the last command of each verb already acted on."""
    message: str | None = None
    """What the rollout is doing or waiting for."""
    analysis: AnalysisRunStatus | None = None
    """The latest measurement of spec.analysis (analyze step or background), one row per check."""
    analysis_runs: list[AnalysisRunStatus] | None = Field(default=None, max_length=10)
    """The latest measurements of the current canary."""
    analysis_passed: int | None = Field(default=None, ge=0, le=INT32_MAX)
    """Passing measurements of the current analyze step so far."""
    analysis_measured_at: str | None = None
    """Last measurement of the current analyze step; the next is an interval later."""
    background_measured_at: str | None = None
    """Last background measurement of the current canary."""
    approved_egress: Egress | None = None
    """spec.network.egress as approved by a human on ``approvedEgressFor`` (the baseline later egress
    changes are compared with while that revision is stable)."""
    approved_egress_for: str | None = None
    """The stable revision the egress approval was given on."""
    widenings: list[WideningStatus] | None = Field(default=None, max_length=100)
    """What the canary widens against the stable revision that its ReadinessPolicy gates on
    (approvalRequiredFor): the rollout waits for `agentctl approve` at step 0."""


class ReadinessSummary(ApiModel):
    """The readiness report, summarised."""

    ready: bool | None = None
    """Every required check passes."""
    score: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """0 to 100."""
    policy: str | None = None
    """ReadinessPolicy (or built-in profile) that judged the agent."""
    enforcement: str | None = None
    """Enforce, Warn or Audit."""
    missing_required: list[str] | None = None
    """Ids of failing required checks."""
    warnings: list[str] | None = None
    """Ids of failing warning checks."""


class AgentDeploymentStatus(ApiModel):
    """Observed state, written by the operator."""

    observed_generation: int | None = Field(default=None, ge=MIN_SAFE_INTEGER, le=MAX_SAFE_INTEGER)
    """The spec generation this status describes."""
    phase: Phase | None = None
    """Pending, Progressing, Available, Degraded, Paused, Suspended, Blocked or Failed."""
    conditions: list[Condition] | None = Field(default=None, json_schema_extra=list_map("type"))
    """Ready, Reconciling, Stalled, PolicyCompliant, Progressing."""
    replicas: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Pods of every revision."""
    ready_replicas: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Ready pods of every revision."""
    updated_replicas: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Pods of the desired revision."""
    available_replicas: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Available pods of every revision."""
    selector: str | None = None
    """Label selector of the agent's pods, for the scale subresource."""
    current_revision: str | None = None
    """Revision the spec asks for."""
    stable_revision: str | None = None
    """Revision serving as stable."""
    canary_revision: str | None = None
    """Revision being rolled out, if any."""
    desired_weight: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Canary weight the current step asks for."""
    actual_weight: int | None = Field(default=None, ge=INT32_MIN, le=INT32_MAX)
    """Canary ready replicas over all ready replicas, in percent."""
    readiness: ReadinessSummary | None = None
    """Readiness report summary."""
    missing_secrets: list[str] | None = None
    """Secrets the desired revision references that do not exist."""
    command_problems: list[str] | None = None
    """Command annotations the operator could not act on, and why."""
    rollout: RolloutStatus | None = None
    """Rollout progress."""
    scheduled_evaluation: ScheduledEvaluationStatus | None = None
    """spec.evaluation.schedule: the runs of the serving revision and its score trend."""
    budget: BudgetStatus | None = None
    """Spend against spec.runtime.budget.dailyUSD."""


class AgentDeployment(ApiModel):
    """One AI agent: container, guardrails, network reach, observability, evaluation and rollout."""

    model_config = cel_rules(
        (f"size(self.metadata.name) <= {MAX_NAME_LENGTH}", NAME_TOO_LONG),
        # The apiserver only demands a DNS-1123 subdomain; Service names need DNS-1035.
        (f"self.metadata.name.matches('{_DNS1035_PATTERN}')", NAME_NOT_DNS1035),
    )

    api_version: Literal["agentoperator.dev/v1alpha1"] = API_VERSION
    """agentoperator.dev/v1alpha1"""
    kind: Literal["AgentDeployment"] = "AgentDeployment"
    """AgentDeployment"""
    metadata: ObjectMeta
    """Standard object metadata."""
    spec: AgentDeploymentSpec
    """Desired state."""
    status: AgentDeploymentStatus | None = None
    """Observed state."""

    @field_validator("metadata")
    @classmethod
    def _name_fits(cls, metadata: ObjectMeta) -> ObjectMeta:
        if len(metadata.name) > MAX_NAME_LENGTH:
            raise ValueError(NAME_TOO_LONG)
        if not _DNS1035.match(metadata.name):
            raise ValueError(NAME_NOT_DNS1035)
        return metadata
