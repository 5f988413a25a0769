"""PromQL templates: the placeholders a query may use, their validation and their expansion.

A template names what it measures with ``{{namespace}}``, ``{{agent}}``, ``{{revision}}`` and
``{{window}}``, or ``{{selector}}`` for the three label matchers at once. The same template is
expanded twice per measurement, once for the canary revision and once for the stable one, so a
template that does not mention the revision would compare a thing with itself: that is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

NAMESPACE_LABEL: Final = "namespace"
# The rendered ServiceMonitor copies the revision Service's agentoperator.dev/* labels onto every
# series; prometheus-operator turns "." and "/" into "_" (render/_monitoring.py).
AGENT_LABEL: Final = "agentoperator_dev_agent"
REVISION_LABEL: Final = "agentoperator_dev_revision"

PLACEHOLDERS: Final = ("namespace", "agent", "revision", "window", "selector")
_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_MAX_TEMPLATE = 4096


class TemplateError(ValueError):
    """A PromQL template is unusable; the message says why and how to fix it."""


@dataclass(frozen=True)
class Target:
    """The series one expansion selects: one revision of one agent, over one window."""

    namespace: str
    agent: str
    revision: str
    window_seconds: int

    @property
    def window(self) -> str:
        return f"{self.window_seconds}s"


def _quote(value: str) -> str:
    """A PromQL string literal. Names here are Kubernetes names, but never trust that."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(target: Target, *extra: str) -> str:
    """``namespace="…",agentoperator_dev_agent="…",agentoperator_dev_revision="…"`` plus extra
    matchers, without braces, so a template can add its own matchers around it."""
    parts = [
        f"{NAMESPACE_LABEL}={_quote(target.namespace)}",
        f"{AGENT_LABEL}={_quote(target.agent)}",
        f"{REVISION_LABEL}={_quote(target.revision)}",
        *extra,
    ]
    return ",".join(parts)


def validate_template(template: str) -> None:
    """Raises TemplateError unless every placeholder is known and the revision is selected."""
    if not template.strip():
        raise TemplateError("the query is empty")
    if len(template) > _MAX_TEMPLATE:
        raise TemplateError(f"the query is longer than {_MAX_TEMPLATE} characters")
    names = [m.group(1) for m in _TOKEN.finditer(template)]
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        listed = ", ".join("{{" + n + "}}" for n in unknown)
        known = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder {listed}; use {known}")
    leftover = _TOKEN.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateError("a '{{' has no matching '}}' (placeholders look like {{revision}})")
    if "revision" not in names and "selector" not in names:
        raise TemplateError(
            "the query does not select a revision, so canary and stable would read the same series;"
            " add {{selector}} or " + REVISION_LABEL + '="{{revision}}" to its label matchers'
        )


def expand(template: str, target: Target) -> str:
    """The template with its placeholders replaced (validate it first)."""
    values = {
        "namespace": target.namespace,
        "agent": target.agent,
        "revision": target.revision,
        "window": target.window,
        "selector": selector(target),
    }
    # Inside a quoted matcher the value must stay a valid string literal.
    escaped = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in values.items() if k != "selector"}
    escaped["selector"] = values["selector"]
    return _TOKEN.sub(lambda m: escaped[m.group(1)], template)
