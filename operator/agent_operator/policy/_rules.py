"""Custom rules: CEL expressions over the AgentDeployment, compiled once, judged per agent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import cel

from ..api import ApiError
from ..api.policy import CustomRule, RuleSeverity
from ._types import Outcome

RULE_VARIABLE = "object"
_MACRO_BINDING = re.compile(
    r"\.(?:all|exists|exists_one|existsOne|map|filter|sortBy|transformList|transformMap)\(\s*"
    r"([A-Za-z_]\w*)\s*,(?:\s*([A-Za-z_]\w*)\s*,)?"
)
_MACRO_CALL = re.compile(
    r"\.(?:all|exists|exists_one|existsOne|map|filter|sortBy|transformList|transformMap)\("
)
MAX_MACROS = 2
"""The CEL library has no cost limit and holds the interpreter while it runs; nested macros over
ranges or lists grow geometrically (seven nested .all() over ten items took seconds). Two macros
over the object's bounded lists keep any rule cheap."""
_MAX_ERROR_LENGTH = 200
# Shorter values are field-like words (true, high); masking them would garble the message.
_MIN_REDACTED_LENGTH = 4


@dataclass(frozen=True)
class CompiledRule:
    """A custom rule whose expression compiled."""

    name: str
    expression: str
    message: str
    severity: RuleSeverity
    program: Any = field(repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"custom.{self.name}"


def compile_rule(rule: CustomRule, index: int) -> CompiledRule | ApiError:
    """The compiled rule, or the error to report at spec.rules[index].expression."""
    path = f"spec.rules[{index}].expression"
    macros = len(_MACRO_CALL.findall(rule.expression))
    if macros > MAX_MACROS:
        return ApiError(
            path,
            f"uses {macros} list macros (all, exists, map, filter...); at most {MAX_MACROS} are allowed,"
            " so that a rule stays cheap to evaluate on every reconcile and admission request",
        )
    try:
        program = cel.compile(rule.expression)
    except (ValueError, RuntimeError, TypeError) as exc:
        return ApiError(path, f"invalid CEL: {_first_line(str(exc))}")
    # The library lists macro iteration variables (the x of .all(x, ...)) among the variables.
    bound = {name for match in _MACRO_BINDING.finditer(rule.expression) for name in match.groups() if name}
    unknown = sorted(set(program.variables()) - {RULE_VARIABLE} - bound)
    if unknown:
        return ApiError(
            path, f"unknown variable {', '.join(unknown)}; the AgentDeployment is available as `object`"
        )
    return CompiledRule(rule.name, rule.expression, rule.message, rule.severity, program)


def judge(rule: CompiledRule, wire_object: dict[str, Any]) -> Outcome:
    """Run the rule. Errors and non-boolean results fail the rule instead of raising."""
    try:
        result = rule.program.execute({RULE_VARIABLE: wire_object})
    except KeyError as exc:
        detail = _first_line(_redact(str(exc), wire_object))
        return Outcome.failed(
            f"{rule.message} (the expression reads a field that is not set: {detail};"
            " guard optional fields with has())"
        )
    except Exception as exc:
        # Any CEL runtime error (overloads, conversions, division) fails the rule; it never crashes.
        detail = _first_line(_redact(str(exc), wire_object))
        return Outcome.failed(f"{rule.message} (the expression failed: {detail})")
    if not isinstance(result, bool):
        return Outcome.failed(
            f"{rule.message} (the expression must return true or false, not {type(result).__name__})"
        )
    if result:
        return Outcome.passed(f"rule holds: {rule.expression}")
    return Outcome.failed(rule.message)


def _redact(text: str, wire_object: Any) -> str:
    """``text`` with every string value of the object masked: CEL errors quote their inputs, and
    an input may be a credential."""
    for value in sorted(_string_values(wire_object), key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    return text


def _string_values(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node} if len(node) >= _MIN_REDACTED_LENGTH else set()
    if isinstance(node, dict):
        return set().union(*(_string_values(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_string_values(v) for v in node))
    return set()


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:_MAX_ERROR_LENGTH]
