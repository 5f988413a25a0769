"""The spend cap that fails closed: the daily window, spend from Prometheus, and the verdict.

Pure except :mod:`.measure`, whose only I/O is the ``query`` method of the client it is given.
"""

from .verdict import BudgetInput, BudgetVerdict, CanaryShare, Override, Spend, decide
from .window import Window, window_at

__all__ = [
    "BudgetInput",
    "BudgetVerdict",
    "CanaryShare",
    "Override",
    "Spend",
    "Window",
    "decide",
    "window_at",
]
