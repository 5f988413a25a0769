"""The analysis table of ``agentctl status`` and ``agentctl history``: one row per check of a
measurement, from the status model (pure, so the layout is unit tested without a cluster)."""

from __future__ import annotations

from ..api.analysis import AnalysisRunStatus
from ._history import format_table

HEADERS = ("METRIC", "CANARY", "STABLE", "THRESHOLD", "VERDICT", "SAMPLES")


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def analysis_table(run: AnalysisRunStatus) -> str:
    """A heading line with the measurement's verdict, then the table."""
    heading = f"analysis of {run.revision} at {run.measured_at}: {run.verdict} ({run.reason}) -> {run.action}"
    rows = [
        (
            m.name,
            _value(m.canary),
            _value(m.stable),
            m.threshold + (f" (limit {_value(m.limit)})" if m.limit is not None else ""),
            m.verdict if m.verdict == "Passed" else f"{m.verdict}: {m.reason}",
            f"{m.canary_samples}/{m.stable_samples}",
        )
        for m in run.metrics
    ]
    return heading + "\n" + format_table(HEADERS, rows)
