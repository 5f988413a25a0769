"""How the reconciler answers API errors, against a small HTTP server on 127.0.0.1 that plays
the apiserver for one agent's writes (applies, status). Reads come from the reconciler's watch
cache, which the tests fill the way a watch would (``_reconcile``). No private state is
inspected: the tests look at the requests the server received and at the reconciler's public
queue."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from agent_operator.controller.cache import ClusterCache
from agent_operator.controller.reconciler import REJECTED_BACKOFF, Reconciler
from agent_operator.kube import AGENT_DEPLOYMENT, KubeApi
from agent_operator.kube.kinds import NAMESPACE
from agent_operator.kube.store import ObjectStore

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "minimal.yaml"
AGENT_PATH = "/apis/agentoperator.dev/v1alpha1/namespaces/agents/agentdeployments/bot"
DEPLOYMENTS = "/apis/apps/v1/namespaces/agents/deployments/"
UNTYPABLE = (
    "failed to create typed patch object (agents/bot; apps/v1, Kind=Deployment): "
    ".spec.template.metadata.labels.tier: expected string, got &value.valueUnstructured{Value:7}"
)
WAIT = 10.0


class FakeApiserver:
    """One agent in namespace ``agents``; Deployment applies answer ``deployment_answer``."""

    def __init__(self) -> None:
        agent = yaml.safe_load(EXAMPLE.read_text())
        agent["metadata"].update(namespace="agents", name="bot", uid="u-1", generation=1, resourceVersion="1")
        self.agent: dict[str, Any] = agent
        self.namespace_labels: dict[str, str] = {}
        self.deployment_answer: tuple[int, dict[str, Any]] = (200, {})
        self.calls: Counter[str] = Counter()
        self.status_writes: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.apply_seen = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                path = self.path.split("?", 1)[0]
                status, answer = outer.answer(self.command, path, "?" in self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, method: str, path: str, query: bool, body: Any) -> tuple[int, dict[str, Any]]:
        self.calls[f"{method} {path}"] += 1
        if method == "GET":
            raise AssertionError(f"a reconcile read {path} from the apiserver, not from its cache")
        if method == "PATCH" and path == f"{AGENT_PATH}/status":
            precondition = (body.get("metadata") or {}).get("resourceVersion")
            if precondition and precondition != self.agent["metadata"]["resourceVersion"]:
                return 409, {"message": "the object has been modified", "reason": "Conflict", "code": 409}
            self.status_writes.append(body["status"])
            self.agent["status"] = body["status"]
            self.bump()
            return 200, copy.deepcopy(self.agent)
        if method == "PATCH" and path.startswith(DEPLOYMENTS):
            self.apply_seen.set()
            self.release.wait(WAIT)
            return self.deployment_answer
        return 200, body or {}

    def bump(self) -> None:
        meta = self.agent["metadata"]
        meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)

    def watch_delivers(self, store: ObjectStore) -> None:
        """What the watches would put into the cache: the agent as it is now, its namespace."""
        self.bump()
        store.upsert(AGENT_DEPLOYMENT, copy.deepcopy(self.agent))
        namespace = {"metadata": {"name": "agents", "labels": dict(self.namespace_labels)}}
        namespace["metadata"]["resourceVersion"] = self.agent["metadata"]["resourceVersion"]
        store.upsert(NAMESPACE, namespace)

    def deployment_applies(self) -> int:
        return sum(n for call, n in self.calls.items() if call.startswith(f"PATCH {DEPLOYMENTS}"))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def apiserver() -> Iterator[FakeApiserver]:
    server = FakeApiserver()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def reconciler(apiserver: FakeApiserver, clock: FakeClock) -> Iterator[Reconciler]:
    cfg = client.Configuration()
    cfg.host = apiserver.url
    kube = KubeApi(client.ApiClient(cfg), request_timeout=WAIT)
    rec = Reconciler(kube, ClusterCache(kube), workers=2, monotonic=clock)
    rec.queue.start()  # the cache's informers are not started: the tests play the watches
    yield rec
    rec.stop()


def _reconcile(reconciler: Reconciler, apiserver: FakeApiserver) -> None:
    apiserver.watch_delivers(reconciler.cache.store)
    reconciler.request("agents", "bot")
    assert reconciler.queue.wait_idle(WAIT)


def _stalled(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Stalled")


def test_an_untypable_apply_is_stalled_at_once_and_not_retried_for_the_same_spec(
    apiserver: FakeApiserver, reconciler: Reconciler, clock: FakeClock
) -> None:
    apiserver.deployment_answer = (500, {"message": UNTYPABLE, "reason": "InternalError", "code": 500})
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 1
    stalled = _stalled(apiserver.status_writes[-1])
    assert (stalled["status"], stalled["reason"]) == ("True", "ApplyRejected")
    assert "Deployment" in stalled["message"]
    assert ".spec.template.metadata.labels.tier" in stalled["message"]
    assert "valueUnstructured" not in stalled["message"]
    assert "Value:7" not in stalled["message"]

    writes = len(apiserver.status_writes)
    _reconcile(reconciler, apiserver)  # e.g. the watch event of our own status write
    assert apiserver.deployment_applies() == 1
    assert len(apiserver.status_writes) == writes
    assert reconciler.queue.failures(("agents", "bot")) == 0  # final: no transient backoff
    due = reconciler.queue.due_in(("agents", "bot"))
    assert due is not None
    assert due <= REJECTED_BACKOFF.delay(1)  # asked again after the backoff, never forgotten

    apiserver.agent["metadata"]["generation"] = 2  # the spec changed: worth another try
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 2


def test_a_refused_apply_is_tried_again_when_a_referenced_object_changes(
    apiserver: FakeApiserver, reconciler: Reconciler
) -> None:
    apiserver.deployment_answer = (403, {"message": "forbidden", "reason": "Forbidden", "code": 403})
    _reconcile(reconciler, apiserver)
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 1
    apiserver.namespace_labels = {"team": "search"}  # the namespace is an input of the render
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 2
    message = _stalled(apiserver.status_writes[-1])["message"]
    assert message.startswith("Deployment bot-")
    assert "403 Forbidden" in message


def test_a_refused_apply_is_tried_again_after_the_long_backoff(
    apiserver: FakeApiserver, reconciler: Reconciler, clock: FakeClock
) -> None:
    apiserver.deployment_answer = (422, {"message": "x", "reason": "Invalid", "code": 422})
    _reconcile(reconciler, apiserver)
    first = REJECTED_BACKOFF.delay(1)
    assert first >= 300, "a refusal is final for its inputs: minutes, not seconds, before asking again"
    clock.now += first - 1
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 1
    clock.now += 1
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 2
    apiserver.deployment_answer = (200, {})
    clock.now += REJECTED_BACKOFF.delay(2) - 1  # the backoff doubled after the second refusal
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 2
    clock.now += 1
    _reconcile(reconciler, apiserver)
    # At least one more (the due wake-up may run next to this request, and the fake apiserver
    # keeps no children, so a successful reconcile applies again).
    assert apiserver.deployment_applies() >= 3
    assert _stalled(apiserver.status_writes[-1])["status"] == "False"


def test_a_busy_apiserver_is_retried_with_backoff_and_no_stall(
    apiserver: FakeApiserver, reconciler: Reconciler
) -> None:
    apiserver.deployment_answer = (503, {"message": "etcd leader changed", "reason": "ServiceUnavailable"})
    _reconcile(reconciler, apiserver)
    assert apiserver.deployment_applies() == 1
    assert apiserver.status_writes == []
    assert reconciler.queue.failures(("agents", "bot")) == 1
    assert reconciler.queue.due_in(("agents", "bot")) == pytest.approx(1)


def test_health_names_a_hung_reconcile(
    apiserver: FakeApiserver, reconciler: Reconciler, clock: FakeClock
) -> None:
    health = reconciler.health(stuck_after=60)
    assert (health["reconciling"], health["queued"], health["scheduled"]) == (0, 0, 0)
    apiserver.release.clear()  # the Deployment's apply hangs
    apiserver.apply_seen.clear()
    apiserver.watch_delivers(reconciler.cache.store)
    reconciler.request("agents", "bot")
    assert apiserver.apply_seen.wait(WAIT)
    assert reconciler.health(stuck_after=60)["reconciling"] == 1
    clock.now += 120
    with pytest.raises(RuntimeError, match="agents/bot"):
        reconciler.health(stuck_after=60)
    apiserver.release.set()
    assert reconciler.queue.wait_idle(WAIT)
    assert reconciler.health(stuck_after=60)["reconciling"] == 0


def test_status_planned_from_a_stale_copy_is_refused_and_planned_again(
    apiserver: FakeApiserver, reconciler: Reconciler
) -> None:
    """The status write carries the resourceVersion the plan was made from: a copy older than the
    apiserver's (a cache filled before the operator's own last write, as after a failover) cannot
    put an older status back."""
    _reconcile(reconciler, apiserver)
    assert len(apiserver.status_writes) == 1
    stale = copy.deepcopy(apiserver.agent)
    stale["status"] = {}  # what a copy from before the first status write holds
    stale["metadata"]["resourceVersion"] = "1"
    apiserver.agent["metadata"]["generation"] = 2  # meanwhile the spec moved on
    apiserver.bump()
    cfg = client.Configuration()
    cfg.host = apiserver.url
    kube = KubeApi(client.ApiClient(cfg), request_timeout=WAIT)
    lagging = ClusterCache(kube)
    lagging.store.upsert(AGENT_DEPLOYMENT, stale)
    lagging.store.upsert(NAMESPACE, {"metadata": {"name": "agents", "resourceVersion": "1"}})
    other = Reconciler(kube, lagging, workers=1)
    other.queue.start()
    try:
        other.request("agents", "bot")
        assert other.queue.wait_idle(WAIT)
        assert len(apiserver.status_writes) == 1, "a status planned from a stale copy was written"
        assert other.queue.due_in(("agents", "bot")) == pytest.approx(1, abs=0.5), "planned again soon"
        assert other.queue.failures(("agents", "bot")) == 0, "not an error, and not Stalled"
        lagging.store.upsert(AGENT_DEPLOYMENT, copy.deepcopy(apiserver.agent))  # the watch catches up
        other.request("agents", "bot")
        assert other.queue.wait_idle(WAIT)
        assert len(apiserver.status_writes) == 2
        assert apiserver.status_writes[-1]["observedGeneration"] == 2
    finally:
        other.stop()
