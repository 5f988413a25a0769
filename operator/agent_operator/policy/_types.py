"""The vocabulary of the policy engine: check definitions, outcomes, results and the report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..api import ApiError
from ..api.base import ApiModel
from ..api.policy import CheckLevel, Enforcement

if TYPE_CHECKING:
    from ._context import CheckContext

Severity = Literal["required", "warning"]
Status = Literal["pass", "fail", "warn", "skip"]
OutcomeKind = Literal["pass", "fail", "advisory", "skip"]
ProfileName = Literal["production", "staging", "development"]
PROFILES: tuple[ProfileName, ...] = ("production", "staging", "development")


@dataclass(frozen=True)
class Outcome:
    """What one check found, before the policy decides how much it matters.

    ``advisory`` is a finding that is reported as a warning whatever the check's level: the spec
    asks for the right thing but the target cluster cannot enforce it (FQDN egress without Cilium).
    """

    kind: OutcomeKind
    message: str
    path: str = ""

    @classmethod
    def passed(cls, message: str, path: str = "") -> Outcome:
        return cls("pass", message, path)

    @classmethod
    def failed(cls, message: str, path: str = "") -> Outcome:
        return cls("fail", message, path)

    @classmethod
    def advisory(cls, message: str, path: str = "") -> Outcome:
        return cls("advisory", message, path)

    @classmethod
    def skipped(cls, message: str, path: str = "") -> Outcome:
        return cls("skip", message, path)


@dataclass(frozen=True)
class CheckDefinition:
    """One production-readiness check: its stable id, what it looks at and how to fix it."""

    id: str
    title: str
    category: str
    looks_at: str
    """The fields and rendered objects the check inspects, in a sentence."""
    remediation: str
    """Which field to set, with an example value."""
    levels: Mapping[ProfileName, CheckLevel]
    """Level in each built-in profile."""
    run: Callable[[CheckContext], Outcome] = field(repr=False, compare=False)

    def level_in(self, profile: ProfileName) -> CheckLevel:
        return self.levels[profile]


def levels(
    production: CheckLevel, staging: CheckLevel, development: CheckLevel
) -> dict[ProfileName, CheckLevel]:
    """The three built-in levels of a check, in the order the docs table shows them."""
    return {"production": production, "staging": staging, "development": development}


class CheckResult(ApiModel):
    """The verdict of one check (or custom rule) on one agent."""

    id: str
    """Check id, or custom.<name> for a custom rule."""
    title: str
    """Short human title."""
    severity: Severity
    """required or warning, as the policy sets it."""
    status: Status
    """pass, fail (a required check failed), warn (a warning check failed) or skip (does not apply)."""
    message: str
    """What was found. Never contains a secret value."""
    path: str = ""
    """Field path the finding is about, for example spec.runtime.timeoutSeconds."""
    remediation: str = ""
    """How to fix it."""


class ReadinessReport(ApiModel):
    """Every check's verdict on one agent under one policy."""

    agent: str
    """namespace/name of the agent, or its name when it has no namespace."""
    policy: str
    """ReadinessPolicy name, or builtin/<environment>."""
    enforcement: Enforcement
    """Enforce, Warn or Audit."""
    ready: bool
    """No required check fails."""
    score: int = Field(ge=0, le=100)
    """Weighted share of applicable checks that pass (required checks weigh 3, warnings 1)."""
    checks: list[CheckResult]
    """One entry per check that is not off, then one per custom rule."""
    missing_required: list[str]
    """Ids of failing required checks."""
    warnings: list[str]
    """Ids of failing warning checks and of advisory findings."""

    @property
    def blocked(self) -> bool:
        """The policy enforces and the agent is not ready: the operator must not roll it out."""
        return self.enforcement == "Enforce" and not self.ready

    def failures(self) -> list[CheckResult]:
        """Results with status fail or warn, in report order."""
        return [c for c in self.checks if c.status in ("fail", "warn")]


class PolicyError(ValueError):
    """A ReadinessPolicy that cannot be used: unknown check ids, CEL that does not compile."""

    def __init__(self, errors: Sequence[ApiError]) -> None:
        self.errors: list[ApiError] = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
