"""Commands carried by annotations: written by agentctl, read once by the operator."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_operator.controller.commands import COMMAND_PREFIX, command_annotation, parse_commands

AT = datetime(2026, 11, 21, 12, 0, 5, tzinfo=UTC)


def test_round_trip_of_every_field() -> None:
    annotations = {
        **command_annotation("approve", at=AT, by="alice@example.com", revision="abc1234567"),
        **command_annotation("promote", at=AT, by="bob", revision="abc1234567", full=True),
        **command_annotation("rollback", at=AT, by="carol", to_revision=3),
    }
    commands, problems = parse_commands(annotations)
    assert problems == []
    by_verb = {c.verb: c for c in commands}
    assert by_verb["approve"].by == "alice@example.com"
    assert by_verb["approve"].revision == "abc1234567"
    assert by_verb["approve"].at == AT
    assert by_verb["promote"].full is True
    assert by_verb["rollback"].to_revision == 3
    assert by_verb["rollback"].revision is None


def test_unrelated_annotations_are_ignored() -> None:
    commands, problems = parse_commands({"kubectl.kubernetes.io/last-applied-configuration": "{}"})
    assert commands == ()
    assert problems == []


def test_malformed_commands_are_reported_not_raised() -> None:
    commands, problems = parse_commands(
        {
            COMMAND_PREFIX + "approve": "not json",
            COMMAND_PREFIX + "promote": '{"by": "x"}',
            COMMAND_PREFIX + "explode": '{"at": "2026-01-01T00:00:00Z"}',
            COMMAND_PREFIX + "rollback": '{"at": "2026-01-01T00:00:00Z", "toRevision": "three"}',
        }
    )
    assert commands == ()
    assert len(problems) == 4
    assert any("unknown command" in p for p in problems)
    assert any("'at' is missing" in p for p in problems)
