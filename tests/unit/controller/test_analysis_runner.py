"""Measurements off the reconcile workers, and how the planner uses their results."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime
from typing import Any, cast

from agent_operator.api.analysis import Analysis
from agent_operator.controller.analysis_runner import AnalysisResult, AnalysisRunner, MeasureJob, fingerprint
from agent_operator.controller.plan import Observation, plan_reconcile
from agent_operator.kube import KubeApi
from agent_operator.rollout import AnalysisRequest
from tests.support.wait import wait_for
from tests.unit.controller.test_plan import NOW, agent_body

ANALYSIS = {
    # Nothing listens on port 1: the client gets connection refused at once.
    "prometheus": {"address": "http://127.0.0.1:1", "timeoutSeconds": 1},
    "metrics": [{"name": "errorRate", "maxIncrease": 50}],
}
REQUEST = AnalysisRequest("canary1", "stable1", 1, NOW, 60)


class Secrets:
    """The one read the runner makes: GET of the Prometheus Secret."""

    def __init__(self, secrets: dict[str, dict[str, Any]]) -> None:
        self.secrets = secrets
        self.reads = 0

    def get(self, kind: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.reads += 1
        return self.secrets.get(name)


def _runner(secrets: Secrets) -> tuple[AnalysisRunner, list[tuple[str, str]]]:
    woken: list[tuple[str, str]] = []
    lock = threading.Lock()

    def wake(ns: str, name: str) -> None:
        with lock:
            woken.append((ns, name))

    return AnalysisRunner(cast(KubeApi, secrets), wake, lambda: datetime.now(UTC)), woken


def _finished(runner: AnalysisRunner) -> AnalysisResult:
    def probe() -> tuple[bool, tuple[AnalysisResult, ...]]:
        results = runner.results("agents", "bot")
        return bool(results), results

    results: tuple[AnalysisResult, ...] = wait_for(probe, "a finished measurement", timeout=30, interval=0.05)
    return results[0]


def test_an_unreachable_prometheus_is_an_inconclusive_result_and_wakes_the_agent() -> None:
    runner, woken = _runner(Secrets({}))
    analysis = Analysis.model_validate(ANALYSIS)
    job = MeasureJob(fingerprint(analysis), analysis, REQUEST)
    runner.submit("agents", "bot", [job, job])  # the same job twice runs once
    result = _finished(runner)
    assert result.run is not None
    assert (result.run.verdict.verdict, result.run.verdict.reason) == (
        "Inconclusive",
        "PrometheusUnreachable",
    )
    assert (result.run.revision, result.run.step, result.run.due) == ("canary1", 1, NOW)
    assert result.run.measured_at.microsecond == 0
    wait_for(lambda: (woken == [("agents", "bot")], woken), "one wake-up", timeout=10)
    runner.submit("agents", "bot", [job])  # already measured: nothing runs again
    assert len(runner.results("agents", "bot")) == 1
    runner.stop()


def test_a_missing_secret_is_an_error_naming_it_and_never_a_value() -> None:
    secrets = Secrets({})
    runner, _ = _runner(secrets)
    analysis = Analysis.model_validate(
        {**ANALYSIS, "prometheus": {**ANALYSIS["prometheus"], "secretName": "prom"}}
    )
    runner.submit("agents", "bot", [MeasureJob(fingerprint(analysis), analysis, REQUEST)])
    result = _finished(runner)
    assert result.error == "spec.analysis.prometheus.secretName: Secret prom does not exist"
    assert result.job is not None
    runner.stop()


def test_secret_values_never_reach_the_result() -> None:
    token = "s3cr3t-token-value"
    secret = {
        "metadata": {"resourceVersion": "7"},
        "data": {"token": base64.b64encode(token.encode()).decode()},
    }
    runner, _ = _runner(Secrets({"prom": secret}))
    analysis = Analysis.model_validate(
        {**ANALYSIS, "prometheus": {**ANALYSIS["prometheus"], "secretName": "prom"}}
    )
    runner.submit("agents", "bot", [MeasureJob(fingerprint(analysis), analysis, REQUEST)])
    result = _finished(runner)
    assert token not in repr(result)
    runner.stop()


def _analyzing_agent(canary: str = "canary1") -> dict[str, Any]:
    body = agent_body(
        analysis=ANALYSIS,
        rollout={"strategy": "Canary", "canary": {"steps": [{"analyze": {"intervalSeconds": 10}}]}},
    )
    body["status"] = {"stableRevision": "stable1", "canaryRevision": canary}
    return body


def test_the_planner_stalls_on_an_analysis_error_of_the_current_canary_and_retries_it() -> None:
    analysis = Analysis.model_validate(ANALYSIS)
    job = MeasureJob(fingerprint(analysis), analysis, REQUEST)
    error = "spec.analysis.metrics[loops]: Prometheus rejected the query: parse error"
    result = AnalysisResult(job.fingerprint, "canary1", error=error, job=job)
    plan = plan_reconcile(Observation(agent=_analyzing_agent(), now=NOW, analysis=(result,)))
    assert plan.status is not None
    stalled = next(c for c in plan.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"], stalled["message"]) == ("True", "AnalysisError", error)
    assert plan.measure == (job,)
    assert plan.requeue_after == 30
    # Under an edited spec.analysis (another fingerprint) the old error no longer applies.
    stale = AnalysisResult("0" * 16, "canary1", error=error, job=job)
    plan = plan_reconcile(Observation(agent=_analyzing_agent(), now=NOW, analysis=(stale,)))
    assert plan.status is None or not any(
        c["type"] == "Stalled" and c["status"] == "True" for c in plan.status.get("conditions") or []
    )
