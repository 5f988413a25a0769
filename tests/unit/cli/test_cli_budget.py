"""agentctl budget: its flags and its text view (against a cluster in the integration tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from agent_operator.api.budget import BudgetStatus
from agent_operator.cli.budget import budget_lines, parse_duration, parse_usd
from agent_operator.cli.main import main


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("4h", 14400), ("1h30m", 5400), ("2d", 172800), ("90s", 90), ("7d", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "4", "4x", "h", "-1h", "0s", "8d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "usd"), [("150", 150.0), ("$12.5", 12.5)])
def test_amounts(text: str, usd: float) -> None:
    assert parse_usd(text) == usd


@pytest.mark.parametrize("text", ["0", "-5", "lots", "nan"])
def test_bad_amounts(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_usd(text)


def test_override_needs_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "bot", "--override", "50"]) == 2
    err = capsys.readouterr().err
    assert "--override USD and --for DURATION go together" in err
    assert "Traceback" not in err


def test_the_text_view_shows_spend_cap_window_projection_and_override() -> None:
    budget = BudgetStatus.model_validate(
        {
            "state": "Warning",
            "windowStart": "2026-12-02T00:00:00Z",
            "windowEnd": "2026-12-03T00:00:00Z",
            "capUSD": 25,
            "spentUSD": 21.5,
            "projectedUSD": 30.25,
            "measuredAt": "2026-12-02T12:00:00Z",
            "revisions": [
                {"revision": "r1", "spentUSD": 21.5, "burnUSDPerHour": 0.73, "projectedUSD": 30.25}
            ],
            "override": {
                "capUSD": 25,
                "by": "alice",
                "at": "2026-12-02T11:00:00Z",
                "until": "2026-12-02T15:00:00Z",
            },
        }
    )
    text = "\n".join(budget_lines("bot", 10.0, budget))
    assert "budget bot: Warning" in text
    assert "$25.00 (dailyUSD $10.00)" in text
    assert "$21.50 (86%)" in text
    assert "2026-12-02T00:00:00Z .. 2026-12-03T00:00:00Z" in text
    assert "projected  $30.25" in text
    assert "override   $25.00 by alice until 2026-12-02T15:00:00Z" in text
    assert "revision r1: spent $21.50, burning $0.73/h, projected $30.25" in text


def test_validate_names_an_unknown_time_zone_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from tests.support.cluster import REPO_ROOT

    agent = yaml.safe_load((REPO_ROOT / "examples" / "production.yaml").read_text())
    agent["spec"]["runtime"]["budget"]["timezone"] = "Mars/Olympus"
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(agent))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{path}: spec.runtime.budget.timezone: unknown time zone 'Mars/Olympus';"
        " use an IANA name such as UTC,"
        " Europe/Berlin or America/New_York"
    ]
