"""The Prometheus client's error classes, retries, auth and redaction, against a loopback HTTP
server that answers what each test scripts (the happy path runs against a real Prometheus in
tests/integration/test_analysis_prometheus.py)."""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from agent_operator.controller.webhook_tls import generate_serving_certificate, write_generated
from agent_operator.prom import (
    InvalidQuery,
    PromAuth,
    PrometheusAuthError,
    PrometheusClient,
    PrometheusUnreachable,
    RetryPolicy,
    Sample,
    single_value,
)

Reply = tuple[int, bytes]


class _Handler(BaseHTTPRequestHandler):
    replies: ClassVar[list[Reply]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        type(self).seen.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization")})
        status, body = type(self).replies.pop(0) if len(type(self).replies) > 1 else type(self).replies[0]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Loopback:
    def __init__(self) -> None:
        _Handler.replies = [(200, b"{}")]
        _Handler.seen = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.address = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def reply(self, *replies: Reply) -> None:
        _Handler.replies = list(replies)

    @property
    def seen(self) -> list[dict[str, Any]]:
        return _Handler.seen

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[Loopback]:
    loopback = Loopback()
    yield loopback
    loopback.close()


def _ok(result_type: str, result: Any) -> Reply:
    return 200, json.dumps(
        {"status": "success", "data": {"resultType": result_type, "result": result}}
    ).encode()


def _err(status: int, error_type: str, message: str) -> Reply:
    return status, json.dumps({"status": "error", "errorType": error_type, "error": message}).encode()


def _client(address: str, **kwargs: Any) -> tuple[PrometheusClient, list[float]]:
    slept: list[float] = []
    return PrometheusClient(address, sleep=slept.append, **kwargs), slept


def test_vector_scalar_and_empty_results(server: Loopback) -> None:
    client, _ = _client(server.address)
    server.reply(_ok("vector", [{"metric": {"a": "b"}, "value": [1.0, "0.25"]}]))
    assert client.query("up") == [Sample({"a": "b"}, 0.25)]
    server.reply(_ok("scalar", [1.0, "3"]))
    assert client.query("scalar(up)") == [Sample({}, 3.0)]
    server.reply(_ok("vector", []))
    assert client.query("nothing") == []
    form = server.seen[0]["form"]
    assert form["query"] == ["up"]
    assert form["timeout"] == ["10s"]


def test_query_at_a_time(server: Loopback) -> None:
    client, _ = _client(server.address)
    server.reply(_ok("vector", []))
    client.query("up", at=1700000000.5)
    assert server.seen[0]["form"]["time"] == ["1700000000.500"]


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (_err(400, "bad_data", 'parse error: unexpected "}"'), InvalidQuery, 'parse error: unexpected "}"'),
        (_err(422, "execution", "many-to-many matching not allowed"), InvalidQuery, "many-to-many"),
        ((401, b"Unauthorized"), PrometheusAuthError, "refused the credentials (HTTP 401)"),
        ((403, b"Forbidden"), PrometheusAuthError, "refused the credentials (HTTP 403)"),
        (_ok("matrix", []), InvalidQuery, "returns a matrix"),
        ((200, b"not json"), PrometheusUnreachable, "unexpected answer"),
        ((200, b'{"status": "error"}'), PrometheusUnreachable, "unexpected answer"),
    ],
)
def test_final_errors_are_not_retried(
    server: Loopback, reply: Reply, error: type[Exception], text: str
) -> None:
    client, slept = _client(server.address)
    server.reply(reply)
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        client.query("up")
    if error is not PrometheusUnreachable:
        assert slept == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_jitter(server: Loopback, status: int) -> None:
    client, slept = _client(server.address, retry=RetryPolicy(attempts=3, initial_delay=0.2, max_delay=1.0))
    server.reply(_err(status, "unavailable", "busy"), _err(status, "unavailable", "busy"), _ok("vector", []))
    assert client.query("up") == []
    assert len(server.seen) == 3
    assert len(slept) == 2
    assert 0.1 <= slept[0] <= 0.2
    assert 0.2 <= slept[1] <= 0.4


def test_retries_run_out(server: Loopback) -> None:
    client, slept = _client(server.address, retry=RetryPolicy(attempts=3))
    server.reply(_err(503, "timeout", "query timed out"))
    with pytest.raises(PrometheusUnreachable, match="answered HTTP 503"):
        client.query("up")
    assert len(server.seen) == 3
    assert len(slept) == 2


def test_connection_refused_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client, slept = _client(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=2))
    with pytest.raises(PrometheusUnreachable, match=f"cannot reach http://127.0.0.1:{port}"):
        client.query("up")
    assert len(slept) == 1
    assert not client.ready()


def test_a_slow_prometheus_times_out_as_unreachable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        port = listener.getsockname()[1]
        client, _ = _client(f"http://127.0.0.1:{port}", timeout_seconds=0.5, retry=RetryPolicy(attempts=1))
        with pytest.raises(PrometheusUnreachable, match=r"ReadTimeoutError|TimeoutError"):
            client.query("up")


def test_bearer_and_basic_auth_headers(server: Loopback) -> None:
    server.reply(_ok("vector", []))
    PrometheusClient(server.address, auth=PromAuth(bearer_token="t0k3n")).query("up")
    PrometheusClient(server.address, auth=PromAuth(username="u", password="p:w")).query("up")
    PrometheusClient(server.address).query("up")
    assert [s["auth"] for s in server.seen] == [
        "Bearer t0k3n",
        "Basic " + base64.b64encode(b"u:p:w").decode(),
        None,
    ]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auth_from_secret_data() -> None:
    assert PromAuth.from_secret_data({"token": _b64("abc\n")}) == PromAuth(bearer_token="abc")
    basic = PromAuth.from_secret_data({"username": _b64("u"), "password": _b64("p"), "ca.crt": _b64("PEM")})
    assert basic == PromAuth(username="u", password="p", ca_pem="PEM")
    assert PromAuth.from_secret_data({}) == PromAuth()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"token": "%%%"}, "Secret key 'token' is not base64"),
        ({"token": _b64("t"), "username": _b64("u"), "password": _b64("p")}, "both token and username"),
        ({"username": _b64("u")}, "needs both username and password"),
    ],
)
def test_bad_secret_data_names_the_key_not_the_value(data: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        PromAuth.from_secret_data(data)
    assert "%%%" not in str(info.value)


def test_credentials_and_results_stay_out_of_reprs_and_logs(
    server: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    auth = PromAuth(bearer_token="s3cr3t-token", username=None, password=None, ca_pem="PEM")
    assert "s3cr3t" not in repr(auth)
    sample = Sample({"user": "alice@example.com", "prompt": "my password is hunter2"}, 1.0)
    assert "alice" not in repr(sample)
    assert "hunter2" not in repr(sample)
    assert repr(sample) == "Sample(labels=<prompt, user>, value=1.0)"
    caplog.set_level(logging.DEBUG)
    client, _ = _client(server.address, auth=auth)
    server.reply(
        _err(503, "unavailable", "alice@example.com"),
        _ok("vector", [{"metric": {"user": "alice@example.com"}, "value": [1, "1"]}]),
    )
    client.query("up")
    assert "alice" not in caplog.text
    assert "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    ("samples", "value"),
    [
        ([], None),
        ([Sample({}, float("nan"))], None),
        ([Sample({}, 0.5)], 0.5),
        ([Sample({}, float("inf"))], float("inf")),
    ],
)
def test_single_value(samples: list[Sample], value: float | None) -> None:
    assert single_value(samples) == value


def test_single_value_refuses_several_series() -> None:
    with pytest.raises(InvalidQuery, match=r"returns 2 series; aggregate it to one"):
        single_value([Sample({"a": "1"}, 1.0), Sample({"a": "2"}, 2.0)])


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Loopback, bytes]]:
    cert = generate_serving_certificate(["127.0.0.1"], now=datetime.now(UTC))
    files = write_generated(cert, tmp_path)
    loopback = Loopback()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.certfile, files.keyfile)
    loopback._server.socket = context.wrap_socket(loopback._server.socket, server_side=True)
    loopback.address = loopback.address.replace("http://", "https://")
    yield loopback, cert.ca_pem
    loopback.close()


def test_https_with_the_ca_from_the_secret(tls_server: tuple[Loopback, bytes]) -> None:
    server, ca_pem = tls_server
    server.reply(_ok("vector", []))
    client, _ = _client(server.address, auth=PromAuth(bearer_token="t", ca_pem=ca_pem.decode()))
    assert client.query("up") == []
    assert server.seen[0]["auth"] == "Bearer t"


def test_https_without_the_ca_is_refused_before_credentials_leave(tls_server: tuple[Loopback, bytes]) -> None:
    server, _ = tls_server
    client, _ = _client(server.address, auth=PromAuth(bearer_token="t"), retry=RetryPolicy(attempts=1))
    with pytest.raises(PrometheusUnreachable, match=r"cannot reach https://127\.0\.0\.1:\d+: SSLError"):
        client.query("up")
    assert server.seen == []
