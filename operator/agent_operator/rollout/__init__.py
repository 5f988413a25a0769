"""Progressive delivery as a pure state machine plus the replica math of a replica-split canary.

The controller gathers a :class:`RolloutInput`, calls :func:`plan_rollout` and applies the
returned :class:`RolloutPlan`; nothing here talks to Kubernetes.
"""

from ._commands import rollback_target
from ._machine import plan_rollout
from ._progress import CRASH_LOOP_RESTARTS
from ._replicas import actual_weight, canary_split, resolve_bounds, step_toward
from .types import (
    VERBS,
    AnalysisRequest,
    AnalysisRun,
    Approval,
    Command,
    EvaluationObservation,
    EvaluationRecord,
    Event,
    HistoryEntry,
    HistoryUpdate,
    RevisionObservation,
    RolloutInput,
    RolloutPlan,
    RolloutState,
    Verb,
)

__all__ = [
    "CRASH_LOOP_RESTARTS",
    "VERBS",
    "AnalysisRequest",
    "AnalysisRun",
    "Approval",
    "Command",
    "EvaluationObservation",
    "EvaluationRecord",
    "Event",
    "HistoryEntry",
    "HistoryUpdate",
    "RevisionObservation",
    "RolloutInput",
    "RolloutPlan",
    "RolloutState",
    "Verb",
    "actual_weight",
    "canary_split",
    "plan_rollout",
    "resolve_bounds",
    "rollback_target",
    "step_toward",
]
