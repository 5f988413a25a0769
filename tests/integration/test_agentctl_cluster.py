"""agentctl's cluster commands as a separate process against the real control plane, with no
operator running: commands must leave the annotations and spec edits the operator reads, and
status/history/diff must render objects written here the way the operator writes them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from agent_operator.controller.commands import parse_commands
from tests.support.cluster import ClusterInfo
from tests.support.operator import agent_manifest
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("crds_installed")]

GROUP, VERSION, PLURAL = "agentoperator.dev", "v1alpha1", "agentdeployments"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}]
IMAGES = {n: f"registry.example.com/support-bot@sha256:{c * 64}" for n, c in ((1, "a"), (2, "b"), (3, "c"))}
HASHES = {1: "1111aaaa11", 2: "2222bbbb22", 3: "3333cccc33"}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def _agentctl_argv() -> list[str]:
    script = Path(sys.executable).with_name("agentctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent_operator.cli.main"]


Agentctl = Callable[..., Result]


@pytest.fixture
def agentctl(cluster: ClusterInfo, namespace: str) -> Agentctl:
    def run(*args: str, namespace_flag: bool = True) -> Result:
        flags = ["--kubeconfig", str(cluster.kubeconfig)] + (["-n", namespace] if namespace_flag else [])
        proc = subprocess.run(
            [*_agentctl_argv(), *args, *flags],
            capture_output=True,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=120,
            check=False,
        )
        result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
        assert "Traceback" not in result.out + result.err, result
        return result

    return run


def _spec(image: str) -> dict[str, Any]:
    spec = agent_manifest("bot", "x", rollout={"strategy": "Canary", "canary": {"steps": STEPS}})["spec"]
    spec["container"]["image"] = image
    return dict(spec)


@pytest.fixture
def agent(custom_objects: client.CustomObjectsApi, namespace: str) -> dict[str, Any]:
    body = agent_manifest("bot", namespace, rollout={"strategy": "Canary", "canary": {"steps": STEPS}})
    body["spec"]["container"]["image"] = IMAGES[3]
    return dict(custom_objects.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body))


def _write_status(custom_objects: client.CustomObjectsApi, namespace: str, status: dict[str, Any]) -> None:
    custom_objects.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "bot",
        {"status": status},
        _content_type="application/merge-patch+json",
    )


def _canary_status(step_index: int, **rollout: Any) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "phase": "Progressing",
        "stableRevision": HASHES[2],
        "canaryRevision": HASHES[3],
        "currentRevision": HASHES[3],
        "desiredWeight": 25,
        "actualWeight": 25,
        "rollout": {"stepIndex": step_index, **rollout},
    }


def _read(custom_objects: client.CustomObjectsApi, namespace: str) -> dict[str, Any]:
    return dict(custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "bot"))


def _commands(obj: dict[str, Any]) -> dict[str, Any]:
    commands, problems = parse_commands(obj["metadata"].get("annotations"))
    assert problems == []
    return {c.verb: c for c in commands}


@pytest.fixture
def history(apps_v1: client.AppsV1Api, namespace: str, agent: dict[str, Any]) -> None:
    """Three ControllerRevisions as the operator records them: 1 and 2 promoted, 3 the canary."""
    outcomes = {
        1: {"agentoperator.dev/outcome": "Superseded", "agentoperator.dev/served-as-stable": "true"},
        2: {
            "agentoperator.dev/outcome": "Promoted",
            "agentoperator.dev/outcome-reason": "all steps passed",
            "agentoperator.dev/served-as-stable": "true",
            "agentoperator.dev/gates": json.dumps(
                {
                    "approvals": [
                        {"revision": HASHES[2], "step": 1, "by": "alice", "at": "2026-01-01T00:00:00Z"}
                    ],
                    "evaluations": [],
                }
            ),
        },
        3: {},
    }
    for number, rev in HASHES.items():
        apps_v1.create_namespaced_controller_revision(
            namespace,
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": f"bot-{rev}",
                    "labels": {"agentoperator.dev/agent": "bot", "agentoperator.dev/revision": rev},
                    "annotations": outcomes[number],
                },
                "revision": number,
                "data": {"spec": _spec(IMAGES[number])},
            },
        )


# -- commands that write annotations ------------------------------------------------------------


def test_approve_records_revision_step_and_approver(
    agentctl: Agentctl, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(1))
    result = agentctl("approve", "bot")
    assert result.code == 0, result
    approve = _commands(_read(custom_objects, namespace))["approve"]
    assert (approve.revision, approve.step) == (HASHES[3], 1)
    assert approve.by
    assert f"recorded as {approve.by} (SelfSubjectReview)" in result.out


def test_approve_twice_issues_two_distinct_commands(
    agentctl: Agentctl, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(1))
    assert agentctl("approve", "bot").code == 0
    first = _commands(_read(custom_objects, namespace))["approve"].at
    assert agentctl("approve", "bot", "-o", "json").code == 0
    assert _commands(_read(custom_objects, namespace))["approve"].at > first


def test_approve_outside_an_approval_pause_fails_and_writes_nothing(
    agentctl: Agentctl, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(0))
    result = agentctl("approve", "bot")
    assert result.code == 1
    assert result.err.strip() == (
        f"agentdeployment bot: canary {HASHES[3]} is at step 1/4 (setWeight 25%),"
        " which does not wait for approval"
    )
    assert _commands(_read(custom_objects, namespace)) == {}


@pytest.mark.parametrize("verb", ["approve", "promote", "abort", "retry"])
def test_commands_without_a_canary_fail_with_one_line(
    agentctl: Agentctl,
    agent: dict[str, Any],
    custom_objects: client.CustomObjectsApi,
    namespace: str,
    verb: str,
) -> None:
    _write_status(custom_objects, namespace, {"phase": "Available", "stableRevision": HASHES[2]})
    result = agentctl(verb, "bot")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert result.out == ""
    assert _commands(_read(custom_objects, namespace)) == {}


def test_promote_full_and_abort_aim_at_the_canary(
    agentctl: Agentctl, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(0))
    assert agentctl("promote", "bot", "--full").code == 0
    assert agentctl("abort", "bot").code == 0
    commands = _commands(_read(custom_objects, namespace))
    assert (commands["promote"].revision, commands["promote"].full) == (HASHES[3], True)
    assert commands["abort"].revision == HASHES[3]


def test_retry_aims_at_the_failed_revision(
    agentctl: Agentctl, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    status = {"phase": "Degraded", "stableRevision": HASHES[2], "rollout": {"failedRevision": HASHES[3]}}
    _write_status(custom_objects, namespace, status)
    result = agentctl("retry", "bot", "-o", "json")
    assert result.code == 0, result
    assert json.loads(result.out)["command"]["revision"] == HASHES[3]
    assert _commands(_read(custom_objects, namespace))["retry"].revision == HASHES[3]


@pytest.mark.usefixtures("history")
def test_rollback_shows_the_operators_choice_and_sends_no_revision_unless_asked(
    agentctl: Agentctl, custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(0))
    result = agentctl("rollback", "bot")
    assert result.code == 0, result
    assert f"revision 1 ({HASHES[1]}, image {IMAGES[1]})" in result.out
    # The choice is the operator's, as for the Argo CD action: the command names no revision.
    assert _commands(_read(custom_objects, namespace))["rollback"].to_revision is None
    assert agentctl("rollback", "bot", "--to-revision", "2").code == 0
    assert _commands(_read(custom_objects, namespace))["rollback"].to_revision == 2
    missing = agentctl("rollback", "bot", "--to-revision", "9")
    assert missing.code == 1
    assert missing.err.strip() == "agentdeployment bot: no revision 9 in history (numbers: 1, 2, 3)"


# -- commands that edit the spec ----------------------------------------------------------------


@pytest.mark.usefixtures("agent")
def test_pause_resume_suspend_unsuspend_patch_the_spec(
    agentctl: Agentctl, custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    def spec() -> dict[str, Any]:
        return dict(_read(custom_objects, namespace)["spec"])

    assert agentctl("pause", "bot").out.strip() == "agentdeployment bot paused (spec.paused: true)"
    assert spec()["paused"] is True
    assert agentctl("pause", "bot").out.strip() == "agentdeployment bot already paused (spec.paused: true)"
    assert agentctl("suspend", "bot").code == 0
    assert spec()["suspend"] is True
    assert agentctl("resume", "bot").code == 0
    assert agentctl("unsuspend", "bot", "-o", "json").code == 0
    assert (spec()["paused"], spec()["suspend"]) == (False, False)


# -- status, history, diff ----------------------------------------------------------------------


@pytest.mark.usefixtures("history")
def test_status_renders_what_the_cluster_holds(
    agentctl: Agentctl,
    custom_objects: client.CustomObjectsApi,
    core_v1: client.CoreV1Api,
    namespace: str,
    agent: dict[str, Any],
) -> None:
    approval = {"revision": HASHES[3], "step": 1, "by": "alice", "at": "2026-01-01T00:00:00Z"}
    status = _canary_status(1, approval=approval)
    status["conditions"] = [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Paused",
            "message": "waiting",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]
    status["readiness"] = {
        "score": 77,
        "policy": "builtin/development",
        "enforcement": "Enforce",
        "missingRequired": [],
        "warnings": ["budget.cap"],
    }
    _write_status(custom_objects, namespace, status)
    core_v1.create_namespaced_event(
        namespace,
        {
            "metadata": {"generateName": "bot."},
            "involvedObject": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "AgentDeployment",
                "name": "bot",
                "namespace": namespace,
                "uid": agent["metadata"]["uid"],
            },
            "type": "Normal",
            "reason": "Approved",
            "message": f"alice approved revision {HASHES[3]} at step 1",
            "lastTimestamp": "2026-01-01T00:00:00Z",
            "firstTimestamp": "2026-01-01T00:00:00Z",
        },
    )
    text = agentctl("status", "bot")
    assert text.code == 0, text
    assert f"stable 2 ({HASHES[2]})  canary 3 ({HASHES[3]})" in text.out
    assert "2/4 pause until approved" in text.out
    assert "desired 25%  actual 25%" in text.out
    assert "approved by alice at step 2" in text.out
    assert "Approved" in text.out.split("events\n")[1]
    view = json.loads(agentctl("status", "bot", "-o", "json").out)
    assert view["step"] == {"index": 1, "count": 4, "kind": "approval"}
    assert view["readiness"]["warnings"] == ["budget.cap"]
    assert [e["reason"] for e in view["events"]] == ["Approved"]


@pytest.mark.usefixtures("history")
def test_history_lists_revisions_with_outcomes_and_roles(
    agentctl: Agentctl, custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(1))
    result = agentctl("history", "bot")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0].startswith("NUMBER   REVISION")
    assert [line.split()[:2] for line in lines[1:]] == [["1", HASHES[1]], ["2", HASHES[2]], ["3", HASHES[3]]]
    assert "(" not in lines[1]
    assert f"{HASHES[2]} (stable)" in lines[2]
    assert f"{HASHES[3]} (canary)" in lines[3]
    assert "alice" in lines[2]
    rows = json.loads(agentctl("history", "bot", "-o", "json").out)
    assert [(r["number"], r["outcome"], r["role"]) for r in rows] == [
        (1, "Superseded", None),
        (2, "Promoted", "stable"),
        (3, None, "canary"),
    ]


@pytest.mark.usefixtures("history")
def test_diff_shows_the_real_change(agentctl: Agentctl) -> None:
    result = agentctl("diff", "bot", "1", HASHES[3][:6])
    assert result.code == 0, result
    changed = [ln for ln in result.out.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == [f"-  image: {IMAGES[1]}", f"+  image: {IMAGES[3]}"]
    same = agentctl("diff", "bot", "2", "2")
    assert same.code == 0
    assert "identical specs" in same.out
    data = json.loads(agentctl("diff", "bot", "1", "2", "-o", "json").out)
    assert data["identical"] is False
    bad = agentctl("diff", "bot", "1", "zzz")
    assert bad.code == 1
    assert bad.err.strip() == "agentdeployment bot: no revision 'zzz' in history (numbers: 1, 2, 3)"


# -- failures are one line ----------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["status", "history", "approve", "pause", "rollback"])
def test_missing_agent_is_one_line(agentctl: Agentctl, namespace: str, verb: str) -> None:
    result = agentctl(verb, "nope")
    assert result.code == 1
    assert result.err == f"agentdeployment nope not found in namespace {namespace}\n"


@pytest.mark.usefixtures("agent")
def test_bad_namespace_is_one_line(agentctl: Agentctl) -> None:
    result = agentctl("status", "bot", "-n", "no-such-namespace-here", namespace_flag=False)
    assert result.code == 1
    assert result.err == "agentdeployment bot not found in namespace no-such-namespace-here\n"


def test_unreachable_api_is_one_line(agentctl: Agentctl, cluster: ClusterInfo, tmp_path: Path) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:1"
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [*_agentctl_argv(), "status", "bot", "--kubeconfig", str(broken)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert err.startswith("cannot reach the Kubernetes API at https://127.0.0.1:1: ")
    assert err.count("\n") == 1


def test_namespace_defaults_to_the_context_namespace(
    cluster: ClusterInfo, agent: dict[str, Any], namespace: str, tmp_path: Path
) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["contexts"]:
        entry["context"]["namespace"] = namespace
    pinned = tmp_path / "kubeconfig"
    pinned.write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [*_agentctl_argv(), "status", "bot", "-o", "json", "--kubeconfig", str(pinned)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["namespace"] == namespace


# -- watch --------------------------------------------------------------------------------------


def test_watch_prints_a_block_per_change_and_stops_cleanly_on_interrupt(
    cluster: ClusterInfo, agent: dict[str, Any], custom_objects: client.CustomObjectsApi, namespace: str
) -> None:
    _write_status(custom_objects, namespace, _canary_status(0))
    proc = subprocess.Popen(
        [
            *_agentctl_argv(),
            "status",
            "bot",
            "--watch",
            "-o",
            "json",
            "-n",
            namespace,
            "--kubeconfig",
            str(cluster.kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert first["step"]["index"] == 0
        _write_status(custom_objects, namespace, _canary_status(1))
        second = json.loads(proc.stdout.readline())
        assert second["step"]["kind"] == "approval"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert b"Traceback" not in err
    wait_for(lambda: (proc.poll() is not None, proc.poll()), "watch exited")
