"""The webhook's TLS: generated CA and serving certificate, mounted files, caBundle patches."""

from __future__ import annotations

import base64
import socket
import ssl
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from agent_operator.controller.webhook_tls import (
    ca_bundle_patch,
    generate_serving_certificate,
    provided_files,
    service_dns_names,
    serving_files,
    write_generated,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_service_dns_names() -> None:
    assert service_dns_names("agent-operator-system/agent-operator-webhook") == [
        "agent-operator-webhook.agent-operator-system.svc",
        "agent-operator-webhook.agent-operator-system.svc.cluster.local",
    ]
    for bad in ("webhook", "/webhook", "ns/", "a/b/c"):
        with pytest.raises(ValueError, match="NAMESPACE/NAME"):
            service_dns_names(bad)


def test_generated_certificate_is_signed_by_its_ca_for_the_given_names() -> None:
    generated = generate_serving_certificate(["svc.ns.svc", "127.0.0.1"], now=NOW)
    ca = x509.load_pem_x509_certificate(generated.ca_pem)
    cert = x509.load_pem_x509_certificate(generated.cert_pem)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["svc.ns.svc"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + timedelta(days=365)
    with pytest.raises(ValueError, match="at least one host"):
        generate_serving_certificate([], now=NOW)


def test_a_tls_client_trusting_only_the_ca_completes_a_handshake_to_the_ip_name(tmp_path: Path) -> None:
    generated = generate_serving_certificate(["localhost", "127.0.0.1"], now=datetime.now(UTC))
    files = write_generated(generated, tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(files.certfile, files.keyfile)
    client_ctx = ssl.create_default_context(cadata=generated.ca_pem.decode())
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.recv(2) == b"ok"
    thread.join()
    listener.close()
    assert errors == []


def test_generated_files_are_private(tmp_path: Path) -> None:
    files = write_generated(generate_serving_certificate(["localhost"], now=NOW), tmp_path)
    assert stat.S_IMODE(files.keyfile.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.keyfile.parent.stat().st_mode) == 0o700
    assert files.generated_ca is not None
    assert files.certfile.read_bytes().endswith(files.generated_ca)


def test_mounted_files_win_and_empty_ones_do_not_count(tmp_path: Path) -> None:
    assert provided_files(None) is None
    assert provided_files(tmp_path / "absent") is None
    (tmp_path / "tls.crt").write_bytes(b"")
    (tmp_path / "tls.key").write_bytes(b"")
    assert provided_files(tmp_path) is None
    generated = serving_files(tmp_path, "ns/svc", now=NOW)
    assert generated.generated_ca is not None
    cert = x509.load_pem_x509_certificate(generated.certfile.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["svc.ns.svc", "svc.ns.svc.cluster.local", "localhost"]

    (tmp_path / "tls.crt").write_bytes(b"cert")
    (tmp_path / "tls.key").write_bytes(b"key")
    mounted = serving_files(tmp_path, "ns/svc", now=NOW)
    assert (mounted.certfile, mounted.keyfile, mounted.generated_ca) == (
        tmp_path / "tls.crt",
        tmp_path / "tls.key",
        None,
    )


def test_ca_bundle_patch_sets_every_webhook_guarded_by_its_name() -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    bundle = base64.b64encode(ca).decode()
    configuration = {
        "webhooks": [
            {"name": "validate.agentoperator.dev", "clientConfig": {"service": {"name": "w"}}},
            {"name": "policies.agentoperator.dev", "clientConfig": {"caBundle": bundle}},
            {"name": "other.agentoperator.dev", "clientConfig": {"caBundle": "b2xk"}},
        ]
    }
    assert ca_bundle_patch(configuration, ca) == [
        {"op": "test", "path": "/webhooks/0/name", "value": "validate.agentoperator.dev"},
        {"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": bundle},
        {"op": "test", "path": "/webhooks/2/name", "value": "other.agentoperator.dev"},
        {"op": "add", "path": "/webhooks/2/clientConfig/caBundle", "value": bundle},
    ]
    configuration["webhooks"] = [configuration["webhooks"][1]]
    assert ca_bundle_patch(configuration, ca) == []
