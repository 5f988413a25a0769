"""Scheduled re-evaluation of the serving revision, as a pure decision (:func:`plan_reeval`)."""

from .decide import LIFT_HINT, judge, plan_reeval, trend
from .types import ReevalInput, ReevalPlan, ReevalState, Regression, ScheduledRun, ScoreRecord, ScoreResult

__all__ = [
    "LIFT_HINT",
    "ReevalInput",
    "ReevalPlan",
    "ReevalState",
    "Regression",
    "ScheduledRun",
    "ScoreRecord",
    "ScoreResult",
    "judge",
    "plan_reeval",
    "trend",
]
