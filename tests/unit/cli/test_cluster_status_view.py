"""The status view and its text (pure; no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cluster_fixtures import agent, canary_status, history

from agent_operator.cli._console import Console
from agent_operator.cli._status_view import describe_steps, format_status, status_view

NOW = datetime(2026, 1, 3, 12, 0, 0, tzinfo=UTC)


def deployment(revision: str, replicas: int, pods: int, ready: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"bot-{revision}",
            "labels": {"agentoperator.dev/agent": "bot", "agentoperator.dev/revision": revision},
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": pods, "readyReplicas": ready},
    }


def event(reason: str, when: str, message: str = "m") -> dict[str, Any]:
    return {"type": "Normal", "reason": reason, "message": message, "lastTimestamp": when}


def test_steps_are_the_spec_steps_plus_the_promotion() -> None:
    kinds = [s["kind"] for s in describe_steps(agent()["spec"]) or []]
    assert kinds == ["weight", "approval", "evaluate", "pause", "promote"]


def test_unparseable_spec_has_no_steps() -> None:
    assert describe_steps({"container": {}}) is None


def test_view_pairs_pods_with_revisions_and_roles() -> None:
    view = status_view(
        agent(canary_status(1)),
        [deployment("abcd3333", 1, 1, 0), deployment("bbbb2222", 3, 3, 3), {"metadata": {}}],
        [],
        history(),
    )
    assert [(r["revision"], r["number"], r["role"], r["ready"], r["pods"]) for r in view["revisions"]] == [
        ("bbbb2222", 2, "stable", 3, 3),
        ("abcd3333", 3, "canary", 0, 1),
    ]
    assert view["step"] == {"index": 1, "count": 5, "kind": "approval"}


def test_text_shows_step_weights_gates_and_waiting_approval() -> None:
    status = canary_status(
        1,
        evaluation={
            "revision": "abcd3333",
            "step": 2,
            "result": "Passed",
            "startedAt": "2026-01-03T11:00:00Z",
            "score": 0.9,
        },
    )
    status["conditions"] = [
        {"type": "Progressing", "status": "True", "reason": "Paused", "message": "waiting"},
        {"type": "Ready", "status": "False", "reason": "Progressing", "message": "canary"},
    ]
    status["readiness"] = {
        "score": 80,
        "policy": "builtin/production",
        "enforcement": "Enforce",
        "missingRequired": ["image.pinned"],
        "warnings": ["budget.cap"],
    }
    text = format_status(status_view(agent(status), [], [], history()), Console(), NOW)
    assert "stable 2 (bbbb2222)  canary 3 (abcd3333)" in text
    assert "step       2/5 pause until approved (agentctl approve bot)" in text
    assert "weight     desired 20%  actual 25%" in text
    assert "evaluation Passed at step 3 score 0.9" in text
    assert "waiting for approval (agentctl approve bot)" in text
    assert "failing: image.pinned  warnings: budget.cap" in text
    # Ready comes first whatever order status lists conditions in.
    conditions = text.split("conditions\n")[1]
    assert conditions.index("Ready") < conditions.index("Progressing")


def test_recorded_approval_of_this_step_is_shown_instead_of_waiting() -> None:
    approval = {"revision": "abcd3333", "step": 1, "by": "alice", "at": "2026-01-03T11:58:00Z"}
    text = format_status(
        status_view(agent(canary_status(1, approval=approval)), [], [], history()), Console(), NOW
    )
    assert "approved by alice at step 2, 2m ago" in text
    assert "waiting for approval" not in text


def test_no_canary_means_no_rollout_in_progress() -> None:
    status = {"phase": "Available", "stableRevision": "bbbb2222", "observedGeneration": 3}
    text = format_status(status_view(agent(status, paused=True), [], [], history()), Console(), NOW)
    assert "bot in agents: Available [paused]" in text
    assert "step       no rollout in progress" in text
    assert "gates      none" in text


def test_failure_and_unobserved_generation_are_called_out() -> None:
    status = {
        "phase": "Degraded",
        "stableRevision": "bbbb2222",
        "observedGeneration": 2,
        "rollout": {
            "failedRevision": "abcd3333",
            "failureReason": "EvaluationFailed",
            "message": "score 0.2 < 0.8",
        },
    }
    text = format_status(status_view(agent(status), [], [], history()), Console(), NOW)
    assert "(generation 3 not yet observed)" in text
    assert "failed     abcd3333 EvaluationFailed: score 0.2 < 0.8" in text


def test_only_the_last_five_events_newest_last_with_ages() -> None:
    events = [event(f"R{i}", f"2026-01-03T11:5{i}:00Z") for i in range(7)][::-1]
    view = status_view(agent(canary_status(0)), [], events, history())
    assert [e["reason"] for e in view["events"]] == ["R2", "R3", "R4", "R5", "R6"]
    text = format_status(view, Console(), NOW)
    assert text.splitlines()[-1].split() == ["4m", "Normal", "R6", "m"]


def test_colour_only_when_the_console_asks() -> None:
    view = status_view(agent(canary_status(0)), [], [], history())
    assert "\033[" not in format_status(view, Console(), NOW)
    assert "\033[" in format_status(view, Console(colour=True), NOW)


def test_the_schedule_line_shows_the_trend_the_next_run_and_a_suspension() -> None:
    scheduled = {
        "schedule": "0 3 * * *",
        "since": "2026-01-02T12:00:00Z",
        "revision": "bbbb2222",
        "nextScheduleTime": "2099-01-01T03:00:00Z",
        "scores": [
            {"at": "2026-01-03T03:01:00Z", "result": "Passed", "score": 0.95},
            {"at": "2026-01-04T03:01:00Z", "result": "Failed", "score": 0.5},
        ],
        "suspendedRevision": "bbbb2222",
        "suspendedAt": "2026-01-04T03:01:00Z",
    }
    status = {"phase": "Suspended", "stableRevision": "bbbb2222", "scheduledEvaluation": scheduled}
    view = status_view(agent(status), [], [], history())
    assert view["scheduledEvaluation"]["revision"] == "bbbb2222"
    (line,) = [x for x in format_status(view, Console(), NOW).splitlines() if x.startswith("schedule")]
    assert "0 3 * * * (UTC)" in line
    assert "revision bbbb2222 scores 0.95 0.5!" in line
    assert "next 2099-01-01T03:00:00Z" in line
    assert "suspended by onRegression: Suspend" in line


def test_no_schedule_line_without_a_schedule() -> None:
    text = format_status(status_view(agent(canary_status(0)), [], [], history()), Console(), NOW)
    assert not [x for x in text.splitlines() if x.startswith("schedule")]


def test_an_exhausted_budget_is_one_line_of_the_status() -> None:
    budget = {
        "state": "Exhausted",
        "windowStart": "2026-01-03T00:00:00Z",
        "windowEnd": "2026-01-04T00:00:00Z",
        "capUSD": 10,
        "spentUSD": 10.4,
    }
    status = {**canary_status(1), "budget": budget}
    text = format_status(status_view(agent(status), [], [], history()), Console(), NOW)
    assert "budget" in text
    assert "Exhausted: $10.40 of $10.00 (104%), resets 2026-01-04T00:00:00Z" in text


def test_no_budget_line_without_an_enforced_cap() -> None:
    text = format_status(status_view(agent(canary_status(1)), [], [], history()), Console(), NOW)
    assert "budget" not in text
