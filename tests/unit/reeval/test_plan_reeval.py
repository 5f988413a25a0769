"""The scheduled re-evaluation decision, as table tests on hand-built inputs: when a run is due,
that runs never overlap, that a missed run is caught up once, how a run is judged, what a
regression does (Alert, Suspend) and how a suspension is lifted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_operator.api.agent import Evaluation
from agent_operator.reeval import ReevalInput, ReevalPlan, ReevalState, ScheduledRun, ScoreRecord, plan_reeval
from agent_operator.rollout.types import EvaluationObservation

T0 = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
STABLE = "aaaaaaaaaa"
NEW = "bbbbbbbbbb"
RUNNING = EvaluationObservation(exists=True)
NOT_CREATED = EvaluationObservation(exists=False)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def suite(schedule: str | None = "* * * * *", **fields: Any) -> Evaluation:
    return Evaluation.model_validate(
        {
            "image": "registry.example.com/evals:1",
            "minScore": 0.9,
            "timeoutSeconds": 120,
            "schedule": schedule,
        }
        | fields
    )


def scored(score: float | None) -> EvaluationObservation:
    return EvaluationObservation(exists=True, succeeded=True, score=score)


def inp(
    state: ReevalState,
    now: datetime,
    *,
    spec: Evaluation | None = None,
    job: EvaluationObservation | None = None,
    **changes: Any,
) -> ReevalInput:
    base = ReevalInput(
        spec=spec if spec is not None else suite(),
        state=state,
        stable_revision=STABLE,
        canary_revision=None,
        desired_revision=STABLE,
        suspend=False,
        now=now,
        job=job,
    )
    return replace(base, **changes)


def following(since: datetime = T0, **changes: Any) -> ReevalState:
    """The state of a schedule followed since ``since`` for the stable revision."""
    return replace(ReevalState(schedule="* * * * *", since=since, revision=STABLE), **changes)


def running_since(slot: datetime, started: datetime | None = None, **changes: Any) -> ReevalState:
    run = ScheduledRun(STABLE, slot, started or slot)
    return following(last_slot=slot, running=run, **changes)


def replan(plan: ReevalPlan, first: ReevalInput) -> ReevalPlan:
    """The next reconcile, from the plan's own state, with nothing else changed."""
    return plan_reeval(replace(first, state=plan.state))


# -- when a run starts --------------------------------------------------------------------------


def test_no_schedule_keeps_no_state_and_sets_no_condition() -> None:
    plan = plan_reeval(inp(following(), at(5), spec=suite(None)))
    assert plan == ReevalPlan(state=ReevalState())
    assert plan_reeval(replace(inp(following(), at(5)), spec=None)) == ReevalPlan(state=ReevalState())


def test_a_new_schedule_is_anchored_at_now_and_runs_at_its_first_slot() -> None:
    first = inp(ReevalState(), at(0.5))
    plan = plan_reeval(first)
    assert (plan.state.since, plan.state.running, plan.run_job) == (at(0.5), None, False)
    assert plan.next_run == at(1)
    assert plan.requeue_after == pytest.approx(30.25)
    assert plan.condition is not None
    assert (plan.condition.status, plan.condition.reason) == ("False", "NotEvaluatedYet")
    due = plan_reeval(replace(first, state=plan.state, now=at(1) + timedelta(seconds=2)))
    assert due.state.running == ScheduledRun(STABLE, at(1), at(1) + timedelta(seconds=2))
    assert due.run_job
    assert due.state.last_slot == at(1)
    assert due.events == ()


@pytest.mark.parametrize(
    ("label", "state", "now", "expected_slot"),
    [
        ("not yet due", following(), at(0.9), None),
        ("the first slot", following(), at(1), at(1)),
        ("a slot already run", following(last_slot=at(1)), at(1.9), None),
        ("the next slot", following(last_slot=at(1)), at(2), at(2)),
        ("five missed: one run, for the latest", following(last_slot=at(1)), at(6.5), at(6)),
        ("a day missed: one run", following(last_slot=at(1)), at(24 * 60 + 0.5), at(24 * 60)),
    ],
)
def test_which_slot_runs(
    label: str, state: ReevalState, now: datetime, expected_slot: datetime | None
) -> None:
    plan = plan_reeval(inp(state, now))
    slot = plan.state.running.slot if plan.state.running else None
    assert slot == expected_slot, label


def test_a_missed_run_is_caught_up_once_not_once_per_missed_slot() -> None:
    """The operator was down for an hour: one run on return, the next one at the next slot."""
    first = inp(following(last_slot=at(0)), at(60.5))
    caught_up = plan_reeval(first)
    assert caught_up.state.running is not None
    assert caught_up.state.running.slot == at(60)
    finished = plan_reeval(replace(first, state=caught_up.state, now=at(60.7), job=scored(0.95)))
    assert finished.state.running is None
    assert len(finished.state.scores) == 1
    assert finished.next_run == at(61)
    again = replan(finished, replace(first, now=at(60.8), job=None))
    assert again.state.running is None, "no second run for the other 59 missed slots"
    assert again.state == finished.state


@pytest.mark.parametrize(
    ("label", "changes"),
    [
        ("a canary in flight", {"canary_revision": NEW}),
        ("spec.suspend", {"suspend": True}),
        ("nothing deployed yet", {"stable_revision": None}),
    ],
)
def test_no_run_starts_while(label: str, changes: dict[str, Any]) -> None:
    state = following(revision=changes.get("stable_revision", STABLE), last_slot=at(0))
    held = plan_reeval(inp(state, at(5.5), **changes))
    assert held.state.running is None, label
    assert held.next_run == at(1), "the overdue slot is shown, and caught up once afterwards"
    assert held.requeue_after is None, "no timer for an overdue slot: the change that frees it wakes us"
    freed = plan_reeval(inp(held.state, at(6.5)))
    assert freed.state.running is not None
    assert freed.state.running.slot == at(6)


def test_runs_never_overlap() -> None:
    state = running_since(at(1))
    for minutes in (1.5, 2, 2.9, 3):  # every slot of the two-minute timeout passes
        plan = plan_reeval(inp(state, at(minutes), job=RUNNING))
        assert plan.state.running == state.running, "the run in flight is the only one"
        assert plan.run_job
    plan = plan_reeval(inp(state, at(2.5), job=RUNNING))
    assert plan.requeue_after == pytest.approx(120 - 90 + 1), "woken at the run's timeout"


def test_slots_passed_during_a_long_run_are_caught_up_once_when_it_ends() -> None:
    state = running_since(at(1))
    ended = plan_reeval(inp(state, at(4.5), job=scored(0.95)))
    assert ended.state.running is not None, "the run ended and the latest missed slot starts at once"
    assert ended.state.running.slot == at(4)
    assert [s.score for s in ended.state.scores] == [0.95]


def test_replanning_the_same_moment_changes_nothing_and_emits_nothing() -> None:
    first = inp(following(last_slot=at(0)), at(3.25))
    plan = plan_reeval(first)
    again = plan_reeval(replace(first, state=plan.state, job=NOT_CREATED))
    assert again.state == plan.state
    assert again.events == ()
    assert again.run_job, "the Job not yet created is asked for again"


# -- judging a run ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "elapsed", "result", "reason", "score"),
    [
        (scored(0.95), 0.5, "Passed", "Passing", 0.95),
        (scored(0.9), 0.5, "Passed", "Passing", 0.9),
        (scored(None), 0.5, "Passed", "Passing", None),
        (scored(0.5), 0.5, "Failed", "ScoreBelowMinimum", 0.5),
        (
            EvaluationObservation(exists=True, failed=True, message="boom"),
            0.5,
            "Failed",
            "EvaluationFailed",
            None,
        ),
        (EvaluationObservation(exists=True, failed=True, score=0.2), 0.5, "Failed", "ScoreBelowMinimum", 0.2),
        (RUNNING, 2.1, "TimedOut", "EvaluationTimedOut", None),
        (NOT_CREATED, 2.1, "TimedOut", "EvaluationTimedOut", None),
    ],
)
def test_a_finished_run_is_judged_as_the_gate_judges(
    job: EvaluationObservation, elapsed: float, result: str, reason: str, score: float | None
) -> None:
    plan = plan_reeval(inp(running_since(at(1)), at(1 + elapsed), job=job))
    (record,) = plan.state.scores
    assert (record.result, record.score, record.slot) == (result, score, at(1))
    assert plan.condition is not None
    assert plan.condition.reason == reason
    assert plan.condition.status == ("False" if result == "Passed" else "True")
    assert not plan.suspended, "onRegression defaults to Alert"
    kinds = [(e.type, e.reason) for e in plan.events]
    expected = (
        ("Normal", "ScheduledEvaluationPassed") if result == "Passed" else ("Warning", "EvaluationRegressed")
    )
    assert kinds == [expected]


def test_a_run_still_going_is_not_judged() -> None:
    plan = plan_reeval(inp(running_since(at(1)), at(2.9), job=RUNNING))
    assert plan.state.scores == ()
    assert plan.events == ()


def test_the_last_ten_scores_are_kept_oldest_first() -> None:
    old = tuple(ScoreRecord(at(-i), "Passed", 0.9 + i / 100) for i in range(10, 0, -1))
    plan = plan_reeval(inp(running_since(at(1), scores=old), at(1.5), job=scored(0.5)))
    assert len(plan.state.scores) == 10
    assert plan.state.scores[0] == old[1]
    assert plan.state.scores[-1].score == 0.5
    assert plan.condition is not None
    assert "0.99 0.98" in plan.condition.message
    assert plan.condition.message.count(" ") > 10


def test_a_pass_after_a_regression_is_announced_as_recovered() -> None:
    bad = (ScoreRecord(at(0), "Failed", 0.5, "score 0.5 below minScore 0.9"),)
    plan = plan_reeval(inp(running_since(at(1), scores=bad), at(1.5), job=scored(0.95)))
    assert [e.reason for e in plan.events] == ["EvaluationRecovered"]
    assert plan.condition is not None
    assert plan.condition.status == "False"


# -- the serving revision changes -----------------------------------------------------------------


def test_a_new_stable_revision_shows_its_own_trend_and_drops_the_old_run() -> None:
    earlier = (ScoreRecord(at(-60), "Passed", 0.97),)
    state = running_since(at(1), scores=(ScoreRecord(at(0), "Failed", 0.4),))
    plan = plan_reeval(
        inp(
            state,
            at(1.5),
            job=scored(0.1),
            stable_revision=NEW,
            desired_revision=NEW,
            history_scores={NEW: earlier},
        )
    )
    assert plan.state.revision == NEW
    assert plan.state.scores == earlier, "seeded from the revision's history record"
    assert plan.events == (), "the old revision's run is not judged against the new one"


def test_a_changed_expression_starts_counting_afresh() -> None:
    state = following(last_slot=at(0))
    plan = plan_reeval(inp(state, at(90), spec=suite("0 * * * *")))
    assert plan.state.running is None, "slots of the old expression are not caught up"
    assert (plan.state.schedule, plan.state.since) == ("0 * * * *", at(90))
    assert plan.next_run == at(120)


def test_an_expression_that_never_fires_says_so() -> None:
    plan = plan_reeval(inp(ReevalState(), at(0), spec=suite("0 0 30 2 *")))
    assert plan.next_run is None
    assert plan.requeue_after is None
    assert plan.condition is not None
    assert "never" in plan.condition.message


# -- onRegression: Suspend ------------------------------------------------------------------------


def test_suspend_holds_the_agent_until_a_new_revision_a_rollback_or_alert() -> None:
    spec = suite(onRegression="Suspend")
    first = inp(running_since(at(1)), at(1.5), spec=spec, job=scored(0.5))
    plan = plan_reeval(first)
    assert plan.suspended
    assert plan.state.suspended_revision == STABLE
    assert plan.condition is not None
    assert plan.condition.status == "True"
    assert "scaled to 0" in plan.condition.message
    (event,) = plan.events
    assert (event.type, event.reason) == ("Warning", "EvaluationRegressed")
    assert "scaled to 0" in event.message

    held = plan_reeval(replace(first, state=plan.state, now=at(30), job=None))
    assert held.suspended
    assert held.state.running is None, "nothing serves, so nothing is evaluated"
    assert held.events == ()

    lifts = {
        "new revision": {"desired_revision": NEW},
        "rollback": {"stable_revision": NEW, "history_scores": {}},
        "Alert": {"spec": suite(onRegression="Alert")},
    }
    for label, changes in lifts.items():
        lifted = plan_reeval(replace(first, state=plan.state, now=at(30), job=None, **changes))
        assert not lifted.suspended, label
        assert lifted.state.suspended_revision is None, label
        assert [e.reason for e in lifted.events] == ["RegressionSuspensionLifted"], label


def test_a_regression_does_not_suspend_a_revision_the_spec_already_moved_away_from() -> None:
    spec = suite(onRegression="Suspend")
    plan = plan_reeval(inp(running_since(at(1)), at(1.5), spec=spec, job=scored(0.5), desired_revision=NEW))
    assert not plan.suspended
    assert plan.condition is not None
    assert plan.condition.status == "True"
