"""``agentctl validate``: production-readiness reports for AgentDeployments, offline.

:func:`check_documents` is the whole pipeline after reading (model validation, policy choice,
rendering and checks); the benchmark drives it directly so that it measures what users run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from ..api import AgentDeployment, ReadinessPolicy
from ..api.agent import Environment
from ..loader import Document, DocumentError, load_agent, load_policy
from ..widening import Widening, widenings
from ._capabilities import add_capabilities_option, capabilities_from
from ._command import EXIT_INVALID, EXIT_NOT_READY, EXIT_OK, Command
from ._console import Console
from ._inputs import read_all
from ._text_report import format_report, format_summary
from ._widenings import widening_lines, widenings_json

if TYPE_CHECKING:
    from ..policy import ReadinessReport
    from ..render import ClusterCapabilities

ENVIRONMENTS: tuple[str, ...] = get_args(Environment)


@dataclass(frozen=True)
class AgentResult:
    """The readiness report of one AgentDeployment document."""

    location: str
    report: ReadinessReport
    widenings: tuple[Widening, ...] | None = None
    """Against the previous revision (``--against``), when one of the same name was given."""
    gated: frozenset[str] = frozenset()
    """The widening kinds the agent's policy makes wait for `agentctl approve`."""


@dataclass
class Outcome:
    """Everything ``validate`` found, before it is printed."""

    results: list[AgentResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Input that is unreadable or invalid, one ``LOCATION: path: message`` line each."""
    notes: list[str] = field(default_factory=list)
    """Documents that were skipped, and why."""

    @property
    def exit_code(self) -> int:
        if self.problems or not self.results:
            return EXIT_INVALID
        if any(not r.report.ready for r in self.results):
            return EXIT_NOT_READY
        return EXIT_OK


def load_policies(documents: Iterable[Document], outcome: Outcome) -> list[ReadinessPolicy]:
    """The valid ReadinessPolicies of ``documents``; problems go into ``outcome``.

    Every policy is compiled here, not only the one that wins for some agent, so that a broken
    policy file fails the run whatever the agents are.
    """
    policies: list[ReadinessPolicy] = []
    for doc in documents:
        if doc.kind != "ReadinessPolicy":
            outcome.notes.append(
                f"{doc.location}: skipped {_describe(doc)} (--policy files hold ReadinessPolicies)"
            )
            continue
        policy = _checked_policy(doc, outcome)
        if policy is not None:
            policies.append(policy)
    return policies


def _checked_policy(doc: Document, outcome: Outcome) -> ReadinessPolicy | None:
    from ..policy import PolicyError
    from ..policy import load_policy as compile_policy

    try:
        policy = load_policy(doc.data, doc.location)
        compile_policy(policy)
    except DocumentError as exc:
        outcome.problems.extend(exc.lines())
        return None
    except PolicyError as exc:
        outcome.problems.extend(f"{doc.location}: {error}" for error in exc.errors)
        return None
    return policy


def check_documents(
    documents: Iterable[Document],
    policies: Sequence[ReadinessPolicy] = (),
    environment: str | None = None,
    capabilities: ClusterCapabilities | None = None,
    outcome: Outcome | None = None,
    previous: Mapping[str, AgentDeployment] | None = None,
) -> Outcome:
    """Validates every AgentDeployment of ``documents`` and evaluates it against its policy.

    The policy is the highest-priority one of ``policies`` that selects the agent, else the built-in
    profile of its environment (``environment`` overrides spec.environment). ReadinessPolicy documents
    among the inputs are checked for validity but not applied: policies are chosen explicitly.
    With ``previous`` (agents by name), each agent also gets its widenings over the one of its name.
    """
    from ..policy import builtin_policy, evaluate, select_policy

    outcome = outcome if outcome is not None else Outcome()
    for doc in documents:
        if not doc.is_object:
            outcome.problems.append(
                f"{doc.location}: not a Kubernetes object (expected a mapping with apiVersion and kind)"
            )
            continue
        if doc.kind == "ReadinessPolicy":
            if _checked_policy(doc, outcome) is not None:
                outcome.notes.append(
                    f"{doc.location}: ReadinessPolicy is valid; not applied (pass it with --policy)"
                )
            continue
        if doc.kind != "AgentDeployment":
            outcome.notes.append(f"{doc.location}: skipped {_describe(doc)} (not an AgentDeployment)")
            continue
        try:
            agent = load_agent(doc.data, doc.location)
        except DocumentError as exc:
            outcome.problems.extend(exc.lines())
            continue
        if environment is not None:
            agent = _with_environment(agent, environment)
        policy = select_policy(agent, list(policies)) if policies else None
        report = evaluate(agent, policy, capabilities)
        before = (previous or {}).get(agent.metadata.name)
        if before is None:
            outcome.results.append(AgentResult(doc.location, report))
            continue
        gated = (policy or builtin_policy(agent.spec.environment)).approval_required_for
        found = tuple(widenings(before.spec, agent.spec))
        outcome.results.append(AgentResult(doc.location, report, found, gated))
    return outcome


def load_previous(paths: Sequence[str], outcome: Outcome) -> dict[str, AgentDeployment]:
    """The AgentDeployments of ``--against`` files, by name; problems go into ``outcome``."""
    inputs = read_all(paths)
    outcome.problems.extend(inputs.problems)
    agents: dict[str, AgentDeployment] = {}
    for doc in inputs.documents:
        if doc.is_object and doc.kind == "AgentDeployment":
            try:
                agent = load_agent(doc.data, doc.location)
            except DocumentError as exc:
                outcome.problems.extend(exc.lines())
                continue
            agents[agent.metadata.name] = agent
    if not agents and not outcome.problems:
        outcome.problems.append(f"{', '.join(paths)}: no AgentDeployment found to compare against")
    return agents


def _with_environment(agent: AgentDeployment, environment: str) -> AgentDeployment:
    spec = agent.spec.model_copy(update={"environment": environment})
    return agent.model_copy(update={"spec": spec})


def _describe(doc: Document) -> str:
    if doc.kind is None:
        return "a document without kind"
    return f"{doc.kind}/{doc.name}" if doc.name else doc.kind


def report_json(result: AgentResult) -> dict[str, Any]:
    """The report's wire form plus ``source``, the file (and document index) it came from, and
    with ``--against`` the widenings over the previous revision."""
    out = {"source": result.location, **result.report.to_wire()}
    if result.widenings is not None:
        out["widenings"] = widenings_json(result.widenings, result.gated)
    return out


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="file, directory (searched recursively for *.yaml, *.yml, *.json) or - for stdin",
    )
    parser.add_argument(
        "--policy",
        action="append",
        metavar="FILE",
        default=[],
        help="file of ReadinessPolicy documents to judge by (repeatable); the highest-priority policy "
        "selecting an agent applies, else the built-in profile of its environment",
    )
    parser.add_argument(
        "--environment",
        choices=ENVIRONMENTS,
        help="judge every agent as if spec.environment were ENV (picks the built-in profile)",
    )
    parser.add_argument(
        "--against",
        action="append",
        metavar="FILE",
        default=[],
        help="the previous revision of the agents (repeatable): also print what each new spec widens "
        "over the one of the same name, and which of it the policy makes wait for agentctl approve",
    )
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="report format")
    add_capabilities_option(
        parser,
        "default: unknown, so checks that depend on the cluster judge the spec only",
    )


def _run(args: argparse.Namespace, console: Console) -> int:
    outcome = Outcome()
    policies: list[ReadinessPolicy] = []
    if args.policy:
        policy_inputs = read_all(args.policy)
        outcome.problems.extend(policy_inputs.problems)
        policies = load_policies(policy_inputs.documents, outcome)
        if not policies and not outcome.problems:
            outcome.problems.append(f"{', '.join(args.policy)}: no ReadinessPolicy found")
    previous = load_previous(args.against, outcome) if args.against else None
    if outcome.problems:
        # Judging by a fallback when the intended policy is broken would give a misleading verdict.
        _print_problems(outcome, console)
        return EXIT_INVALID

    inputs = read_all(args.paths)
    outcome.problems.extend(inputs.problems)
    check_documents(inputs.documents, policies, args.environment, capabilities_from(args), outcome, previous)
    if not outcome.results and not outcome.problems:
        outcome.problems.append("no AgentDeployment found in the inputs")

    if args.output == "json":
        reports = [report_json(r) for r in outcome.results]
        console.print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    else:
        for result in outcome.results:
            console.print(format_report(result.location, result.report, console))
            if result.widenings is not None:
                lines = widening_lines(result.widenings, result.gated, result.report.policy)
                console.print("\n".join(lines) + "\n")
        if len(outcome.results) > 1:
            console.print(format_summary([r.report for r in outcome.results], console))
    _print_problems(outcome, console)
    return outcome.exit_code


def _print_problems(outcome: Outcome, console: Console) -> None:
    for note in outcome.notes:
        console.note(note)
    for line in outcome.problems:
        console.problem(line)


COMMAND = Command(
    name="validate",
    summary="check AgentDeployments against production-readiness policy",
    description="Validate AgentDeployments (schema, then readiness checks on the spec and on the rendered\n"
    "objects) and print one report per agent: a header, then one line per check marked\n"
    "  ✓ pass   ✗ required check fails   ! warning   - skipped\n"
    "with the remediation under each failure. Documents of other kinds are skipped with a note.\n"
    "With --against FILE (the previous revision, e.g. the manifest on the main branch), each agent also\n"
    "gets the widenings the operator computes at rollout: marked ! when its policy makes them wait for\n"
    "agentctl approve. Widenings do not change the exit code.\n\n"
    "Exit codes:\n"
    "  0  every required check passes, for every agent\n"
    "  1  a required check fails\n"
    "  2  unreadable input, or not a valid AgentDeployment (one line per problem:\n"
    "     FILE[#doc]: field.path: what is allowed), or a broken --policy file",
    configure=_configure,
    run=_run,
)
