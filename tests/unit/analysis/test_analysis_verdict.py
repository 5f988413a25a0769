"""judge, decide and runs_outcome: the analysis verdicts as pure functions, table-driven."""

from __future__ import annotations

import pytest

from agent_operator.analysis.status import run_status
from agent_operator.analysis.verdict import (
    Action,
    Bounds,
    Measurement,
    MetricResult,
    OnInconclusive,
    Reason,
    Verdict,
    decide,
    describe_bounds,
    judge,
    runs_outcome,
    unreachable,
)

M = Measurement
NONE = Measurement(None, 0)


@pytest.mark.parametrize(
    ("bounds", "canary", "stable", "verdict", "reason"),
    [
        # absolute bound
        (Bounds(max=0.05), M(0.01, 100), None, "Passed", "WithinBounds"),
        (Bounds(max=0.05), M(0.05, 100), None, "Passed", "WithinBounds"),  # at the limit passes
        (Bounds(max=0.05), M(0.0500000000001, 100), None, "Passed", "WithinBounds"),  # float noise
        (Bounds(max=0.05), M(0.06, 100), None, "Failed", "AboveMax"),
        (Bounds(max=0.0), M(0.0, 100), None, "Passed", "WithinBounds"),
        (Bounds(max=-1.0), M(0.0, 100), None, "Failed", "AboveMax"),
        # no data and too little data
        (Bounds(max=0.05), NONE, None, "Inconclusive", "NoData"),
        (Bounds(max=0.05), M(None, 50), M(0.01, 50), "Inconclusive", "NoData"),
        (Bounds(max=0.05, min_samples=20), M(0.01, 19), None, "Inconclusive", "InsufficientData"),
        (Bounds(max=0.05, min_samples=20), M(0.9, 19), None, "Inconclusive", "InsufficientData"),
        (Bounds(max=0.05, min_samples=20), M(0.01, 20), None, "Passed", "WithinBounds"),
        (Bounds(max=0.05, min_samples=0), M(0.01, 0), None, "Passed", "WithinBounds"),
        # relative: maxIncrease in percent
        (Bounds(max_increase=50), M(1.5, 10), M(1.0, 10), "Passed", "WithinBounds"),
        (Bounds(max_increase=50), M(1.51, 10), M(1.0, 10), "Failed", "AboveMaxIncrease"),
        (Bounds(max_increase=50), M(2.0, 10), M(1.0, 10), "Failed", "AboveMaxIncrease"),  # cost 2x
        (Bounds(max_increase=50), M(0.5, 10), M(1.0, 10), "Passed", "WithinBounds"),  # better than stable
        (Bounds(max_increase=0), M(1.0, 10), M(1.0, 10), "Passed", "WithinBounds"),
        (Bounds(max_increase=50), M(0.0, 10), M(0.0, 10), "Passed", "WithinBounds"),
        (Bounds(max_increase=50), M(0.01, 10), M(0.0, 10), "Failed", "AboveMaxIncrease"),  # any rise over 0
        # relative: maxDelta
        (Bounds(max_delta=0.02), M(0.03, 10), M(0.01, 10), "Passed", "WithinBounds"),
        (Bounds(max_delta=0.02), M(0.031, 10), M(0.01, 10), "Failed", "AboveMaxDelta"),
        (Bounds(max_delta=0.02), M(0.02, 10), M(0.0, 10), "Passed", "WithinBounds"),
        # every bound set must hold
        (Bounds(max=1.2, max_increase=50, max_delta=0.1), M(1.05, 10), M(1.0, 10), "Passed", "WithinBounds"),
        (Bounds(max=1.0, max_increase=50, max_delta=0.1), M(1.11, 10), M(1.0, 10), "Failed", "AboveMax"),
        (Bounds(max=5.0, max_increase=50, max_delta=0.1), M(1.11, 10), M(1.0, 10), "Failed", "AboveMaxDelta"),
        (
            Bounds(max=5.0, max_increase=5, max_delta=1.0),
            M(1.1, 10),
            M(1.0, 10),
            "Failed",
            "AboveMaxIncrease",
        ),
        # stable without data: relative bounds cannot be judged, and say so
        (Bounds(max_increase=50), M(1.0, 10), None, "Inconclusive", "StableNoData"),
        (Bounds(max_increase=50), M(1.0, 10), NONE, "Inconclusive", "StableNoData"),
        (Bounds(max_delta=1, min_samples=5), M(1.0, 10), M(1.0, 4), "Inconclusive", "StableNoData"),
        # ...but an absolute failure is a failure whatever stable says
        (Bounds(max=0.5, max_increase=50), M(1.0, 10), NONE, "Failed", "AboveMax"),
        (Bounds(max=2.0, max_increase=50), M(1.0, 10), NONE, "Inconclusive", "StableNoData"),
        # stable is not needed by an absolute-only check
        (Bounds(max=2.0), M(1.0, 10), NONE, "Passed", "WithinBounds"),
    ],
)
def test_judge(
    bounds: Bounds, canary: Measurement, stable: Measurement | None, verdict: Verdict, reason: Reason
) -> None:
    result = judge("m", bounds, canary, stable)
    assert (result.verdict, result.reason) == (verdict, reason), result.message


@pytest.mark.parametrize(
    ("bounds", "stable", "limit"),
    [
        (Bounds(max=0.05), None, 0.05),
        (Bounds(max_increase=50), M(2.0, 10), 3.0),
        (Bounds(max_delta=0.5), M(2.0, 10), 2.5),
        (Bounds(max=2.8, max_increase=50, max_delta=0.5), M(2.0, 10), 2.5),
        (Bounds(max=2.2, max_increase=50, max_delta=0.5), M(2.0, 10), 2.2),
        (Bounds(max_increase=50), NONE, None),
    ],
)
def test_limit_is_the_tightest_bound(bounds: Bounds, stable: Measurement | None, limit: float | None) -> None:
    assert judge("m", bounds, M(0.0, 10), stable).limit == limit


def test_result_row_carries_values_samples_and_threshold() -> None:
    row = judge("costPerTask", Bounds(max_increase=50, on_failure="Pause"), M(0.02, 40.4), M(0.01, 39.6))
    assert row == MetricResult(
        name="costPerTask",
        verdict="Failed",
        reason="AboveMaxIncrease",
        canary=0.02,
        stable=0.01,
        canary_samples=40,
        stable_samples=40,
        limit=pytest.approx(0.015),  # type: ignore[arg-type]
        threshold="+50% of stable",
        message="costPerTask is 0.02, more than 50% over stable (0.01); limit 0.015",
        on_failure="Pause",
    )


def test_stable_no_data_message_says_so() -> None:
    assert "stable has no data" in judge("errorRate", Bounds(max_increase=10), M(0.1, 5), NONE).message
    few = judge("errorRate", Bounds(max_delta=1, min_samples=20), M(0.1, 25), M(0.1, 3)).message
    assert "stable has 3 tasks, fewer than the 20 needed" in few


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        (Bounds(max=0.05), "max 0.05"),
        (Bounds(max_increase=50), "+50% of stable"),
        (Bounds(max=1, max_increase=12.5, max_delta=0.25), "max 1, +12.5% of stable, +0.25 over stable"),
    ],
)
def test_describe_bounds(bounds: Bounds, text: str) -> None:
    assert describe_bounds(bounds) == text


def _row(verdict: Verdict, reason: Reason = "WithinBounds", on_failure: str = "Rollback") -> MetricResult:
    value = None if reason in ("NoData", "PrometheusUnreachable") else 1.0
    return MetricResult(
        verdict + reason, verdict, reason, value, 1.0, 10, 10, 2.0, "max 2", "msg", on_failure
    )  # type: ignore[arg-type]


PASS = _row("Passed")
FAIL = _row("Failed", "AboveMax")
FAIL_PAUSE = _row("Failed", "AboveMax", on_failure="Pause")
NODATA = _row("Inconclusive", "NoData")
FEW = _row("Inconclusive", "InsufficientData")
NOSTABLE = _row("Inconclusive", "StableNoData")
DOWN = _row("Inconclusive", "PrometheusUnreachable")
DOWN_PAUSE = _row("Inconclusive", "PrometheusUnreachable", on_failure="Pause")


@pytest.mark.parametrize(
    ("rows", "on_inconclusive", "verdict", "action", "reason"),
    [
        ([PASS], "Pause", "Passed", "Continue", "AnalysisPassed"),
        ([PASS, PASS], "Fail", "Passed", "Continue", "AnalysisPassed"),
        ([FAIL], "Pause", "Failed", "Rollback", "AnalysisFailed"),
        ([PASS, FAIL], "Pass", "Failed", "Rollback", "AnalysisFailed"),
        ([FAIL_PAUSE], "Pause", "Failed", "Pause", "AnalysisFailed"),
        ([FAIL_PAUSE, FAIL], "Pause", "Failed", "Rollback", "AnalysisFailed"),  # Rollback wins
        ([FAIL, NODATA], "Pass", "Failed", "Rollback", "AnalysisFailed"),  # failure beats no data
        # inconclusive, by onInconclusive
        ([PASS, FEW], "Pause", "Inconclusive", "Pause", "InsufficientData"),
        ([PASS, FEW], "Fail", "Failed", "Rollback", "InsufficientData"),
        ([PASS, FEW], "Pass", "Inconclusive", "Continue", "InsufficientData"),
        ([PASS, NOSTABLE], "Pause", "Inconclusive", "Pause", "StableNoData"),
        ([DOWN], "Pause", "Inconclusive", "Pause", "PrometheusUnreachable"),
        ([DOWN_PAUSE], "Fail", "Failed", "Pause", "PrometheusUnreachable"),
        # never continue on no data, even with onInconclusive: Pass
        ([NODATA], "Pass", "Inconclusive", "Pause", "NoData"),
        ([NODATA, FEW], "Pass", "Inconclusive", "Pause", "NoData"),
        ([DOWN, DOWN], "Pass", "Inconclusive", "Pause", "PrometheusUnreachable"),
        ([], "Pass", "Inconclusive", "Pause", "NoData"),
        ([], "Pause", "Inconclusive", "Pause", "NoData"),
    ],
)
def test_decide(
    rows: list[MetricResult], on_inconclusive: OnInconclusive, verdict: Verdict, action: Action, reason: str
) -> None:
    decision = decide(rows, on_inconclusive)
    assert (decision.verdict, decision.action, decision.reason) == (verdict, action, reason)
    assert decision.results == tuple(rows)


def test_decide_message_lists_the_failing_checks_only() -> None:
    failing = judge("errorRate", Bounds(max=0.05), M(0.15, 100), None)
    decision = decide([PASS, failing])
    assert decision.message == "errorRate is 0.15, above max 0.05"


def test_unreachable_row() -> None:
    row = unreachable("latencyP95", Bounds(max=2.0, on_failure="Pause"), "cannot reach http://p:9090")
    assert (row.verdict, row.reason, row.canary, row.on_failure) == (
        "Inconclusive",
        "PrometheusUnreachable",
        None,
        "Pause",
    )
    assert row.message == "latencyP95: cannot reach http://p:9090"


@pytest.mark.parametrize(
    ("actions", "count", "outcome"),
    [
        ([], 3, "Measure"),
        (["Continue"], 3, "Measure"),
        (["Continue"] * 3, 3, "Continue"),
        (["Continue"] * 4, 3, "Continue"),
        (["Continue", "Rollback"], 3, "Rollback"),
        (["Pause", "Continue", "Continue"], 3, "Pause"),
        (["Continue", "Pause", "Rollback"], 3, "Pause"),  # the first that does not continue decides
        (["Continue"], 1, "Continue"),
    ],
)
def test_runs_outcome(actions: list[Action], count: int, outcome: str) -> None:
    assert runs_outcome(actions, count) == outcome


def test_run_status_is_the_table_in_wire_form() -> None:
    rows = [
        judge("errorRate", Bounds(max=0.05), M(0.01, 40), M(0.01, 41)),
        judge("costPerTask", Bounds(max_increase=50), M(0.02, 40), M(None, 0)),
    ]
    status = run_status(decide(rows), revision="abc", step=2, measured_at="2026-12-02T03:00:00Z")
    assert status.to_wire() == {
        "revision": "abc",
        "step": 2,
        "measuredAt": "2026-12-02T03:00:00Z",
        "verdict": "Inconclusive",
        "action": "Pause",
        "reason": "StableNoData",
        "message": "costPerTask: stable has no data, so the canary cannot be compared with it",
        "metrics": [
            {
                "name": "errorRate",
                "verdict": "Passed",
                "reason": "WithinBounds",
                "canary": 0.01,
                "stable": 0.01,
                "limit": 0.05,
                "threshold": "max 0.05",
                "canarySamples": 40,
                "stableSamples": 41,
            },
            {
                "name": "costPerTask",
                "verdict": "Inconclusive",
                "reason": "StableNoData",
                "canary": 0.02,
                "threshold": "+50% of stable",
                "canarySamples": 40,
                "stableSamples": 0,
            },
        ],
    }
