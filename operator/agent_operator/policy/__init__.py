"""The readiness policy engine: production-readiness checks, built-in profiles, ReadinessPolicy
loading and selection, custom CEL rules, and the scored report.

Pure: it reads an AgentDeployment (and the objects the renderer makes from it) and returns a
report. No Kubernetes API calls.
"""

from ._effective import EffectivePolicy
from ._evaluate import evaluate
from ._loading import load_policy, select_policy
from ._profiles import builtin_policy
from ._registry import CHECKS
from ._types import CheckDefinition, CheckResult, PolicyError, ReadinessReport

__all__ = [
    "CHECKS",
    "CheckDefinition",
    "CheckResult",
    "EffectivePolicy",
    "PolicyError",
    "ReadinessReport",
    "builtin_policy",
    "evaluate",
    "load_policy",
    "select_policy",
]
