"""What approve/promote/abort/retry/rollback aim at, the annotations they write, and error lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cluster_fixtures import agent, canary_status, history

from agent_operator.cli._cluster import CommandFailed, describe_api_error
from agent_operator.cli.rollout_commands import (
    abort_target,
    approve_target,
    next_command_time,
    promote_target,
    retry_target,
    rollback_target,
)
from agent_operator.cli.spec_toggles import gitops_managed
from agent_operator.controller.commands import command_annotation, parse_commands
from agent_operator.kube import KubeError

NOW = datetime(2026, 1, 3, 12, 0, 0, 500000, tzinfo=UTC)


def test_approve_aims_at_the_canary_and_its_current_step() -> None:
    target = approve_target(agent(canary_status(1)))
    assert (target.revision, target.step) == ("abcd3333", 1)


def test_approve_refuses_a_step_that_does_not_wait_for_approval() -> None:
    with pytest.raises(
        CommandFailed, match=r"canary abcd3333 is at step 1/5 \(setWeight 20%\), which does not"
    ):
        approve_target(agent(canary_status(0)))


@pytest.mark.parametrize("aim", [approve_target, abort_target, lambda a: promote_target(a, True)])
def test_commands_on_a_canary_fail_without_one(aim: object) -> None:
    stable_only = agent({"stableRevision": "bbbb2222"})
    with pytest.raises(CommandFailed, match=r"has no canary to .*: revision bbbb2222 is stable") as info:
        aim(stable_only)  # type: ignore[operator]
    assert info.value.code == 1
    with pytest.raises(CommandFailed, match="nothing has rolled out yet"):
        aim(agent({}))  # type: ignore[operator]


def test_promote_and_abort_carry_the_canary() -> None:
    assert (
        promote_target(agent(canary_status(2)), full=True).revision,
        promote_target(agent(canary_status(2)), True).full,
    ) == (
        "abcd3333",
        True,
    )
    assert abort_target(agent(canary_status(2))).revision == "abcd3333"


def test_retry_aims_at_the_failed_revision_or_a_frozen_canary() -> None:
    failed = agent({"stableRevision": "bbbb2222", "rollout": {"failedRevision": "abcd3333"}})
    assert retry_target(failed).revision == "abcd3333"
    frozen = agent(canary_status(2, failureReason="ProgressDeadlineExceeded"))
    assert retry_target(frozen).revision == "abcd3333"
    with pytest.raises(CommandFailed, match="nothing has failed"):
        retry_target(agent(canary_status(2)))


def test_rollback_without_a_number_sends_none_and_shows_the_operators_choice() -> None:
    target = rollback_target(agent(canary_status(0)), history(), None)
    # The command names no revision: the operator chooses, as for the Argo CD action.
    assert target.to_revision is None
    assert target.extra == {"revision": "aaaa1111", "expectedRevision": 1}
    assert "revision 1 (aaaa1111, image img:1)" in target.summary
    assert "the operator's choice" in target.summary
    annotation = command_annotation("rollback", at=NOW, by="a", to_revision=target.to_revision)
    (command,), _ = parse_commands(annotation)
    assert command.to_revision is None


def test_rollback_to_a_named_revision_must_exist() -> None:
    assert rollback_target(agent(canary_status(0)), history(), 3).to_revision == 3
    with pytest.raises(CommandFailed, match=r"no revision 7 in history \(numbers: 1, 2, 3\)"):
        rollback_target(agent(canary_status(0)), history(), 7)


def test_rollback_without_an_earlier_stable_says_to_pick_one() -> None:
    with pytest.raises(CommandFailed, match="pick one with --to-revision"):
        rollback_target(agent({"stableRevision": "aaaa1111"}), history(), None)
    with pytest.raises(CommandFailed, match="no revision history"):
        rollback_target(agent({}), {}, None)


def test_command_time_is_whole_seconds_and_after_earlier_commands() -> None:
    assert next_command_time(NOW, {}, {}, "approve") == NOW.replace(microsecond=0)
    previous = command_annotation("approve", at=NOW, by="a")
    # A second approval within the same second must still look new to the operator.
    assert next_command_time(NOW, previous, {}, "approve") == datetime(2026, 1, 3, 12, 0, 1, tzinfo=UTC)
    handled = {"rollout": {"handledCommands": {"abort": "2026-01-03T12:00:05Z"}}}
    assert next_command_time(NOW, {}, handled, "abort") == datetime(2026, 1, 3, 12, 0, 6, tzinfo=UTC)
    # Other verbs and junk do not move it.
    junk = {"agentoperator.dev/command.approve": "{nope"}
    assert next_command_time(NOW, junk, handled, "approve") == NOW.replace(microsecond=0)


def test_the_annotation_written_is_what_the_operator_parses() -> None:
    target = approve_target(agent(canary_status(1)))
    at = next_command_time(NOW, {}, {}, "approve")
    annotation = command_annotation("approve", at=at, by="alice", revision=target.revision, step=target.step)
    (command,), problems = parse_commands(annotation)
    assert problems == []
    assert (command.verb, command.by, command.revision, command.step, command.at) == (
        "approve",
        "alice",
        "abcd3333",
        1,
        at,
    )
    assert json.loads(annotation["agentoperator.dev/command.approve"])["at"] == "2026-01-03T12:00:00Z"


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            KubeError(403, "Forbidden", 'agentdeployments "bot" is forbidden: User "x" cannot patch\nmore'),
            "forbidden: agentdeployments",
        ),
        (KubeError(401, "Unauthorized", ""), "unauthorized:"),
        (
            KubeError(
                0,
                "ConnectionError",
                "HTTPSConnectionPool(host='h', port=1): Max retries exceeded (Caused by "
                "NewConnectionError('<x>: Failed to establish a new connection:"
                " [Errno 111] Connection refused'))",
            ),
            "cannot reach the Kubernetes API at https://h:1: [Errno 111] Connection refused",
        ),
        (
            KubeError(500, "Internal Server Error", "boom"),
            "the API server answered 500 Internal Server Error: boom",
        ),
    ],
)
def test_api_errors_are_one_line(error: KubeError, line: str) -> None:
    text = describe_api_error(error, "https://h:1")
    assert text.startswith(line)
    assert "\n" not in text


def test_gitops_markers() -> None:
    assert not gitops_managed(agent())
    synced = agent()
    synced["metadata"]["labels"] = {"kustomize.toolkit.fluxcd.io/name": "apps"}
    assert gitops_managed(synced)
