"""``agentctl`` entry point: builds the parser from the registered commands and guards against crashes.

Whatever goes wrong, the user gets one line and exit code 2, never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from . import budget, crds, diff, history, render, rollout_commands, run, spec_toggles, status, validate
from ._command import EXIT_INVALID, Command
from ._console import Console

PROG = "agentctl"

COMMANDS: tuple[Command, ...] = (
    validate.COMMAND,
    render.COMMAND,
    crds.COMMAND,
    status.COMMAND,
    history.COMMAND,
    diff.COMMAND,
    *rollout_commands.COMMANDS,
    *spec_toggles.COMMANDS,
    budget.COMMAND,
    run.COMMAND,
)
"""Every subcommand, in the order ``--help`` lists them. A new command is a module plus an entry here."""


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Agent Operator command line: check AgentDeployments against readiness policies, "
        "show the Kubernetes objects the operator applies, print the CRDs, and watch and steer rollouts "
        "on a cluster (also installed as the kubectl plugin `kubectl agent`).",
        epilog="Exit codes: 0 success, 1 a required readiness check fails (validate) or a cluster command "
        "failed (missing agent, API error, nothing to act on), 2 unreadable or invalid input, usage error "
        "or internal error. See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    # Also accepted after the command name; SUPPRESS keeps an earlier --debug from being reset.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in commands:
        sub = subparsers.add_parser(
            command.name,
            help=command.summary,
            description=command.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        command.configure(sub)
        sub.set_defaults(command=command)
    return parser


def command_names(commands: Sequence[Command] = COMMANDS) -> list[str]:
    return [c.name for c in commands]


def main(
    argv: Sequence[str] | None = None,
    console: Console | None = None,
    commands: Sequence[Command] = COMMANDS,
) -> int:
    """Runs ``agentctl`` with ``argv`` (the process arguments by default) and returns the exit code."""
    _tolerate_unencodable_output()
    args = build_parser(commands).parse_args(argv)
    console = console or Console.for_terminal()
    command: Command = args.command
    try:
        return command.run(args, console)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `agentctl render x | head`: the reader left, nothing more to say.
        _silence_stdout()
        return 0
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        # The exception text is left out on purpose: it could quote input, and input may hold secrets.
        console.problem(
            f"{PROG}: internal error ({type(exc).__name__}) while running {command.name!r};"
            " rerun with --debug for details"
        )
        return EXIT_INVALID


def _tolerate_unencodable_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
