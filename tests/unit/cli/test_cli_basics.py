"""--version, --help on every command, the crash guard and ``python -m agent_operator``."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
from agentctl_process import REPO, Agentctl

from agent_operator import __version__
from agent_operator.cli._command import Command
from agent_operator.cli._console import Console, wants_colour
from agent_operator.cli.main import COMMANDS, main


def test_version(agentctl: Agentctl) -> None:
    result = agentctl("--version")
    assert result.code == 0
    assert result.out.strip() == f"agentctl {__version__}"


def test_top_level_help_lists_every_command(agentctl: Agentctl) -> None:
    result = agentctl("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert command.name in result.out


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_help_on_every_command(agentctl: Agentctl, name: str) -> None:
    result = agentctl(name, "--help")
    assert result.code == 0
    assert result.out.startswith(f"usage: agentctl {name}")


def test_no_command_is_a_usage_error(agentctl: Agentctl) -> None:
    result = agentctl()
    assert result.code == 2
    assert "usage:" in result.err


def test_unknown_command_is_a_usage_error(agentctl: Agentctl) -> None:
    result = agentctl("frobnicate", "x")
    assert result.code == 2
    assert "invalid choice" in result.err


def _exploding(args: argparse.Namespace, console: Console) -> int:
    raise RuntimeError("sk-secret-looking-value-that-must-not-leak")


EXPLODING = Command("explode", "raises", "raises", lambda parser: None, _exploding)


def test_unexpected_exception_becomes_one_line_and_exit_2() -> None:
    err = io.StringIO()
    code = main(["explode"], Console(io.StringIO(), err), commands=(EXPLODING,))
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert "internal error (RuntimeError)" in lines[0]
    assert "sk-secret" not in err.getvalue()


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    err = io.StringIO()
    code = main(["explode", "--debug"], Console(io.StringIO(), err), commands=(EXPLODING,))
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


def test_python_m_agent_operator_is_agentctl_run() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent_operator", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: agentctl run")


def test_run_with_a_missing_kubeconfig_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agent_operator", "--kubeconfig", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "kubeconfig" in proc.stderr
    assert "Traceback" not in proc.stderr


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_colour(_Stream(tty=True))
    assert not wants_colour(_Stream(tty=False))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(_Stream(tty=True))


def test_style_is_plain_without_colour() -> None:
    assert Console(colour=False).style("x", "red") == "x"
    assert Console(colour=True).style("x", "red") == "\033[31mx\033[0m"
