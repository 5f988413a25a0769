"""checkov's Kubernetes checks on the chart's output: no failure in any configuration, and every
deliberate exception is a skip annotation that says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.packaging.test_chart import CONFIGURATIONS
from tests.support.chart import template_text
from tests.support.cluster import missing

DIGEST = "sha256:" + "ab" * 32
CHECKED = {**CONFIGURATIONS, "digest": {"image.digest": DIGEST}}


def _checkov() -> str:
    found = shutil.which("checkov", path=str(Path(sys.executable).parent))
    if found is None:
        missing("checkov not installed (make venv installs it from uv.lock)")
    return found


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """checkov's JSON report per configuration, from one checkov run over every rendering."""
    checkov = _checkov()
    out = tmp_path_factory.mktemp("checkov")
    for name, values in CHECKED.items():
        (out / f"{name}.yaml").write_text(template_text(values).stdout)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_CREATE_GRAPH": "False"}
    result = subprocess.run(
        [checkov, "--directory", str(out), "--framework", "kubernetes", "--output", "json",
         "--skip-download"],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )  # fmt: skip
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout)
    results = report["results"] if isinstance(report, dict) else report[0]["results"]
    by_file: dict[str, dict[str, Any]] = {
        name: {"failed": [], "skipped": [], "passed": 0} for name in CHECKED
    }
    for outcome, key in (("failed_checks", "failed"), ("skipped_checks", "skipped")):
        for check in results[outcome]:
            by_file[Path(check["file_path"]).stem][key].append(check)
    for check in results["passed_checks"]:
        by_file[Path(check["file_path"]).stem]["passed"] += 1
    return by_file


@pytest.mark.parametrize("configuration", list(CHECKED))
def test_no_checkov_failure(reports: dict[str, dict[str, Any]], configuration: str) -> None:
    report = reports[configuration]
    assert report["passed"] > 50, "checkov ran its checks on the rendering"
    failures = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["failed"]]
    assert failures == []


@pytest.mark.parametrize("configuration", list(CHECKED))
def test_every_exception_is_deliberate_and_explained(
    reports: dict[str, dict[str, Any]], configuration: str
) -> None:
    skipped = {
        c["check_id"]: c.get("check_result", {}).get("suppress_comment", "")
        for c in reports[configuration]["skipped"]
    }
    allowed = {"CKV_K8S_38", "CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_155"}
    assert set(skipped) <= allowed, f"unexpected exceptions: {set(skipped) - allowed}"
    assert "CKV_K8S_38" in skipped, "the operator's own token is the one standing exception"
    for check_id, reason in skipped.items():
        assert len(reason) > 40, f"{check_id} is skipped without a reason"
    assert ("CKV_K8S_43" in skipped) == (configuration != "digest"), "a digest, when given, is used"
    assert ("CKV_K8S_155" in skipped) == (configuration != "ha-cert-manager"), (
        "webhook-configuration rights exist only in self-signed mode"
    )
