"""The analysis table (agentctl status/history) and the Event of a measurement."""

from __future__ import annotations

from agent_operator.analysis.status import event_for, run_status
from agent_operator.analysis.verdict import Bounds, Measurement, decide, judge
from agent_operator.cli._analysis_view import analysis_table

ROWS = [
    judge("errorRate", Bounds(max=0.05, max_delta=0.01), Measurement(0.012, 412), Measurement(0.011, 3650)),
    judge("costPerTask", Bounds(max_increase=50), Measurement(0.0123, 412), Measurement(0.006, 3650)),
    judge("latencyP95", Bounds(max_increase=25), Measurement(None, 0), Measurement(1.9, 3650)),
]


def test_table() -> None:
    run = run_status(decide(ROWS), revision="7f9c2d1a0b", step=1, measured_at="2026-12-02T03:00:00Z")
    assert analysis_table(run).splitlines() == [
        "analysis of 7f9c2d1a0b at 2026-12-02T03:00:00Z: Failed (AnalysisFailed) -> Rollback",
        "METRIC        CANARY   STABLE   THRESHOLD                                   VERDICT"
        "                    SAMPLES",
        "errorRate     0.012    0.011    max 0.05, +0.01 over stable (limit 0.021)   Passed"
        "                     412/3650",
        "costPerTask   0.0123   0.006    +50% of stable (limit 0.009)                Failed: AboveMaxIncrease"
        "   412/3650",
        "latencyP95    -        1.9      +25% of stable                              Inconclusive: NoData"
        "       0/3650",
    ]


def test_events() -> None:
    assert event_for(decide(ROWS[:1]), "abc") == (
        "Normal",
        "AnalysisPassed",
        "analysis of revision abc passed: every check passed",
    )
    kind, reason, message = event_for(decide(ROWS), "abc")
    assert (kind, reason) == ("Warning", "AnalysisFailed")
    assert message.startswith("revision abc rolls back: costPerTask is 0.0123, more than 50% over stable")
    kind, reason, message = event_for(decide(ROWS[2:]), "abc")
    assert (kind, reason) == ("Warning", "AnalysisInconclusive")
    assert message == (
        "analysis of revision abc is inconclusive (NoData), paused:"
        " latencyP95: the canary has no data in the window"
    )
