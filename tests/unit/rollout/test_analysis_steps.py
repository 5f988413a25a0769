"""The analyze step and background analysis in the machine, with measurements played by the sim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rollout_sim import Sim

from agent_operator.analysis.verdict import AnalysisVerdict, Bounds, Measurement, decide, judge, unreachable
from agent_operator.api.agent import Rollout
from agent_operator.api.analysis import Analysis
from agent_operator.controller.history import parse_history
from agent_operator.rollout import AnalysisRequest, RolloutPlan

ANALYSIS = Analysis.model_validate(
    {
        "prometheus": {"address": "http://prometheus:9090"},
        "metrics": [{"name": "errorRate", "maxIncrease": 50}],
        "minSamples": 10,
    }
)
BOUNDS = Bounds(max_increase=50, min_samples=10)
GOOD = decide([judge("errorRate", BOUNDS, Measurement(0.01, 100), Measurement(0.01, 100))])
BAD = decide([judge("errorRate", BOUNDS, Measurement(0.03, 100), Measurement(0.01, 100))])
NO_DATA = decide([judge("errorRate", BOUNDS, Measurement(None), Measurement(0.01, 100))])
DOWN = decide([unreachable("errorRate", BOUNDS, "connection refused")])
HOLD = decide(
    [
        judge(
            "errorRate",
            Bounds(max_increase=50, on_failure="Pause"),
            Measurement(0.03, 100),
            Measurement(0.01, 100),
        )
    ]
)


def rollout(*steps: dict[str, Any], auto_rollback: bool = True) -> Rollout:
    return Rollout.model_validate(
        {
            "strategy": "Canary",
            "canary": {"steps": list(steps), "maxSurge": 1},
            "progressDeadlineSeconds": 300,
            "autoRollback": auto_rollback,
        }
    )


def analyzing(
    verdicts: list[AnalysisVerdict | None],
    *,
    count: int = 2,
    background: bool = False,
    steps: tuple[dict[str, Any], ...] = (),
) -> Sim:
    """A sim with v1 stable and v2 the desired revision; step measurements answer ``verdicts`` in
    order (the last repeats; None: still running); background ones answer GOOD."""
    spec = ANALYSIS.model_copy(
        update={
            "background": ANALYSIS.model_validate(
                {**ANALYSIS.to_wire(), "background": {"intervalSeconds": 30}}
            ).background
        }
        if background
        else {}
    )
    answers = list(verdicts)
    step_answers: dict[object, AnalysisVerdict | None] = {}

    def analyst(request: AnalysisRequest) -> AnalysisVerdict | None:
        if request.step is None:
            return GOOD
        key = request.due
        if key not in step_answers:
            step_answers[key] = answers.pop(0) if len(answers) > 1 else answers[0]
        return step_answers[key]

    steps = steps or (
        {"setWeight": 50},
        {"analyze": {"intervalSeconds": 60, "count": count, "windowSeconds": 120}},
    )
    sim = Sim(rollout(*steps), 4, "v1", analysis_spec=spec, analyst=analyst)
    sim.run_until("Available")
    sim.desired = "v2"
    return sim


def reasons(plans: list[RolloutPlan]) -> list[str]:
    return [e.reason for p in plans for e in p.events]


def test_count_passing_measurements_promote_one_interval_apart() -> None:
    sim = analyzing([GOOD], count=2)
    sim.run_until("Available")
    step = [r for r in sim.requests if r.step == 1]
    assert [r.window_seconds for r in step] == [120, 120]
    assert step[1].due - step[0].due >= timedelta(seconds=60)
    seen = reasons(sim.plans)
    assert seen.count("AnalysisPassed") == 2
    assert seen.index("AnalysisStarted") < seen.index("AnalysisPassed") < seen.index("Promoted")
    promoted = next(p for p in sim.plans if any(e.reason == "Promoted" for e in p.events))
    assert [r.verdict.verdict for r in promoted.history[0].analysis] == ["Passed", "Passed"]
    # ...and the revision's history entry keeps the table through the history codec.
    stored = parse_history(sim.stored_history)["v2"].annotations.analysis
    assert [(r.step, r.verdict.results[0].canary) for r in stored] == [(1, 0.01), (1, 0.01)]


def test_first_measurement_waits_one_interval_and_the_timer_says_so() -> None:
    sim = analyzing([GOOD])
    plan = sim.run_until("Progressing")
    while plan.reason != "Analyzing":
        plan = sim.reconcile(1)
    assert plan.measure == ()
    assert plan.requeue_after == 60


def test_a_failed_measurement_rolls_back() -> None:
    sim = analyzing([GOOD, BAD], count=3)
    plan = sim.run_until("Degraded")
    assert (plan.reason, plan.replicas) == ("AnalysisFailed", {"v1": 4})
    assert plan.state.failed_revision == "v2"
    assert plan.history[0].outcome == "RolledBack"
    assert [r.verdict.verdict for r in plan.history[0].analysis] == ["Passed", "Failed"]
    assert "AnalysisFailed" in [e.reason for e in plan.events]
    # The table that rolled it back stays in status.
    assert plan.state.analysis is not None
    assert plan.state.analysis.verdict.verdict == "Failed"


@pytest.mark.parametrize(
    ("verdict", "reason"), [(NO_DATA, "InsufficientData"), (DOWN, "PrometheusUnreachable")]
)
def test_inconclusive_pauses_never_promotes_and_resumes_when_data_returns(
    verdict: AnalysisVerdict, reason: str
) -> None:
    sim = analyzing([verdict, verdict, verdict, GOOD], count=1)
    plan = sim.run_until("Paused")
    assert plan.reason == reason
    assert "resumes when data returns" in plan.message
    assert "v2" in plan.replicas
    assert plan.state.stable_revision == "v1"
    plan = sim.reconcile(60)
    assert (plan.phase, plan.reason) == ("Paused", reason)
    plan = sim.run_until("Available")
    assert plan.state.stable_revision == "v2"
    assert reasons(sim.plans).count("AnalysisInconclusive") == 3


def test_no_data_forever_is_never_promoted() -> None:
    sim = analyzing([NO_DATA])
    for _ in range(40):
        plan = sim.reconcile(60)
        assert plan.state.stable_revision == "v1"
    assert (plan.phase, plan.reason) == ("Paused", "InsufficientData")


def test_on_failure_pause_holds_the_canary_with_the_failing_table() -> None:
    sim = analyzing([HOLD])
    plan = sim.run_until("Paused")
    assert plan.reason == "AnalysisFailed"
    assert plan.replicas["v2"] > 0
    assert plan.state.failed_revision is None
    assert plan.state.analysis is not None
    assert plan.state.analysis.verdict.results[0].verdict == "Failed"
    held = plan.replicas
    for _ in range(3):
        again = sim.reconcile(120)
        assert (again.phase, again.replicas, again.events) == ("Paused", held, ())


def test_a_measurement_still_running_is_asked_for_again_without_events() -> None:
    sim = analyzing([None])
    plan = sim.run_until("Progressing")
    for _ in range(10):
        plan = sim.reconcile(30)
    assert plan.reason == "Analyzing"
    assert len(plan.measure) == 1
    assert plan.events == ()
    assert len({r.due for r in sim.requests}) == 1


def test_background_analysis_rolls_back_mid_step() -> None:
    sim = analyzing([GOOD], background=True, steps=({"setWeight": 50}, {"pause": {"durationSeconds": 3600}}))
    plan = sim.run_until("Progressing")
    while plan.reason != "PauseStep":
        plan = sim.reconcile(5)
    for _ in range(3):
        plan = sim.reconcile(30)
    assert (plan.reason, plan.state.step_index) == ("PauseStep", 1)
    assert sim.requests
    assert all(r.step is None and r.window_seconds == 300 for r in sim.requests)
    sim.analyst = lambda request: BAD
    plan = sim.run_until("Degraded", seconds=30)
    assert plan.reason == "AnalysisFailed"
    assert plan.replicas == {"v1": 4}
    assert "StepCompleted" not in [e.reason for e in plan.events]  # mid-step: the pause never ended


def test_background_inconclusive_does_not_stop_a_step() -> None:
    sim = analyzing([GOOD], background=True, steps=({"setWeight": 50}, {"pause": {"durationSeconds": 120}}))
    sim.analyst = lambda request: NO_DATA
    plan = sim.run_until("Available", seconds=30)
    assert plan.state.stable_revision == "v2"
    assert "AnalysisInconclusive" in reasons(sim.plans)
