"""Credential checks. Messages name the variable and the container, never the value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._context import CheckContext
from ._secrets import credential_kind
from ._shapes import as_dict, as_list, summarise
from ._types import CheckDefinition, Outcome, levels

# Providers usually run inside the cluster without an API key.
_SELF_HOSTED_PROVIDERS = frozenset(
    {
        "vllm",
        "ollama",
        "tgi",
        "huggingface-tgi",
        "llamacpp",
        "llama.cpp",
        "localai",
        "triton",
        "local",
        "self-hosted",
    }
)

Finding = tuple[str, str]  # (message, path)


def _env_findings(env: list[Any], where: str, path: str) -> Iterator[Finding]:
    for index, item in enumerate(env):
        var = as_dict(item)
        value, name = var.get("value"), str(var.get("name", ""))
        if isinstance(value, str) and (kind := credential_kind(value, name)):
            yield f"env {name} of {where} holds {kind} as a literal value", f"{path}.env[{index}].value"


def _arg_findings(args: list[Any], where: str, path: str, field: str) -> Iterator[Finding]:
    for index, arg in enumerate(args):
        if not isinstance(arg, str):
            continue
        flag, _, value = arg.partition("=") if arg.startswith("-") and "=" in arg else ("", "", arg)
        if credential_kind(value, flag.lstrip("-")):
            yield f"{field}[{index}] of {where} holds a literal credential", f"{path}.{field}[{index}]"


def _findings(ctx: CheckContext) -> Iterator[Finding]:
    container, evaluation = ctx.spec.container, ctx.spec.evaluation
    sources = [("container 'agent'", "spec.container", container.env, container.command, container.args)]
    if evaluation:
        sources.append(
            ("the evaluation job", "spec.evaluation", evaluation.env, evaluation.command, evaluation.args)
        )
    for where, path, env, command, args in sources:
        plain_env = [{"name": var.name, "value": var.value} for var in env or []]
        yield from _env_findings(plain_env, where, path)
        yield from _arg_findings(list(command or []), where, path, "command")
        yield from _arg_findings(list(args or []), where, path, "args")
    for c in ctx.containers():
        if c.is_agent:
            continue  # judged from the spec: the renderer adds its own AGENT_* values
        yield from _env_findings(as_list(c.body.get("env")), c.label, c.source)
        for field in ("command", "args"):
            yield from _arg_findings(as_list(c.body.get(field)), c.label, c.source, field)
    for label, url, path in (
        ("spec.model.endpoint", ctx.spec.model.endpoint if ctx.spec.model else None, "spec.model.endpoint"),
        (
            "the tracing endpoint",
            ctx.spec.observability.tracing.otlp_endpoint
            if ctx.spec.observability and ctx.spec.observability.tracing
            else None,
            "spec.observability.tracing.otlpEndpoint",
        ),
    ):
        if url and (kind := credential_kind(url)):
            yield f"{label} holds {kind}", path


def check_no_literals(ctx: CheckContext) -> Outcome:
    findings = list(_findings(ctx))
    if findings:
        return Outcome.failed(summarise([m for m, _ in findings]), findings[0][1])
    return Outcome.passed("no literal value looks like a credential")


def check_model_credentials(ctx: CheckContext) -> Outcome:
    model = ctx.spec.model
    if model is None:
        return Outcome.skipped("spec.model is not set")
    path = "spec.model.apiKeySecret"
    if model.api_key_secret is None:
        if model.provider.lower() in _SELF_HOSTED_PROVIDERS:
            return Outcome.passed(f"{model.provider} is self-hosted and needs no API key")
        return Outcome.failed(f"no Secret holds the {model.provider} API key", path)
    if model.api_key_secret.optional:
        return Outcome.failed(
            "the API key Secret is optional: the agent would start without credentials", f"{path}.optional"
        )
    return Outcome.passed(f"the {model.provider} key comes from Secret {model.api_key_secret.name}")


def check_mounted_as_files(ctx: CheckContext) -> Outcome:
    container = ctx.spec.container
    found = [
        (f"env {var.name} comes from Secret {var.value_from.secret_key_ref.name}", f"spec.container.env[{i}]")
        for i, var in enumerate(container.env or [])
        if var.value_from is not None and var.value_from.secret_key_ref is not None
    ]
    found += [
        (f"envFrom imports Secret {src.secret_ref.name}", f"spec.container.envFrom[{i}]")
        for i, src in enumerate(container.env_from or [])
        if src.secret_ref is not None
    ]
    if found:
        return Outcome.failed(
            summarise([m for m, _ in found])
            + " (environment variables leak into crash dumps and child processes)",
            found[0][1],
        )
    return Outcome.passed("Secrets reach the agent as files")


DEFINITIONS: tuple[CheckDefinition, ...] = (
    CheckDefinition(
        "secrets.noLiterals",
        "No credentials in literal values",
        "secrets",
        "literal env values, command and args of the agent container, the evaluation job and every overlay "
        "container, plus spec.model.endpoint and the tracing endpoint: provider key formats (OpenAI, "
        "Anthropic, AWS, GitHub, Slack, Google, Stripe, private keys, JWTs, URL passwords), credential-named "
        "variables and high-entropy tokens of 20+ characters",
        "Store the value in a Secret and reference it: env: [{name: OPENAI_API_KEY, valueFrom: "
        "{secretKeyRef: {name: openai-api-key, key: token}}}], or list it in spec.secrets to mount it "
        "as a file. Rotate the exposed credential.",
        levels("required", "required", "required"),
        check_no_literals,
    ),
    CheckDefinition(
        "secrets.modelCredentials",
        "Model credentials come from a Secret",
        "secrets",
        "spec.model.apiKeySecret for hosted providers (skipped without spec.model); the reference must not "
        "be optional",
        "Set spec.model.apiKeySecret: {name: openai-api-key, key: token} and remove optional: true.",
        levels("required", "required", "required"),
        check_model_credentials,
    ),
    CheckDefinition(
        "secrets.mountedAsFiles",
        "Secrets mounted as files",
        "secrets",
        "valueFrom.secretKeyRef and envFrom.secretRef of spec.container",
        "List the Secret in spec.secrets, for example {name: openai-api-key, mountPath: "
        "/var/run/secrets/openai}, and read it from the file instead of an environment variable.",
        levels("warning", "warning", "off"),
        check_mounted_as_files,
    ),
)
