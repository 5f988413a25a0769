"""``python -m agent_operator``: the operator process, the same as ``agentctl run``."""

from __future__ import annotations

import sys

from .cli.main import PROG, command_names, main


def run_operator(argv: list[str]) -> int:
    if "run" not in command_names():
        # The operator ships in a later build; say so in one line rather than print a usage error.
        print(f"{PROG} run: the operator is not part of this build", file=sys.stderr)
        return 2
    return main(["run", *argv])


if __name__ == "__main__":
    sys.exit(run_operator(sys.argv[1:]))
