"""Progressive delivery on the real control plane: canary steps, gates, automatic and manual
rollback, history. KWOK makes pods ready at once, or never (a test fault label)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kubernetes import client

from agent_operator.controller.timefmt import parse_time
from tests.integration.agents.conftest import Agents
from tests.integration.agents.rollout_support import (
    PodCensus,
    agentctl,
    canary_manifest,
    image,
    status_of,
    wait_stable_ready,
    wait_status,
)
from tests.support.argocd_lua import GITOPS_DIR, LuaScript
from tests.support.cluster import ClusterInfo
from tests.support.kube import COMPLETE_DELAY_ANNOTATION, FAULT_LABEL, TERMINATION_MESSAGE_ANNOTATION
from tests.support.operator import OperatorProcess
from tests.support.wait import wait_for

pytestmark = pytest.mark.integration

ROLLBACK_ACTION = LuaScript.from_file(GITOPS_DIR / "argocd-actions" / "rollback.lua")
REPLICAS = 4
SURGE = 1
PASSING_SCORE = {TERMINATION_MESSAGE_ANNOTATION: json.dumps({"score": 0.95, "message": "golden set ok"})}


def reasons(core_v1: client.CoreV1Api, namespace: str, name: str) -> list[str]:
    events = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [
        e.reason
        for e in sorted(events, key=lambda e: (e.first_timestamp or e.event_time or 0, e.metadata.name))
    ]


def deployments_of(apps_v1: client.AppsV1Api, namespace: str, name: str) -> dict[str, int]:
    items = apps_v1.list_namespaced_deployment(
        namespace, label_selector=f"agentoperator.dev/agent={name}"
    ).items
    return {d.metadata.labels["agentoperator.dev/revision"]: d.spec.replicas for d in items}


def at_step(index: int, weight: int) -> Any:
    def check(status: dict[str, Any]) -> bool:
        return (
            (status.get("rollout") or {}).get("stepIndex") == index
            and status.get("desiredWeight") == weight
            and status.get("actualWeight") == weight
        )

    return check


def test_canary_walks_every_step_with_true_weights_and_bounded_pods(
    agents: Agents, namespace: str, cluster: ClusterInfo, core_v1: client.CoreV1Api, apps_v1: client.AppsV1Api
) -> None:
    steps = [
        {"setWeight": 25},
        {"pause": {"durationSeconds": 2}},
        {"evaluate": {}},
        {"setWeight": 50},
        {"pause": {}},
        {"setWeight": 75},
        {"pause": {}},
    ]
    agents.create(canary_manifest("walker", namespace, steps, evaluation={"annotations": PASSING_SCORE}))
    stable = wait_stable_ready(agents, "walker")

    with PodCensus(core_v1, namespace, "walker") as census:
        agents.patch("walker", {"spec": {"container": {"image": image("b")}}})
        first = wait_status(agents, "walker", "canary at 25%", at_step(1, 25))
        canary = first["canaryRevision"]
        assert deployments_of(apps_v1, namespace, "walker") == {stable: 3, canary: 1}

        evaluated = wait_status(
            agents, "walker", "evaluation passed", lambda s: (s.get("rollout") or {}).get("stepIndex", 0) >= 3
        )
        evaluation = evaluated["rollout"]["evaluations"][0]
        assert (evaluation["result"], evaluation["score"]) == ("Passed", 0.95)

        paused = wait_status(agents, "walker", "waiting for approval at 50%", at_step(4, 50))
        assert deployments_of(apps_v1, namespace, "walker") == {stable: 2, canary: 2}
        assert (
            "pause until approved"
            in next(c for c in paused["conditions"] if c["type"] == "Reconciling")["message"]
        )
        # Nothing advances without a human: a few resyncs later it still waits.
        time.sleep(3)
        assert at_step(4, 50)(status_of(agents, "walker"))
        assert deployments_of(apps_v1, namespace, "walker") == {stable: 2, canary: 2}

        approved = agentctl(cluster, namespace, "approve", "walker")
        assert "approved" in approved.stdout.lower() or "recorded" in approved.stdout.lower()
        # Approvals name their step: the next pause needs its own.
        wait_status(agents, "walker", "canary at 75%, waiting again", at_step(6, 75))
        assert deployments_of(apps_v1, namespace, "walker") == {stable: 1, canary: 3}
        agentctl(cluster, namespace, "approve", "walker")

        promoted = wait_status(
            agents,
            "walker",
            "canary promoted",
            lambda s: (
                s.get("stableRevision") == canary
                and not s.get("canaryRevision")
                and s.get("phase") == "Available"
            ),
        )
    assert deployments_of(apps_v1, namespace, "walker") == {canary: REPLICAS}
    assert promoted["readyReplicas"] == REPLICAS

    # The bound: never more than replicas + maxSurge pods, never fewer than replicas available
    # (maxUnavailable 0), at every sampled moment of the rollout.
    assert census.samples
    assert census.max_total() <= REPLICAS + SURGE
    assert census.min_available() >= REPLICAS

    history = {
        r["metadata"]["labels"]["agentoperator.dev/revision"]: r
        for r in client.AppsV1Api(core_v1.api_client)
        .list_namespaced_controller_revision(namespace, label_selector="agentoperator.dev/agent=walker")
        .to_dict()["items"]
    }
    gates = json.loads(history[canary]["metadata"]["annotations"]["agentoperator.dev/gates"])
    assert gates["approvals"][0]["by"]
    assert gates["evaluations"][0]["score"] == 0.95
    assert history[canary]["metadata"]["annotations"]["agentoperator.dev/outcome"] == "Promoted"
    assert history[stable]["metadata"]["annotations"]["agentoperator.dev/outcome"] == "Superseded"
    seen = reasons(core_v1, namespace, "walker")
    for reason in (
        "RolloutStarted",
        "EvaluationStarted",
        "EvaluationPassed",
        "AwaitingApproval",
        "Approved",
        "Promoted",
    ):
        assert reason in seen, seen


@pytest.mark.parametrize(
    ("case", "evaluation", "expected"),
    [
        ("fail", {"labels": {FAULT_LABEL: "fail"}}, "Failed"),
        (
            "low-score",
            {"annotations": {TERMINATION_MESSAGE_ANNOTATION: json.dumps({"score": 0.5})}},
            "Failed",
        ),
        ("timeout", {"timeoutSeconds": 3, "annotations": {COMPLETE_DELAY_ANNOTATION: "10m"}}, "TimedOut"),
    ],
)
def test_failing_evaluation_rolls_back_automatically(
    agents: Agents,
    namespace: str,
    core_v1: client.CoreV1Api,
    apps_v1: client.AppsV1Api,
    case: str,
    evaluation: dict[str, Any],
    expected: str,
) -> None:
    name = f"eval-{case}"
    agents.create(
        canary_manifest(name, namespace, [{"setWeight": 25}, {"evaluate": {}}], evaluation=evaluation)
    )
    stable = wait_stable_ready(agents, name)
    agents.patch(name, {"spec": {"container": {"image": image("c")}}})
    status = wait_status(
        agents, name, "rolled back after the evaluation", lambda s: s.get("phase") == "Degraded", timeout=120
    )
    failed = status["rollout"]["failedRevision"]
    assert failed != stable
    assert status["stableRevision"] == stable
    assert not status.get("canaryRevision")
    # The gate's verdict is kept in the failed revision's history entry.
    revisions = apps_v1.list_namespaced_controller_revision(
        namespace, label_selector=f"agentoperator.dev/agent={name}"
    )
    entry = next(r for r in revisions.items if r.metadata.labels["agentoperator.dev/revision"] == failed)
    assert entry.metadata.annotations["agentoperator.dev/outcome"] == "RolledBack"
    gates = json.loads(entry.metadata.annotations["agentoperator.dev/gates"])
    assert gates["evaluations"][-1]["result"] == expected
    # Stable back to full size, canary gone, spec untouched (GitOps stays in sync).
    wait_for(
        lambda: (
            deployments_of(apps_v1, namespace, name) == {stable: REPLICAS},
            deployments_of(apps_v1, namespace, name),
        ),
        "only stable, at full size",
        timeout=30,
    )
    assert agents.get(name)["spec"]["container"]["image"] == image("c")
    assert "RolledBack" in reasons(core_v1, namespace, name)
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True"


def test_never_ready_canary_hits_the_progress_deadline_with_stable_at_full_size(
    agents: Agents, namespace: str, core_v1: client.CoreV1Api, apps_v1: client.AppsV1Api
) -> None:
    agents.create(canary_manifest("stuck", namespace, [{"setWeight": 50}], progressDeadlineSeconds=5))
    stable = wait_stable_ready(agents, "stuck")
    with PodCensus(core_v1, namespace, "stuck") as census:
        agents.patch(
            "stuck",
            {
                "spec": {
                    "container": {"image": image("d")},
                    "podTemplate": {"labels": {FAULT_LABEL: "never-ready"}},
                }
            },
        )
        status = wait_status(
            agents, "stuck", "automatic rollback", lambda s: s.get("phase") == "Degraded", timeout=120
        )
        wait_for(
            lambda: (
                deployments_of(apps_v1, namespace, "stuck") == {stable: REPLICAS},
                deployments_of(apps_v1, namespace, "stuck"),
            ),
            "only stable left",
            timeout=30,
        )
    assert status["rollout"]["failureReason"] == "ProgressDeadlineExceeded"
    assert census.min_available_of(stable) == REPLICAS
    assert census.max_total() <= REPLICAS + SURGE


def test_manual_rollback_two_revisions_back_restores_image_and_config_without_steps(
    agents: Agents, namespace: str, cluster: ClusterInfo, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    # Long steps: if the rollback ran them, the test would time out.
    steps = [{"setWeight": 50}, {"pause": {}}]
    manifest = canary_manifest("undo", namespace, steps, replicas=2)
    manifest["spec"]["runtime"] = {"timeoutSeconds": 30}
    agents.create(manifest)
    first = wait_stable_ready(agents, "undo")
    for letter, timeout in (("e", 45), ("f", 60)):
        agents.patch(
            "undo", {"spec": {"container": {"image": image(letter)}, "runtime": {"timeoutSeconds": timeout}}}
        )
        wait_status(
            agents, "undo", "awaiting approval", lambda s: (s.get("rollout") or {}).get("stepIndex") == 1
        )
        agentctl(cluster, namespace, "promote", "undo", "--full")
        wait_stable_ready(agents, "undo")

    history = agentctl(cluster, namespace, "history", "undo", "-o", "json")
    numbers = {row["revision"]: row["number"] for row in json.loads(history.stdout)}
    agentctl(cluster, namespace, "rollback", "undo", "--to-revision", str(numbers[first]))
    status = wait_status(
        agents,
        "undo",
        "revision 1 serving again",
        lambda s: (
            s.get("stableRevision") == first and s.get("phase") == "Available" and not s.get("canaryRevision")
        ),
        timeout=60,
    )
    assert status["rollout"]["rollbackOverride"] == first
    deployment = apps_v1.read_namespaced_deployment(f"undo-{first}", namespace)
    assert deployment.spec.template.spec.containers[0].image == image("a")
    config_map = next(
        v.config_map.name for v in deployment.spec.template.spec.volumes if v.config_map is not None
    )
    runtime = json.loads(next(iter(core_v1.read_namespaced_config_map(config_map, namespace).data.values())))
    assert (
        json.dumps(runtime).count('"timeoutSeconds": 30')
        or runtime.get("runtime", {}).get("timeoutSeconds") == 30
    )
    assert deployments_of(apps_v1, namespace, "undo") == {first: 2}
    # No canary step ran for the rollback.
    assert "AwaitingApproval" not in reasons(core_v1, namespace, "undo")[-3:]


def test_history_is_pruned_and_diff_shows_the_change(
    agents: Agents, namespace: str, cluster: ClusterInfo
) -> None:
    manifest = canary_manifest("pruned", namespace, [], replicas=1, revisionHistoryLimit=2)
    agents.create(manifest)
    wait_stable_ready(agents, "pruned")
    for letter in "ghi":
        agents.patch("pruned", {"spec": {"container": {"image": image(letter)}}})
        wait_stable_ready(agents, "pruned")
    rows = json.loads(agentctl(cluster, namespace, "history", "pruned", "-o", "json").stdout)
    assert len(rows) == 2
    numbers = sorted(row["number"] for row in rows)
    diff = agentctl(cluster, namespace, "diff", "pruned", str(numbers[0]), str(numbers[1])).stdout
    assert "h" * 64 in diff
    assert "i" * 64 in diff


def test_restart_during_a_timed_pause_keeps_the_original_clock(
    agents: Agents, namespace: str, operator: OperatorProcess, core_v1: client.CoreV1Api
) -> None:
    pause = 8
    agents.create(
        canary_manifest("sleeper", namespace, [{"setWeight": 25}, {"pause": {"durationSeconds": pause}}])
    )
    wait_stable_ready(agents, "sleeper")
    agents.patch("sleeper", {"spec": {"container": {"image": image("j")}}})
    paused = wait_status(
        agents, "sleeper", "in the timed pause", lambda s: (s.get("rollout") or {}).get("stepIndex") == 1
    )
    started = parse_time(paused["rollout"]["stepStartedAt"])
    assert started is not None
    operator.kill()
    operator.start()
    after = status_of(agents, "sleeper")
    if (after.get("rollout") or {}).get("stepIndex") == 1:
        assert parse_time(after["rollout"]["stepStartedAt"]) == started
    status = wait_status(
        agents,
        "sleeper",
        "promoted after the pause",
        lambda s: not s.get("canaryRevision") and s.get("phase") == "Available",
    )
    assert status["stableRevision"] == paused["canaryRevision"]
    events = core_v1.list_namespaced_event(
        namespace, field_selector="involvedObject.name=sleeper,reason=Promoted"
    ).items
    promoted_at = max(e.last_timestamp for e in events)
    # The pause neither restarted with the operator nor was cut short.
    assert (promoted_at - started).total_seconds() >= pause


def test_operator_killed_mid_step_resumes_at_that_step(
    agents: Agents, namespace: str, operator: OperatorProcess, cluster: ClusterInfo, apps_v1: client.AppsV1Api
) -> None:
    agents.create(
        canary_manifest("resumer", namespace, [{"setWeight": 50}, {"pause": {}}, {"setWeight": 75}])
    )
    stable = wait_stable_ready(agents, "resumer")
    agents.patch("resumer", {"spec": {"container": {"image": image("k")}}})
    waiting = wait_status(
        agents, "resumer", "at the approval", lambda s: (s.get("rollout") or {}).get("stepIndex") == 1
    )
    canary = waiting["canaryRevision"]
    operator.kill()
    operator.start()
    time.sleep(2)
    again = status_of(agents, "resumer")
    assert (again["rollout"]["stepIndex"], again["canaryRevision"]) == (1, canary)
    assert deployments_of(apps_v1, namespace, "resumer") == {stable: 2, canary: 2}
    agentctl(cluster, namespace, "approve", "resumer")
    wait_status(
        agents,
        "resumer",
        "promoted",
        lambda s: s.get("stableRevision") == canary and s.get("phase") == "Available",
    )


def test_rollback_without_a_revision_returns_to_the_previous_stable(
    agents: Agents, namespace: str, cluster: ClusterInfo, apps_v1: client.AppsV1Api
) -> None:
    agents.create(canary_manifest("oops", namespace, [], replicas=2))
    first = wait_stable_ready(agents, "oops")
    agents.patch("oops", {"spec": {"container": {"image": image("m")}}})
    wait_status(
        agents, "oops", "second revision stable", lambda s: s.get("stableRevision") not in (None, first)
    )
    agentctl(cluster, namespace, "rollback", "oops")
    wait_status(
        agents,
        "oops",
        "the first revision serving again",
        lambda s: s.get("stableRevision") == first and s.get("phase") == "Available",
        timeout=60,
    )
    assert deployments_of(apps_v1, namespace, "oops") == {first: 2}


def test_argocd_rollback_annotation_alone_returns_to_the_newest_earlier_stable_and_its_config(
    agents: Agents, namespace: str, apps_v1: client.AppsV1Api, core_v1: client.CoreV1Api
) -> None:
    """The Argo CD "rollback" action writes the command annotation without toRevision; the operator
    picks the target from the history it wrote: the newest earlier revision that served as stable."""
    manifest = canary_manifest("argo", namespace, [], replicas=2)
    manifest["spec"]["runtime"] = {"timeoutSeconds": 30}
    agents.create(manifest)
    revisions = [wait_stable_ready(agents, "argo")]
    for letter, timeout in (("p", 45), ("q", 60)):
        agents.patch(
            "argo", {"spec": {"container": {"image": image(letter)}, "runtime": {"timeoutSeconds": timeout}}}
        )
        revisions.append(
            wait_status(
                agents,
                "argo",
                f"revision with timeout {timeout} stable",
                lambda s: s.get("stableRevision") not in (None, *revisions) and s.get("phase") == "Available",
            )["stableRevision"]
        )
    first, second, third = revisions

    acted = ROLLBACK_ACTION.run(agents.get("argo"))
    agents.patch("argo", {"metadata": {"annotations": acted["metadata"]["annotations"]}})
    status = wait_status(
        agents,
        "argo",
        "the second revision serving again",
        lambda s: s.get("stableRevision") != third and s.get("phase") == "Available",
        timeout=60,
    )
    assert status["stableRevision"] == second, status
    assert status["rollout"]["rollbackFrom"] == third
    assert not status.get("commandProblems")
    assert deployments_of(apps_v1, namespace, "argo") == {second: 2}
    deployment = apps_v1.read_namespaced_deployment(f"argo-{second}", namespace)
    assert deployment.spec.template.spec.containers[0].image == image("p")
    config_map = next(
        v.config_map.name for v in deployment.spec.template.spec.volumes if v.config_map is not None
    )
    runtime = json.loads(next(iter(core_v1.read_namespaced_config_map(config_map, namespace).data.values())))
    assert runtime["runtime"]["timeoutSeconds"] == 45
    assert first not in (second, third)
