"""Input built to hurt the parser gets one line and exit 2, never a crash or a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent_operator.loader import MAX_NESTING, DocumentError, parse_documents

AGENTCTL = [sys.executable, "-c", "import sys; from agent_operator.cli.main import main; sys.exit(main())"]

BILLION_LAUGHS = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
)


def test_nesting_deeper_than_any_manifest_is_refused() -> None:
    depth = 50_000  # libyaml would recurse in C and crash the process
    with pytest.raises(DocumentError) as err:
        parse_documents("[" * depth + "]" * depth, "deep.yaml")
    assert f"nested more than {MAX_NESTING} levels deep" in str(err.value)


def test_nesting_a_manifest_needs_is_fine() -> None:
    depth = 30
    (doc,) = parse_documents("a: " + "[" * depth + "1" + "]" * depth, "ok.yaml")
    assert doc.data["a"] is not None


def test_aliases_are_refused_before_they_expand() -> None:
    with pytest.raises(DocumentError) as err:
        parse_documents(BILLION_LAUGHS, "bomb.yaml")
    assert "aliases" in str(err.value)
    assert "line 2" in str(err.value)


def test_a_device_is_not_read(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*AGENTCTL, "validate", "/dev/zero"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "/dev/zero: not a regular file (use - to read standard input)"


def test_an_oversized_file_is_refused_without_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (17 * 2**20))
    proc = subprocess.run(
        [*AGENTCTL, "validate", str(big)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert "larger than 16 MiB" in proc.stderr
    assert "Traceback" not in proc.stderr
