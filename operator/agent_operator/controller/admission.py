"""Admission decisions: the readiness policy at ``kubectl apply`` time, and who issued a command.

Pure: every function here takes the admission request and what it needs from the cluster (the
ReadinessPolicies, the namespace's labels, the optional APIs) through :class:`ClusterView`, and
returns an :class:`AdmissionDecision`. The kopf wiring lives in ``webhook.py``.

The webhook is a fast-feedback layer over the controller, which judges every agent by the same
policy engine at reconcile time. So the decisions mirror the operator exactly: the same policy
selection, the same checks, the same parse errors. Messages come from the policy engine's
results, which never contain a Secret's or a literal credential's value.

The mutating webhook sets no spec defaults. The CRD schema, generated from the same models,
already defaults every scalar field, and the apiserver applies those defaults on every write with
or without the webhook; object defaults stay implicit on purpose (the models fill them when the
operator reads the agent). A default only the webhook adds would make an agent's behaviour
depend on whether the webhook answered, and the webhook's failure policy is Ignore by default.
It only stamps the identity of whoever wrote a command annotation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from ..api import GROUP, AgentDeployment, ReadinessPolicy, format_validation_error
from ..policy import CheckResult, PolicyError, ReadinessReport, evaluate, load_policy, select_policy
from ..render import ClusterCapabilities
from .command_proof import signer
from .commands import COMMAND_PREFIX, restamp

WebhookKind = Literal["validate", "mutate"]

AGENTS = "agentdeployments"
POLICIES = "readinesspolicies"

# The apiserver may truncate a single warning above 256 characters and drops warnings once all
# of a request's warnings exceed 4096 characters; staying under both keeps every line whole.
MAX_WARNING_LENGTH = 256
MAX_WARNINGS_TOTAL = 3800

COMMAND_MATCH_CONDITION = (
    "has(object.metadata.annotations) && object.metadata.annotations.exists(k, "
    "k.startsWith('agentoperator.dev/command.') && (oldObject == null || "
    "!has(oldObject.metadata.annotations) || !(k in oldObject.metadata.annotations) || "
    "oldObject.metadata.annotations[k] != object.metadata.annotations[k]))"
)
"""The CEL matchCondition that scopes the mutating webhook to writes adding or changing a command
annotation, so it can fail closed (failurePolicy Fail) without making any other write of an agent
depend on the operator being up. The chart carries the same expression."""

CODE_FORBIDDEN = 403
CODE_INVALID = 422


@dataclass(frozen=True)
class AdmissionDecision:
    """What the webhook answers: allow or deny (with a message), warnings kubectl prints, and
    annotations the mutating webhook rewrites."""

    allowed: bool
    message: str = ""
    code: int = 200
    warnings: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def allow(cls, warnings: Sequence[str] = ()) -> AdmissionDecision:
        return cls(True, warnings=tuple(warnings))

    @classmethod
    def deny(cls, message: str, code: int = CODE_FORBIDDEN) -> AdmissionDecision:
        return cls(False, message=message, code=code)


class ClusterView(Protocol):
    """The cluster state a decision reads, exactly what the operator reads at reconcile time."""

    def policies(self) -> Sequence[ReadinessPolicy]:
        """ReadinessPolicies that load (the operator skips broken ones too)."""
        ...

    def namespace_labels(self, namespace: str) -> Mapping[str, str]: ...

    def capabilities(self) -> ClusterCapabilities: ...


def admission_review(
    webhook: WebhookKind, request: Mapping[str, Any], cluster: ClusterView, proof_key: bytes | None = None
) -> AdmissionDecision:
    """The decision for one AdmissionReview ``request`` (the review's ``request`` field).

    Only CREATE and UPDATE of the main resource are judged; deletions, subresources (status,
    scale) and other resources are allowed untouched.
    """
    resource = request.get("resource") or {}
    operation = request.get("operation")
    if resource.get("group") != GROUP or request.get("subResource") or operation not in ("CREATE", "UPDATE"):
        return AdmissionDecision.allow()
    new = request.get("object") or {}
    old = request.get("oldObject") if operation == "UPDATE" else None
    plural = resource.get("resource")
    if webhook == "mutate":
        if plural != AGENTS:
            return AdmissionDecision.allow()
        username = str((request.get("userInfo") or {}).get("username") or "")
        return AdmissionDecision(True, annotations=stamp_command_identity(new, old, username, proof_key))
    if plural == AGENTS:
        return validate_agent(new, old, cluster)
    if plural == POLICIES:
        if (new.get("metadata") or {}).get("deletionTimestamp") or (
            old is not None and old.get("spec") == new.get("spec")
        ):
            # A policy on its way out, or a metadata-only edit (labels, a finalizer removed), is
            # never refused: an operator upgrade that invalidated it must not trap it in Terminating.
            return AdmissionDecision.allow()
        return validate_policy(new)
    return AdmissionDecision.allow()


# -- AgentDeployment ---------------------------------------------------------------------------


def _parse_agent(obj: Mapping[str, Any]) -> AgentDeployment | list[str]:
    body = {k: obj[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in obj}
    meta = dict(body.get("metadata") or {})
    if not meta.get("name") and meta.get("generateName"):
        # Mutating admission sees a CREATE before the apiserver generates the name.
        meta["name"] = f"{meta['generateName']}x"
    body["metadata"] = meta
    try:
        return AgentDeployment.model_validate(body)
    except ValidationError as exc:
        return [str(e) for e in format_validation_error(exc, AgentDeployment)]


def _judged_fields_changed(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    """Whether an UPDATE touches what the policy judges: the spec, or the labels a policy's
    agentSelector matches. Metadata-only updates (a rollback or abort annotation, a finalizer)
    must pass even when the agent no longer complies, or an emergency rollback would be refused."""
    if old is None:
        return True
    if new.get("spec") != old.get("spec"):
        return True
    return (new.get("metadata") or {}).get("labels") != (old.get("metadata") or {}).get("labels")


def validate_agent(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, cluster: ClusterView
) -> AdmissionDecision:
    """Deny an agent the operator would refuse to roll out (Enforce), warn about one it would
    roll out with findings (Warn, or warning-level checks under Enforce), stay silent under Audit.
    An invalid spec is denied with its one-line field errors."""
    if (new.get("metadata") or {}).get("deletionTimestamp") or not _judged_fields_changed(new, old):
        return AdmissionDecision.allow()
    parsed = _parse_agent(new)
    label = _object_label(new)
    if isinstance(parsed, list):
        lines = "\n".join(f"  {line}" for line in parsed)
        return AdmissionDecision.deny(f"AgentDeployment {label} is invalid:\n{lines}", CODE_INVALID)
    namespace = parsed.metadata.namespace or ""
    try:
        policy = select_policy(parsed, cluster.policies(), cluster.namespace_labels(namespace))
    except PolicyError as exc:
        # The policy that selects the agent is broken; the operator stalls the agent the same way.
        return AdmissionDecision.deny(
            f"AgentDeployment {label} cannot be judged: the ReadinessPolicy that selects it is invalid: "
            + "; ".join(str(e) for e in exc.errors)
        )
    report = evaluate(parsed, policy, cluster.capabilities())
    if report.enforcement == "Audit":
        return AdmissionDecision.allow()
    if report.blocked:
        return AdmissionDecision.deny(denial_message(label, report))
    return AdmissionDecision.allow(readiness_warnings(report))


def _object_label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or f"{meta.get('generateName') or ''}*"
    return f"{meta['namespace']}/{name}" if meta.get("namespace") else str(name)


def _policy_label(report: ReadinessReport) -> str:
    return f"ReadinessPolicy {report.policy} ({report.enforcement})"


def _finding(check: CheckResult) -> str:
    text = f"{check.id}: {check.message}"
    return f"{text}. Fix: {check.remediation}" if check.remediation else text


def denial_message(label: str, report: ReadinessReport) -> str:
    """Why an Enforce policy refuses the agent: the failing required check ids, then one line per
    check with what was found and how to fix it."""
    failing = [c for c in report.checks if c.status == "fail"]
    lines = [
        f"AgentDeployment {label} is not production-ready under {_policy_label(report)}: "
        f"{len(failing)} required check(s) fail: {', '.join(c.id for c in failing)}",
        *(f"  - {_finding(c)}" for c in failing),
        "Run `agentctl validate` on the manifest for the full report.",
    ]
    return "\n".join(lines)


def _clip(text: str, limit: int = MAX_WARNING_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def readiness_warnings(report: ReadinessReport) -> list[str]:
    """One warning per failing check (kubectl prints each as ``Warning: ...``), led by a summary
    when required checks fail, each within the apiserver's length limits."""
    failures = report.failures()
    if not failures:
        return []
    out: list[str] = []
    if not report.ready:
        out.append(
            f"{_policy_label(report)} admits this agent, but {len(report.missing_required)} required "
            "check(s) fail; Enforce would deny it"
        )
    for check in failures:
        level = "required" if check.status == "fail" else "warning"
        out.append(
            f"{check.id} ({level}): {check.message}"
            + (f". Fix: {check.remediation}" if check.remediation else "")
        )
    clipped = [_clip(w) for w in out]
    kept: list[str] = []
    total = 0
    for index, warning in enumerate(clipped):
        if total + len(warning) > MAX_WARNINGS_TOTAL:
            kept.append(f"{len(clipped) - index} more finding(s): run `agentctl validate` on the manifest")
            break
        kept.append(warning)
        total += len(warning)
    return kept


# -- ReadinessPolicy ---------------------------------------------------------------------------


def validate_policy(new: Mapping[str, Any]) -> AdmissionDecision:
    """Deny a ReadinessPolicy the operator could not load: schema-valid but with unknown check
    ids or CEL that does not compile. The operator would skip it, silently judging agents by a
    weaker policy, so it is better refused at the door."""
    label = _object_label(new)
    body = {k: new[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in new}
    try:
        policy = ReadinessPolicy.model_validate(body)
    except ValidationError as exc:
        lines = [str(e) for e in format_validation_error(exc, ReadinessPolicy)]
        return _invalid_policy(label, lines)
    try:
        load_policy(policy)
    except PolicyError as exc:
        return _invalid_policy(label, [str(e) for e in exc.errors])
    return AdmissionDecision.allow()


def _invalid_policy(label: str, lines: Sequence[str]) -> AdmissionDecision:
    body = "\n".join(f"  {line}" for line in lines)
    return AdmissionDecision.deny(f"ReadinessPolicy {label} is invalid:\n{body}", CODE_INVALID)


# -- command identity --------------------------------------------------------------------------


def stamp_command_identity(
    new: Mapping[str, Any], old: Mapping[str, Any] | None, username: str, proof_key: bytes | None = None
) -> dict[str, str]:
    """The command annotations to rewrite so that their ``by`` names ``username``.

    Any ``agentoperator.dev/command.*`` annotation that is new or changed by this request gets
    the requesting user as ``by``, whatever the writer claimed: the approval records who really
    approved. With ``proof_key`` it also gets a proof the operator verifies before acting on it
    (:mod:`.command_proof`). Unchanged annotations keep their recorded author and proof; malformed
    ones are left for the operator to report.
    """
    if not username:
        return {}
    meta = new.get("metadata") or {}
    sign = signer(proof_key, meta.get("namespace") or "", meta.get("name") or "") if proof_key else None
    new_annotations: Mapping[str, str] = meta.get("annotations") or {}
    old_annotations: Mapping[str, str] = ((old or {}).get("metadata") or {}).get("annotations") or {}
    stamped: dict[str, str] = {}
    for key, raw in sorted(new_annotations.items()):
        if not key.startswith(COMMAND_PREFIX) or old_annotations.get(key) == raw:
            continue
        rewritten = restamp(key, raw, username, sign)
        if rewritten is not None:
            stamped[key] = rewritten
    return stamped
