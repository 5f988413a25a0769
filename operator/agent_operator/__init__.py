"""Agent Operator: takes AI agents to production safely on Kubernetes."""

__version__ = "0.1.0"
