"""secrets.noLiterals: what counts as a credential, what does not, and that values never echo."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import ALL_CAPABILITIES, all_required, make_agent, put, result

from agent_operator.policy import evaluate
from agent_operator.policy._secrets import character_noise, credential_kind, shannon_entropy

CREDENTIALS = [
    ("sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7yZ", "OpenAI"),
    ("sk-" + "T3BlbkFJ" + "a8Zq2Lw9Xc4Vb7Nm1Kp6", "OpenAI"),
    ("sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2", "Anthropic"),
    ("AKIA" + "IOSFODNN7EXAMPLE", "AWS"),
    ("ASIA" + "Y34FZKBOKMUTVV7A", "AWS"),
    ("ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a", "GitHub"),
    ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "GitHub"),
    ("xoxb-" + "123456789012-abcdefABCDEF", "Slack"),
    ("AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "Google"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...", "private key"),
    ("-----BEGIN PRIVATE KEY-----", "private key"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "JSON Web",
    ),
    ("postgres://app:s3cr3tpw@db.internal:5432/app", "URL with an embedded password"),
    ("q8ZkL2mN9xW4vB7cR1tY6uH3", "high-entropy"),
    ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "high-entropy"),
]

NOT_CREDENTIALS = [
    "https://api.openai.com/v1/chat/completions",
    "http://otel-collector.observability:4317",
    "/var/run/secrets/openai/token",
    "/usr/local/lib/python3.11/site-packages",
    "gpt-4.1-mini-2025-04-14",
    "claude-3-5-sonnet-20241022",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen2.5-72B-Instruct-AWQ",
    "text-embedding-3-large",
    "registry.example.com/support-bot:1.4.2",
    "us-central1-docker.pkg.dev/my-project/agents/bot",
    "projects/my-project/locations/us-central1",
    "gs://my-bucket-2024/datasets/golden-v3.jsonl",
    "kafka-broker-0.kafka-headless.messaging.svc.cluster.local:9092",
    "SupportBotProductionRelease2025",
    "MyAgentConfigurationV2Beta",
    "123e4567-e89b-12d3-a456-426614174000",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "The quick brown fox jumps over the lazy dog",
    "info",
    "",
    "LOG_LEVEL=info,format=json,redact=true",
    "arn:aws:iam::123456789012:role/agent-runtime-role",
]


@pytest.mark.parametrize(("value", "kind"), CREDENTIALS)
def test_credentials_are_recognised(value: str, kind: str) -> None:
    found = credential_kind(value)
    assert found is not None
    assert kind in found


@pytest.mark.parametrize("value", NOT_CREDENTIALS)
def test_ordinary_values_are_not_credentials(value: str) -> None:
    assert credential_kind(value) is None


def test_the_variable_name_counts_for_short_values_and_identifier_names_excuse_hex() -> None:
    assert credential_kind("hunter2", "DB_PASSWORD") is not None
    assert credential_kind("hunter2", "DB_HOST") is None
    commit = "d6cd1e2bd19e03a81132a23b2025920577f84e37"
    assert credential_kind(commit, "GIT_SHA") is None
    assert credential_kind(commit, "UPSTREAM") is not None


def test_measures() -> None:
    assert shannon_entropy("") == 0
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2
    assert character_noise("abc") == 0
    assert character_noise("a1B2") == 1


@pytest.mark.parametrize(("value", "_"), CREDENTIALS)
def test_value_is_never_echoed_anywhere_in_the_report(value: str, _: str) -> None:
    agent = make_agent(
        put("spec.container.env", [{"name": "UPSTREAM", "value": value}]),
        put(
            "spec.podTemplate.containers",
            [
                {
                    "name": "side",
                    "image": "registry.example.com/side:1",
                    "env": [{"name": "V", "value": value}],
                }
            ],
        ),
        put("spec.evaluation.env", [{"name": "V", "value": value}]),
    )
    report = evaluate(agent, all_required(), ALL_CAPABILITIES)
    found = result(report, "secrets.noLiterals")
    assert found.status == "fail"
    assert "UPSTREAM" in found.message
    assert "'agent'" in found.message
    dumped = report.model_dump_json()
    for line in value.splitlines():
        assert line not in dumped


_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@settings(max_examples=40, deadline=None)
@given(
    prefix=st.sampled_from(["sk-proj-", "sk-ant-api03-", "ghp_", "sk_live_", "xoxp-", ""]),
    body=st.text(alphabet=_TOKEN_ALPHABET, min_size=36, max_size=48),
    name=st.from_regex(r"[A-Z][A-Z_]{2,12}", fullmatch=True),
)
def test_no_secret_echo_property(prefix: str, body: str, name: str) -> None:
    value = prefix + body
    agent = make_agent(put("spec.container.env", [{"name": f"X_{name}", "value": value}]))
    report = evaluate(agent, all_required(), ALL_CAPABILITIES)
    dumped = report.model_dump_json()
    assert value not in dumped
    assert body not in dumped
