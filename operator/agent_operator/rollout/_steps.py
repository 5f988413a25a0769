"""The effective step list of a strategy: what the machine walks through for one new revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..api.agent import Canary, RollingUpdate, Rollout
from ._replicas import resolve_bounds

StepKind = Literal["weight", "pause", "approval", "evaluate", "analyze", "promote", "recreate"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    weight: int = 0
    """setWeight percent (``weight``), 100 for ``promote`` and ``recreate``."""
    duration_seconds: int = 0
    """Timed pause length (``pause``)."""
    min_score: float | None = None
    """Step override of spec.evaluation.minScore (``evaluate``)."""
    window_seconds: int = 0
    """How far back each measurement looks (``analyze``)."""
    interval_seconds: int = 0
    """Time between two measurements (``analyze``)."""
    count: int = 0
    """Measurements that must pass (``analyze``)."""
    metrics: tuple[str, ...] | None = None
    """The checks an ``analyze`` step runs; all of spec.analysis when None."""
    widening: bool = False
    """An ``approval`` the operator added because the revision widens the blast radius."""

    @property
    def moves_replicas(self) -> bool:
        """Steps that wait for pods, and so are subject to the progress deadline."""
        return self.kind in ("weight", "promote", "recreate")


def strategy_steps(rollout: Rollout) -> tuple[Step, ...]:
    """Canary: the spec steps then an implicit promotion to 100%. RollingUpdate: the promotion
    alone (one setWeight 100 paced by rollingUpdate). Recreate: stop the stable, then start the new
    revision at full size."""
    if rollout.strategy == "Recreate":
        return (Step("recreate", weight=100),)
    if rollout.strategy == "RollingUpdate":
        return (Step("promote", weight=100),)
    steps: list[Step] = []
    for spec_step in (rollout.canary or Canary()).steps:
        if spec_step.set_weight is not None:
            steps.append(Step("weight", weight=spec_step.set_weight))
        elif spec_step.pause is not None and spec_step.pause.duration_seconds is not None:
            steps.append(Step("pause", duration_seconds=spec_step.pause.duration_seconds))
        elif spec_step.pause is not None:
            steps.append(Step("approval"))
        elif spec_step.evaluate is not None:
            steps.append(Step("evaluate", min_score=spec_step.evaluate.min_score))
        elif spec_step.analyze is not None:
            a = spec_step.analyze
            steps.append(
                Step(
                    "analyze",
                    window_seconds=a.window_seconds,
                    interval_seconds=a.interval_seconds,
                    count=a.count,
                    metrics=tuple(a.metrics) if a.metrics is not None else None,
                )
            )
    steps.append(Step("promote", weight=100))
    return tuple(steps)


WIDENING_GATE = Step("approval", widening=True)


def gated_steps(rollout: Rollout, widens: bool) -> tuple[Step, ...]:
    """The strategy's steps, led by an approval when the revision widens what the agent may reach
    or spend: whatever the steps say, a human looks first, before any pod of it runs."""
    steps = strategy_steps(rollout)
    return (WIDENING_GATE, *steps) if widens else steps


def weight_at(steps: tuple[Step, ...], index: int) -> int:
    """Canary weight in force at a step: the last setWeight at or before it (0 before any)."""
    for step in reversed(steps[: index + 1]):
        if step.kind in ("weight", "promote", "recreate"):
            return step.weight
    return 0


def pacing(rollout: Rollout, total: int) -> tuple[int, int]:
    """(surge, unavailable) pods for the strategy."""
    if rollout.strategy == "Canary":
        canary = rollout.canary or Canary()
        return resolve_bounds(total, canary.max_surge, canary.max_unavailable)
    rolling = rollout.rolling_update or RollingUpdate()
    return resolve_bounds(total, rolling.max_surge, rolling.max_unavailable)
