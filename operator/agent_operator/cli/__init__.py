"""``agentctl`` (also installed as ``kubectl-agent``): the command line of Agent Operator.

The entry point is :func:`agent_operator.cli.main.main`; each subcommand lives in its own module and is
registered in :mod:`agent_operator.cli.main`.
"""
