"""``python -m agent_operator``: the operator process, the same as ``agentctl run``."""

from __future__ import annotations

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
