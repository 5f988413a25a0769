"""Walking a canary through its steps: start, enter, check, advance, fail, promote."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from ..widening import Widening
from ._analysis import check_analyze, check_background
from ._decision import Decision, fail_canary, promote_canary, supersede_canary
from ._replicas import canary_split
from ._steps import Step, weight_at
from .types import EvaluationRecord

CRASH_LOOP_RESTARTS = 3
"""Container restarts of the canary since it started that count as a crash loop."""

Verdict = Literal["wait", "done", "failed"]


def describe(step: Step) -> str:
    if step.kind == "weight":
        return f"setWeight {step.weight}"
    if step.kind == "pause":
        return f"pause {step.duration_seconds}s"
    if step.kind == "approval" and step.widening:
        return "approve widening"
    if step.kind == "approval":
        return "pause until approved"
    if step.kind == "evaluate":
        return "evaluate"
    if step.kind == "analyze":
        return f"analyze {step.count}x every {step.interval_seconds}s over {step.window_seconds}s"
    if step.kind == "recreate":
        return "recreate"
    return "promote to 100%"


def widening_summary(widenings: tuple[Widening, ...], limit: int = 5) -> str:
    """The widenings on one line, the first ``limit`` of them."""
    shown = "; ".join(w.message for w in widenings[:limit])
    more = len(widenings) - limit
    return shown + (f"; {more} more" if more > 0 else "")


def elapsed_seconds(d: Decision) -> float:
    started = d.state.step_started_at
    return 0.0 if started is None else (d.inp.now - started).total_seconds()


def start_canary(d: Decision, steps: tuple[Step, ...]) -> None:
    """Make the desired revision the canary, restarting from step 0 against the same stable when
    another canary was in flight."""
    desired = d.inp.desired_revision
    supersede_canary(d, keep=desired, why=f"the spec now asks for revision {desired}")
    if d.state.canary_revision == desired:
        return
    d.clear_canary(
        canary_revision=desired,
        rollout_started_at=d.inp.now,
        restart_baseline=d.observed(desired).restarts,
        analysis=None,
        widenings=d.inp.widenings,
    )
    d.record_revision = desired
    d.emit(
        "Normal",
        "RolloutStarted",
        f"revision {desired} rolls out ({d.inp.rollout.strategy}, {len(steps)} steps) "
        f"against stable {d.state.stable_revision}",
    )


def advance(d: Decision, steps: tuple[Step, ...]) -> None:
    """Check failure signals, then complete as many steps as the observations allow."""
    if d.state.failure_reason is not None:
        return  # frozen after a failure with autoRollback off: a human decides
    if _crash_looping(d):
        return
    if check_background(d):
        return
    for _ in range(len(steps) + 1):
        index = d.state.step_index
        step = steps[index]
        if d.state.step_started_at is None:
            _enter(d, step, index)
        verdict = _check(d, step, index)
        if verdict != "done":
            return
        if step.kind in ("promote", "recreate"):
            promote_canary(d, len(steps))
            return
        d.emit(
            "Normal",
            "StepCompleted",
            f"revision {d.state.canary_revision} completed step {index} ({describe(step)})",
        )
        d.update(step_index=index + 1, step_started_at=None)


def _crash_looping(d: Decision) -> bool:
    canary = d.observed(d.state.canary_revision)
    if canary.restarts < d.state.restart_baseline:
        # Pods were replaced and took their restart counts with them: count from what is left.
        d.update(restart_baseline=canary.restarts)
    restarts = canary.restarts - d.state.restart_baseline
    if restarts < CRASH_LOOP_RESTARTS:
        return False
    fail_canary(
        d,
        "RolledBack",
        "CrashLoopBackOff",
        f"its containers restarted {restarts} times since the rollout started",
        roll_back=d.inp.rollout.auto_rollback,
    )
    return True


def _enter(d: Decision, step: Step, index: int) -> None:
    canary = d.state.canary_revision
    assert canary is not None
    d.update(step_started_at=d.inp.now)
    if step.kind == "pause":
        d.emit("Normal", "Paused", f"revision {canary} pauses {step.duration_seconds}s at step {index}")
    elif step.kind == "approval" and step.widening:
        d.emit(
            "Warning",
            "AwaitingApproval",
            f"revision {canary} widens the agent's reach ({widening_summary(d.state.widenings)}): it waits "
            f"at step {index}, before any pod of it runs, for agentctl approve",
        )
    elif step.kind == "approval":
        d.emit("Normal", "AwaitingApproval", f"revision {canary} waits at step {index} for agentctl approve")
    elif step.kind == "evaluate":
        d.update(evaluation=EvaluationRecord(canary, index, "Running", d.inp.now))
        d.emit("Normal", "EvaluationStarted", f"evaluation of revision {canary} started at step {index}")
    elif step.kind == "analyze":
        d.update(analysis_passed=0, analysis_measured_at=None)
        d.emit(
            "Normal",
            "AnalysisStarted",
            f"revision {canary} at step {index}: {describe(step)}, "
            f"first measurement in {step.interval_seconds}s",
        )


def _check(d: Decision, step: Step, index: int) -> Verdict:
    if step.kind == "pause":
        return "done" if elapsed_seconds(d) >= step.duration_seconds else "wait"
    if step.kind == "approval":
        approval = d.state.approval
        ok = approval is not None and (approval.revision, approval.step) == (d.state.canary_revision, index)
        return "done" if ok else "wait"
    if step.kind == "evaluate":
        return _check_evaluation(d, step)
    if step.kind == "analyze":
        return check_analyze(d, step, index)
    return _check_pods(d, step, index)


def pods_target(d: Decision, steps: tuple[Step, ...]) -> tuple[int, int]:
    """(stable, canary) replicas the current step aims for."""
    return canary_split(d.inp.replicas, weight_at(steps, d.state.step_index))


def canary_short(d: Decision, step: Step) -> bool:
    """The canary has fewer available pods than the step asks for."""
    wanted = canary_split(d.inp.replicas, step.weight)[1]
    return d.observed(d.state.canary_revision).available < wanted


def _check_pods(d: Decision, step: Step, index: int) -> Verdict:
    stable = d.observed(d.state.stable_revision)
    canary = d.observed(d.state.canary_revision)
    want_stable, want_canary = canary_split(d.inp.replicas, step.weight)
    done = canary.available >= want_canary and canary.replicas == want_canary
    done = done and stable.replicas == want_stable and (step.kind != "recreate" or stable.pods == 0)
    if done:
        return "done"
    deadline = d.inp.rollout.progress_deadline_seconds
    if canary_short(d, step) and elapsed_seconds(d) > deadline:
        fail_canary(
            d,
            "RolledBack",
            "ProgressDeadlineExceeded",
            f"{canary.available} of {want_canary} canary pods available after {deadline}s at step {index}",
            roll_back=d.inp.rollout.auto_rollback,
        )
        return "failed"
    return "wait"


def _check_evaluation(d: Decision, step: Step) -> Verdict:
    record = d.state.evaluation
    canary = d.state.canary_revision
    assert canary is not None
    if record is None or (record.revision, record.step) != (canary, d.state.step_index):
        # Persisted state lost the gate's record: start it over rather than guess its outcome.
        d.update(evaluation=EvaluationRecord(canary, d.state.step_index, "Running", d.inp.now))
        return "wait"
    if record.result == "Passed":
        return "done"
    if record.result != "Running":
        return "failed"
    spec = d.inp.evaluation_spec
    observed = d.inp.evaluation
    if spec is None:
        return _finish_evaluation(d, replace(record, result="Failed", message="spec.evaluation is missing"))
    min_score = step.min_score if step.min_score is not None else spec.min_score
    if observed is not None and observed.exists and observed.succeeded:
        score = observed.score
        if score is None or score >= min_score:
            return _finish_evaluation(
                d, replace(record, result="Passed", score=score, message=observed.message)
            )
        return _finish_evaluation(
            d,
            replace(
                record, result="Failed", score=score, message=f"score {score} below minScore {min_score}"
            ),
        )
    if observed is not None and observed.exists and observed.failed:
        message = (
            f"evaluation job failed: {observed.message}" if observed.message else "evaluation job failed"
        )
        return _finish_evaluation(d, replace(record, result="Failed", score=observed.score, message=message))
    if (d.inp.now - record.started_at).total_seconds() > spec.timeout_seconds:
        return _finish_evaluation(
            d, replace(record, result="TimedOut", message=f"no result within {spec.timeout_seconds}s")
        )
    return "wait"


def _finish_evaluation(d: Decision, record: EvaluationRecord) -> Verdict:
    d.update(evaluation=record, evaluations=(*d.state.evaluations, record))
    score = "" if record.score is None else f" with score {record.score}"
    if record.result == "Passed":
        d.emit("Normal", "EvaluationPassed", f"evaluation of revision {record.revision} passed{score}")
        return "done"
    d.emit(
        "Warning",
        "EvaluationFailed",
        f"evaluation of revision {record.revision} {record.result.lower()}{score}: {record.message}",
    )
    reason = "EvaluationTimedOut" if record.result == "TimedOut" else "EvaluationFailed"
    fail_canary(d, "RolledBack", reason, record.message, roll_back=d.inp.rollout.auto_rollback)
    return "failed"
