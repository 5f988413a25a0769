"""hack/build-tools.sh on a first build: a line per component as it starts and finishes, with the
time taken, and a heartbeat while a build runs. A stand-in `go` on PATH plays the compiler (it sleeps,
then writes the binaries) so the script's own reporting is what is tested, in seconds."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support.cluster import REPO_ROOT

FAKE_GO = """#!/usr/bin/env bash
case "$1" in
  env)
    case "$2" in GOVERSION) echo go1.26.0 ;; GOOS) echo linux ;; GOARCH) echo amd64 ;; esac ;;
  build)
    shift
    out="" pkgs=()
    while (($#)); do
      case "$1" in
        -o) out="$2"; shift 2 ;;
        -ldflags|-tags) shift 2 ;;
        -*) shift ;;
        *) pkgs+=("$1"); shift ;;
      esac
    done
    sleep "${FAKE_GO_SECONDS:-3}"
    for pkg in "${pkgs[@]}"; do
      base="${pkg##*/}"; printf '#!/bin/sh\\n' >"$out/$base"; chmod +x "$out/$base"
    done ;;
  *) exit 2 ;;
esac
"""


def test_first_build_reports_each_component_and_a_heartbeat(tmp_path: Path) -> None:
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "go").write_text(FAKE_GO)
    (fake_bin / "go").chmod(0o755)
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "hack").symlink_to(REPO_ROOT / "hack")
    (clone / "tools").symlink_to(REPO_ROOT / "tools")
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "AGENT_OPERATOR_CACHE": str(tmp_path / "cache"),
        "AGENT_OPERATOR_HEARTBEAT_SECONDS": "1",
        "FAKE_GO_SECONDS": "3",
    }
    script = clone / "hack" / "build-tools.sh"
    result = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    log = result.stderr
    components = ["k8s", "etcd", "kwok", "helm", "prometheus"]
    for index, name in enumerate(components, start=1):
        assert re.search(rf"\[{index}/5\] building {name} v", log), log
        assert f"still building {name}: 0m" in log, log
        assert re.search(rf"\[{index}/5\] built {name} in \d+s", log), log

    again = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 0, again.stderr
    assert "building" not in again.stderr
    assert all(f"cached: {name}" in again.stderr for name in components)
