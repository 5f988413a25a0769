"""A loopback exporter of OpenTelemetry GenAI metrics that a test drives, revision by revision.

Each simulated revision is a set of pods behind the rendered ServiceMonitor: its series carry the
labels that monitor relabels onto them (namespace, agentoperator_dev_agent,
agentoperator_dev_revision). A ticker thread turns each revision's traffic profile into
agent invocations, tool calls and token usage, so counters grow the way a live agent's do and
Prometheus computes real rates over real scrapes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram, start_http_server

from agent_operator.analysis.queries import (
    ERROR_LABEL,
    EXECUTE_TOOL,
    INVOKE_AGENT,
    MODEL_LABEL,
    OPERATION_LABEL,
    TOKEN_TYPE_LABEL,
)
from agent_operator.analysis.templates import AGENT_LABEL, NAMESPACE_LABEL, REVISION_LABEL

TICK_SECONDS = 0.2
_TARGET = (NAMESPACE_LABEL, AGENT_LABEL, REVISION_LABEL)
_DURATION_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)


@dataclass(frozen=True)
class Traffic:
    """What one revision does per tick. Fractions accumulate, so 0.5 tasks a tick is one task
    every other tick."""

    tasks: float = 5
    error_ratio: float = 0.02
    latency_seconds: float = 1.5
    input_tokens: int = 1200
    output_tokens: int = 300
    tool_calls: float = 2
    model: str = "gpt-x"


class GenAiExporter:
    """Serves /metrics on 127.0.0.1 for Prometheus to scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._duration = Histogram(
            "gen_ai_client_operation_duration",
            "GenAI operation duration.",
            [*_TARGET, OPERATION_LABEL, ERROR_LABEL],
            unit="seconds",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._tokens = Histogram(
            "gen_ai_client_token_usage",
            "Number of input and output tokens used.",
            [*_TARGET, OPERATION_LABEL, MODEL_LABEL, TOKEN_TYPE_LABEL],
            buckets=_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self._traffic: dict[tuple[str, str, str], Traffic] = {}
        self._carry: dict[tuple[str, str, str], tuple[float, float, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server, _ = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.port: int = self._server.server_port
        self._ticker = threading.Thread(target=self._run, name="genai-exporter", daemon=True)
        self._ticker.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self, namespace: str, agent: str, revision: str, traffic: Traffic | None) -> None:
        """Start, change or (None) stop the traffic of one revision. Its series stay exported."""
        key = (namespace, agent, revision)
        with self._lock:
            if traffic is None:
                self._traffic.pop(key, None)
                return
            self._traffic[key] = traffic
            # Every series exists from the start at 0, as instrumented code should make them:
            # a counter that appears at its first increment makes increase() guess its start.
            for error in ("", "AgentError"):
                self._duration.labels(*key, INVOKE_AGENT, error)
            self._duration.labels(*key, EXECUTE_TOOL, "")
            for token_type in ("input", "output"):
                self._tokens.labels(*key, "chat", traffic.model, token_type)

    def burst(self, namespace: str, agent: str, revision: str, tasks: int, traffic: Traffic) -> None:
        """Record ``tasks`` successful tasks at once: a known amount of tokens, so of spend. Serve
        the revision first (even with no traffic) so that its series exist at 0."""
        key = (namespace, agent, revision)
        with self._lock:
            for _ in range(tasks):
                self._task(key, traffic, "")

    def _task(self, key: tuple[str, str, str], t: Traffic, error: str) -> None:
        self._duration.labels(*key, INVOKE_AGENT, error).observe(t.latency_seconds)
        for token_type, count in (("input", t.input_tokens), ("output", t.output_tokens)):
            self._tokens.labels(*key, "chat", t.model, token_type).observe(count)

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=5)
        self._server.shutdown()
        self._server.server_close()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                for key, traffic in self._traffic.items():
                    self._tick(key, traffic)

    def _tick(self, key: tuple[str, str, str], t: Traffic) -> None:
        tasks, errors, tools = self._carry.get(key, (0.0, 0.0, 0.0))
        tasks += t.tasks
        errors += t.tasks * t.error_ratio
        tools += t.tasks * t.tool_calls
        whole_tasks, whole_errors, whole_tools = int(tasks), int(errors), int(tools)
        whole_errors = min(whole_errors, whole_tasks)
        for i in range(whole_tasks):
            self._task(key, t, "AgentError" if i < whole_errors else "")
        for _ in range(whole_tools):
            self._duration.labels(*key, EXECUTE_TOOL, "").observe(0.1)
        self._carry[key] = (tasks - whole_tasks, errors - whole_errors, tools - whole_tools)


@contextmanager
def genai_exporter() -> Iterator[GenAiExporter]:
    exporter = GenAiExporter()
    try:
        yield exporter
    finally:
        exporter.close()
