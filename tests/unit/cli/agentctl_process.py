"""Runs agentctl the way users and CI do: as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


Agentctl = Callable[..., Result]


def run_agentctl(*args: str | Path, stdin: bytes | None = None, cwd: Path = REPO) -> Result:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "agent_operator.cli.main", *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    # No input, however broken, may make agentctl print a Python traceback.
    assert "Traceback" not in result.output, result.output
    return result
