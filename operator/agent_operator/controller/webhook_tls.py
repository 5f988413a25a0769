"""TLS for the admission webhook: a certificate from a mounted Secret (cert-manager), or a
self-signed CA and serving certificate generated at start, whose CA the operator then writes
into the caBundle of the webhook configurations.

The generated key never leaves the process's private temporary directory: no Secret holds it,
so nothing else can read it, and a restart simply makes a new one (and patches the caBundle
again). Several replicas would each make their own and overwrite each other's caBundle, which is
why HA installs use cert-manager.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..kube import KubeApi, KubeError
from ..kube.kinds import Kind

_log = logging.getLogger(__name__)

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
LOOPBACK_NAMES = ("localhost", "127.0.0.1")
"""Always in the generated certificate: `agentctl run --webhook-port` on a workstation (and the
integration tests) serve the apiserver over loopback."""

VALIDATING_WEBHOOK_CONFIGURATION = Kind(
    "admissionregistration.k8s.io/v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    namespaced=False,
)
MUTATING_WEBHOOK_CONFIGURATION = Kind(
    "admissionregistration.k8s.io/v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    namespaced=False,
)
WEBHOOK_CONFIGURATIONS = (VALIDATING_WEBHOOK_CONFIGURATION, MUTATING_WEBHOOK_CONFIGURATION)


@dataclass(frozen=True)
class ServingCertificate:
    """PEM data of a generated CA and the serving certificate it signed."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True)
class ServingFiles:
    """Where the webhook server reads its certificate and key; ``generated_ca`` is set when the
    operator made them itself and must publish the CA in the caBundle."""

    certfile: Path
    keyfile: Path
    generated_ca: bytes | None = None


def service_dns_names(service: str) -> list[str]:
    """The names a Service ``NAMESPACE/NAME`` answers to inside the cluster."""
    namespace, sep, name = service.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise ValueError(f"--webhook-service must be NAMESPACE/NAME, not {service!r}")
    return [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_alternative_names(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: datetime,
    not_after: datetime,
    *,
    ca: bool,
) -> x509.CertificateBuilder:
    """What the CA and the serving certificate share: names, validity, basic constraints and a key
    usage that is either certificate signing (the CA) or signatures only (the server)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def generate_serving_certificate(
    hosts: Sequence[str], *, now: datetime, valid_for: timedelta = timedelta(days=365)
) -> ServingCertificate:
    """A fresh CA and a serving certificate for ``hosts`` (DNS names or IP addresses) signed by
    it. The first host is the certificate's common name."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host name")
    not_before = now - timedelta(minutes=5)  # tolerate an apiserver whose clock is a little behind
    not_after = now + valid_for
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("agent-operator-webhook-ca")
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), not_before, not_after, ca=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _certificate(_name(hosts[0]), ca_name, key.public_key(), not_before, not_after, ca=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_subject_alternative_names(hosts), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ServingCertificate(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def provided_files(cert_dir: Path | None) -> ServingFiles | None:
    """The certificate and key mounted in ``cert_dir`` (tls.crt, tls.key), or None when the
    directory is not given, absent, or does not hold both non-empty files."""
    if cert_dir is None:
        return None
    certfile, keyfile = cert_dir / CERT_FILE, cert_dir / KEY_FILE
    try:
        if certfile.stat().st_size and keyfile.stat().st_size:
            return ServingFiles(certfile, keyfile)
    except OSError:
        pass
    return None


def write_generated(cert: ServingCertificate, directory: Path | None = None) -> ServingFiles:
    """Write a generated certificate to a private (0700) directory, under ``$TMPDIR`` unless
    given, for the webhook server to load."""
    target = Path(tempfile.mkdtemp(prefix="agent-operator-webhook-", dir=directory))
    certfile, keyfile = target / CERT_FILE, target / KEY_FILE
    certfile.write_bytes(cert.cert_pem + cert.ca_pem)
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert.key_pem)
    return ServingFiles(certfile, keyfile, generated_ca=cert.ca_pem)


def serving_files(cert_dir: Path | None, service: str | None, *, now: datetime) -> ServingFiles:
    """The mounted certificate when there is one; otherwise a generated one for the Service's
    DNS names and loopback."""
    provided = provided_files(cert_dir)
    if provided is not None:
        return provided
    hosts = [*(service_dns_names(service) if service else []), *LOOPBACK_NAMES]
    if cert_dir is not None:
        _log.info(
            "no %s and %s in %s: generating a self-signed webhook certificate", CERT_FILE, KEY_FILE, cert_dir
        )
    return write_generated(generate_serving_certificate(hosts, now=now))


def ca_bundle_patch(configuration: Mapping[str, Any], ca_pem: bytes) -> list[dict[str, Any]]:
    """JSON patch operations that set ``ca_pem`` as the caBundle of every webhook in a
    Validating/MutatingWebhookConfiguration; empty when all already carry it. Each write is
    guarded by a test of the webhook's name, so a concurrent reordering fails the patch rather
    than updating the wrong entry."""
    bundle = base64.b64encode(ca_pem).decode("ascii")
    ops: list[dict[str, Any]] = []
    for index, webhook in enumerate(configuration.get("webhooks") or []):
        if (webhook.get("clientConfig") or {}).get("caBundle") == bundle:
            continue
        ops.append({"op": "test", "path": f"/webhooks/{index}/name", "value": webhook.get("name")})
        ops.append({"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": bundle})
    return ops


def ensure_ca_bundle(kube: KubeApi, configuration: str, ca_pem: bytes) -> list[str]:
    """Publish ``ca_pem`` in the Validating and MutatingWebhookConfiguration named
    ``configuration``. Returns the kinds it changed; a configuration that does not exist (the
    operator running without the chart) is logged and skipped."""
    changed: list[str] = []
    for kind in WEBHOOK_CONFIGURATIONS:
        live = kube.get(kind, configuration)
        if live is None:
            _log.warning("%s %s not found: its caBundle cannot be set", kind.kind, configuration)
            continue
        ops = ca_bundle_patch(live, ca_pem)
        if not ops:
            continue
        try:
            kube.json_patch(kind, configuration, None, ops)
        except KubeError as exc:
            _log.error("cannot set the caBundle of %s %s: %s", kind.kind, configuration, exc)
            raise
        changed.append(kind.kind)
        _log.info("set the caBundle of %s %s", kind.kind, configuration)
    return changed
