"""Error classes of the API client, against a tiny HTTP server on 127.0.0.1.

Final answers (the request itself is wrong) are raised after exactly one call; transient ones
(connection errors, 429, other 5xx) are raised after one call too, marked transient, so that the
work queue retries them with backoff instead of a worker thread sleeping between attempts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client

from agent_operator.kube import KubeApi, KubeError, is_final
from agent_operator.kube.kinds import CONFIG_MAP, DEPLOYMENT

DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "bot", "namespace": "agents"},
    "spec": {"selector": {"matchLabels": {"app": 1}}},
}
TYPED_PATCH = (
    "failed to create typed patch object (agents/bot; apps/v1, Kind=Deployment): "
    ".spec.selector.matchLabels.app: expected string, got &value.valueUnstructured{Value:1}"
)
INVALID = {
    "kind": "Status",
    "status": "Failure",
    "message": 'Deployment.apps "bot" is invalid: spec.replicas: Invalid value: "s3cr3t": must be >= 0',
    "reason": "Invalid",
    "details": {
        "name": "bot",
        "kind": "Deployment",
        "causes": [
            {"reason": "FieldValueInvalid", "message": 'Invalid value: "s3cr3t"', "field": "spec.replicas"}
        ],
    },
    "code": 422,
}


class _Server:
    """Answers every request with one (status, body); counts the requests."""

    def __init__(self) -> None:
        self.status = 200
        self.body: dict[str, Any] = {}
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.calls += 1
                data = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _api(url: str) -> KubeApi:
    cfg = client.Configuration()
    cfg.host = url
    return KubeApi(client.ApiClient(cfg), request_timeout=5.0)


def _status(code: int, message: str, reason: str = "") -> dict[str, Any]:
    return {"kind": "Status", "status": "Failure", "message": message, "reason": reason, "code": code}


def test_an_untypable_apply_is_final_after_one_call(server: _Server) -> None:
    server.answer(500, _status(500, TYPED_PATCH))
    with pytest.raises(KubeError) as caught:
        _api(server.url).apply(DEPLOY)
    assert server.calls == 1
    assert caught.value.final
    assert caught.value.fields == (".spec.selector.matchLabels.app",)
    assert "valueUnstructured" not in caught.value.summary()


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_errors_are_final_after_one_call(server: _Server, status: int) -> None:
    server.answer(status, _status(status, "no"))
    with pytest.raises(KubeError) as caught:
        _api(server.url).apply(DEPLOY)
    assert server.calls == 1
    assert caught.value.final


def test_an_invalid_object_names_the_field_and_never_the_value(server: _Server) -> None:
    server.answer(422, INVALID)
    with pytest.raises(KubeError) as caught:
        _api(server.url).apply(DEPLOY)
    summary = caught.value.summary()
    assert caught.value.fields == ("spec.replicas",)
    assert "spec.replicas" in summary
    assert "Deployment bot" in summary
    assert "s3cr3t" not in summary


def test_already_exists_on_create_is_final_after_one_call(server: _Server) -> None:
    server.answer(409, _status(409, 'configmaps "bot" already exists', "AlreadyExists"))
    with pytest.raises(KubeError) as caught:
        _api(server.url).create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bot"}})
    assert server.calls == 1
    assert caught.value.final


def test_a_delete_with_a_stale_uid_is_one_call(server: _Server) -> None:
    server.answer(409, _status(409, "Precondition failed: UID in precondition: 1, UID in object meta: 2"))
    assert _api(server.url).delete(CONFIG_MAP, "bot", "agents", uid="1") is False
    assert server.calls == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_busy_servers_are_transient_and_not_retried_in_the_call(server: _Server, status: int) -> None:
    server.answer(status, _status(status, "etcdserver: request timed out"))
    with pytest.raises(KubeError) as caught:
        _api(server.url).get(DEPLOYMENT, "bot", "agents")
    assert server.calls == 1
    assert not caught.value.final


def test_a_refused_connection_is_transient() -> None:
    with pytest.raises(KubeError) as caught:
        _api("http://127.0.0.1:9").get(DEPLOYMENT, "bot", "agents")
    assert caught.value.status == 0
    assert not caught.value.final


@pytest.mark.parametrize(
    ("status", "message", "final"),
    [
        (0, "connection refused", False),
        (400, "bad request", True),
        (401, "Unauthorized", False),
        (403, "forbidden", True),
        (404, "not found", True),
        (408, "timeout", False),
        (409, "already exists", True),
        (410, "gone", True),
        (422, "invalid", True),
        (429, "too many requests", False),
        (500, TYPED_PATCH, True),
        (500, "failed to create typed live object: .spec: unknown field", True),
        (500, "Internal error occurred: etcdserver: leader changed", False),
        (502, "bad gateway", False),
        (503, "unavailable", False),
        (504, "timeout", False),
    ],
)
def test_every_answer_has_a_class(status: int, message: str, final: bool) -> None:
    assert is_final(status, message) is final
    assert KubeError(status, "", message).final is final
