"""``agentctl validate`` through a subprocess: verdicts, exit codes, input handling, output formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agentctl_process import EXAMPLES, Agentctl

PRODUCTION = EXAMPLES / "production.yaml"
NONCOMPLIANT = EXAMPLES / "noncompliant.yaml"
MINIMAL = EXAMPLES / "minimal.yaml"
LEAKED_KEY = "sk-proj-Zx81mQv3T7wLp0sN4rYb6KfH2cJd9EaU5gXo1iWt"
"""The literal credential pasted into examples/noncompliant.yaml."""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_production_passes(agentctl: Agentctl) -> None:
    result = agentctl("validate", PRODUCTION)
    assert result.code == 0, result.output
    header, *checks = result.out.strip().splitlines()
    assert "agents/support-bot" in header
    assert "policy builtin/production (Enforce)" in header
    assert header.endswith("READY")
    assert all(line.lstrip()[0] in "✓!-" for line in checks if not line.startswith("      "))
    assert any(line.strip().startswith("✓ probes.readiness") for line in checks)


def test_noncompliant_fails_with_remediation_and_never_prints_the_secret(agentctl: Agentctl) -> None:
    assert LEAKED_KEY in NONCOMPLIANT.read_text()
    result = agentctl("validate", NONCOMPLIANT)
    assert result.code == 1
    assert "NOT READY" in result.out
    lines = result.out.splitlines()
    literal = next(i for i, line in enumerate(lines) if line.strip().startswith("✗ secrets.noLiterals"))
    assert "[spec.container.env[0].value]" in lines[literal]
    assert lines[literal + 1].strip().startswith("fix:")
    assert LEAKED_KEY not in result.output
    assert LEAKED_KEY[:12] not in result.output


def test_noncompliant_json_never_contains_the_secret(agentctl: Agentctl) -> None:
    result = agentctl("validate", NONCOMPLIANT, "-o", "json")
    assert result.code == 1
    assert LEAKED_KEY not in result.output
    report = json.loads(result.out)
    assert "secrets.noLiterals" in report["missingRequired"]


def test_environment_overrides_the_builtin_profile(agentctl: Agentctl) -> None:
    assert agentctl("validate", MINIMAL).code == 0
    result = agentctl("validate", MINIMAL, "--environment", "production")
    assert result.code == 1
    assert "policy builtin/production" in result.out


def test_json_report_shape_for_one_agent(agentctl: Agentctl) -> None:
    result = agentctl("validate", PRODUCTION, "-o", "json")
    assert result.code == 0
    report = json.loads(result.out)
    assert report["source"] == str(PRODUCTION)
    assert report["agent"] == "agents/support-bot"
    assert report["ready"] is True
    assert 0 <= report["score"] <= 100
    assert {"policy", "enforcement", "checks", "missingRequired", "warnings"} <= report.keys()
    check = report["checks"][0]
    assert set(check) == {"id", "title", "severity", "status", "message", "path", "remediation"}


def test_json_is_a_list_for_several_agents(agentctl: Agentctl) -> None:
    result = agentctl("validate", PRODUCTION, NONCOMPLIANT, "-o", "json")
    assert result.code == 1
    reports = json.loads(result.out)
    assert [r["source"] for r in reports] == [str(PRODUCTION), str(NONCOMPLIANT)]
    assert [r["ready"] for r in reports] == [True, False]


def test_stdin(agentctl: Agentctl) -> None:
    result = agentctl("validate", "-", stdin=PRODUCTION.read_bytes())
    assert result.code == 0
    assert result.out.startswith("-: agents/support-bot")


def test_directory_is_searched_recursively(agentctl: Agentctl, tmp_path: Path) -> None:
    _write(tmp_path / "a" / "b" / "prod.yaml", PRODUCTION.read_text())
    _write(tmp_path / "c" / "min.yml", MINIMAL.read_text())
    _write(tmp_path / "d" / "prod.json", json.dumps(_as_json(PRODUCTION)))
    _write(tmp_path / ".git" / "ignored.yaml", NONCOMPLIANT.read_text())
    _write(tmp_path / "README.md", "not yaml: [")
    result = agentctl("validate", tmp_path)
    assert result.code == 0, result.output
    headers = [line for line in result.out.splitlines() if line and not line.startswith(" ")]
    sources = [h.split(":")[0] for h in headers[:-1]]
    assert sources == [str(tmp_path / p) for p in ("a/b/prod.yaml", "c/min.yml", "d/prod.json")]
    assert headers[-1] == "3 agents: 3 ready, 0 not ready"


def _as_json(path: Path) -> object:
    import yaml

    return yaml.safe_load(path.read_text())


def test_directory_without_manifests_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    _write(tmp_path / "notes.txt", "hello")
    result = agentctl("validate", tmp_path)
    assert result.code == 2
    assert result.err.strip() == f"{tmp_path}: no *.yaml, *.yml, *.json files in this directory"


def test_multi_document_with_other_kinds_skipped(agentctl: Agentctl, tmp_path: Path) -> None:
    configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
    path = _write(
        tmp_path / "bundle.yaml", f"{configmap}---\n{PRODUCTION.read_text()}---\n{NONCOMPLIANT.read_text()}"
    )
    result = agentctl("validate", path)
    assert result.code == 1
    assert f"note: {path}#0: skipped ConfigMap/settings (not an AgentDeployment)" in result.err
    assert f"{path}#1: agents/support-bot" in result.out
    assert f"{path}#2: agents/quick-demo" in result.out


def test_readiness_policy_in_the_inputs_is_checked_not_applied(agentctl: Agentctl, tmp_path: Path) -> None:
    policy = (EXAMPLES / "policies" / "audit-only.yaml").read_text()
    path = _write(tmp_path / "both.yaml", f"{policy}---\n{PRODUCTION.read_text()}")
    result = agentctl("validate", path)
    assert result.code == 0
    assert "not applied (pass it with --policy)" in result.err
    assert "policy builtin/production" in result.out


def test_policy_file_selects_the_policy(agentctl: Agentctl) -> None:
    policies = EXAMPLES / "policies" / "production-strict.yaml"
    result = agentctl("validate", "--policy", policies, PRODUCTION, "-o", "json")
    assert result.code == 0, result.output
    assert json.loads(result.out)["policy"] == "production-default"


def test_policy_limits_can_fail_an_agent(agentctl: Agentctl, tmp_path: Path) -> None:
    strict = _write(
        tmp_path / "strict.yaml",
        "apiVersion: agentoperator.dev/v1alpha1\nkind: ReadinessPolicy\nmetadata: {name: tiny-timeouts}\n"
        "spec:\n  limits: {maxTimeoutSeconds: 30}\n",
    )
    result = agentctl("validate", "--policy", strict, PRODUCTION)
    assert result.code == 1
    assert "policy tiny-timeouts" in result.out
    assert "✗ runtime.timeout" in result.out


def test_broken_policy_file_exits_2_before_judging(agentctl: Agentctl, tmp_path: Path) -> None:
    broken = _write(
        tmp_path / "broken.yaml",
        "apiVersion: agentoperator.dev/v1alpha1\nkind: ReadinessPolicy\nmetadata: {name: p}\n"
        "spec:\n  checks: {no.such.check: required}\n",
    )
    result = agentctl("validate", "--policy", broken, PRODUCTION)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(f"{broken}: spec.checks")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("setWeight: 10", "setWeight: 150"),
            "spec.rollout.canary.steps[0].setWeight: must be between 0 and 100",
        ),
        (("replicas: 4", "replicas: 4\n  colour: blue"), "spec.colour: unknown field; allowed fields:"),
        (("strategy: Canary", "strategy: BlueGreen"), "spec.rollout.strategy: must be one of"),
    ],
)
def test_invalid_agent_exits_2_with_path_and_what_is_allowed(
    agentctl: Agentctl, tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    path = _write(tmp_path / "bad.yaml", PRODUCTION.read_text().replace(*edit, 1))
    result = agentctl("validate", path)
    assert result.code == 2
    assert result.out == ""
    assert f"{path}: {expected}" in result.err


def test_invalid_credential_env_is_reported_without_its_value(agentctl: Agentctl, tmp_path: Path) -> None:
    secret = "hunter2-very-secret-password-value"
    text = PRODUCTION.read_text().replace(
        "      - name: LOG_LEVEL\n        value: info",
        f"      - name: DB_PASSWORD\n        value: {secret}",
    )
    path = _write(tmp_path / "literal.yaml", text)
    result = agentctl("validate", path)
    assert result.code == 2
    assert "spec.container.env[0]: credentials must come from a Secret" in result.err
    assert secret not in result.output


def test_one_invalid_document_still_reports_the_others_and_exits_2(
    agentctl: Agentctl, tmp_path: Path
) -> None:
    bad = _write(tmp_path / "bad.yaml", PRODUCTION.read_text().replace("replicas: 4", "replicas: many"))
    result = agentctl("validate", PRODUCTION, bad)
    assert result.code == 2
    assert "agents/support-bot" in result.out
    assert f"{bad}: spec.replicas: must be a whole number" in result.err


def test_yaml_syntax_error_names_line_and_column(agentctl: Agentctl, tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.yaml", "apiVersion: v1\nkind: [AgentDeployment\nmetadata: {}\n")
    result = agentctl("validate", path)
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert line.startswith(f"{path}: line ")
    assert ", column " in line
    assert "YAML syntax error" in line


def test_json_syntax_error_names_line_and_column(agentctl: Agentctl, tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.json", '{"kind": "AgentDeployment",\n "spec": }')
    result = agentctl("validate", path)
    assert result.code == 2
    assert result.err.strip().startswith(f"{path}: line 2, column 10:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02\xff\xfe binary", "not a text file"),
        (b"\xff\xfe\xfa not utf-8", "not UTF-8 text"),
        (b"just some words", "not a Kubernetes object"),
        (b"- a\n- b\n", "not a Kubernetes object"),
        (b"{{{{", "YAML syntax error"),
        (b"", "no AgentDeployment found"),
    ],
    ids=["binary", "latin1", "scalar", "list", "garbage", "empty"],
)
def test_garbage_never_tracebacks(agentctl: Agentctl, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    result = agentctl("validate", path)
    assert result.code == 2
    assert message in result.err


def test_missing_file_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    result = agentctl("validate", tmp_path / "absent.yaml")
    assert result.code == 2
    assert result.err.strip() == f"{tmp_path / 'absent.yaml'}: no such file or directory"


def test_unreadable_file_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    path = _write(tmp_path / "locked.yaml", PRODUCTION.read_text())
    path.chmod(0)
    try:
        if path.stat().st_mode and _can_read(path):
            pytest.skip("running as a user that ignores file permissions")
        result = agentctl("validate", path)
        assert result.code == 2
        assert f"{path}: cannot read:" in result.err
    finally:
        path.chmod(0o644)


def _can_read(path: Path) -> bool:
    try:
        path.read_bytes()
    except PermissionError:
        return False
    return True


def test_no_colour_when_not_a_terminal(agentctl: Agentctl) -> None:
    result = agentctl("validate", NONCOMPLIANT)
    assert "\033[" not in result.output


def _widened(tmp_path: Path) -> Path:
    """examples/production.yaml with a new egress domain and a changed model."""
    import yaml

    docs = list(yaml.safe_load_all(PRODUCTION.read_text()))
    for doc in docs:
        if doc and doc.get("kind") == "AgentDeployment":
            doc["spec"]["network"]["egress"]["allowedDomains"].append("evil.example.org")
            doc["spec"]["model"]["name"] = "other-model"
    return _write(tmp_path / "new.yaml", yaml.safe_dump_all(docs))


def test_against_prints_the_widenings_the_policy_gates(agentctl: Agentctl, tmp_path: Path) -> None:
    result = agentctl("validate", str(_widened(tmp_path)), "--against", str(PRODUCTION))
    assert result.code == 0, result.output
    assert "Widenings (2): builtin/production requires agentctl approve for 2 of them" in result.out
    assert (
        "! egress        spec.network.egress.allowedDomains: [api.openai.com] -> +evil.example.org"
        in result.out
    )
    assert "! model         spec.model.name: gpt-4.1 -> other-model" in result.out


def test_against_in_json_and_against_itself(agentctl: Agentctl, tmp_path: Path) -> None:
    result = agentctl("validate", str(_widened(tmp_path)), "--against", str(PRODUCTION), "-o", "json")
    widenings = json.loads(result.out)["widenings"]
    assert [(w["kind"], w["after"], w["requiresApproval"]) for w in widenings] == [
        ("egress", "+evil.example.org", True),
        ("model", "other-model", True),
    ]
    same = agentctl("validate", str(PRODUCTION), "--against", str(PRODUCTION))
    assert "Widenings: none" in same.out


def test_against_staging_lists_but_does_not_gate(agentctl: Agentctl, tmp_path: Path) -> None:
    result = agentctl(
        "validate",
        str(_widened(tmp_path)),
        "--against",
        str(PRODUCTION),
        "--environment",
        "staging",
        "-o",
        "json",
    )
    assert [w["requiresApproval"] for w in json.loads(result.out)["widenings"]] == [False, False]


def test_against_a_file_without_agents_exits_2(agentctl: Agentctl, tmp_path: Path) -> None:
    empty = _write(tmp_path / "empty.yaml", "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n")
    result = agentctl("validate", str(PRODUCTION), "--against", str(empty))
    assert result.code == 2
    assert "no AgentDeployment found to compare against" in result.err
