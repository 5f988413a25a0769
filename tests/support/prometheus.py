"""A real Prometheus for the analysis tests: built by `make tools` (tools/prometheus), run on
loopback with a 1s scrape interval against targets the test serves, stopped afterwards.

Fixtures (module scope; a missing binary skips locally and fails under CI=true):

* ``genai_metrics`` -> GenAiExporter: the loopback exporter the test drives.
* ``prometheus`` -> PrometheusServer scraping it; ``stop()`` and ``start()`` simulate an outage
  (same port, same data).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from tests.support.cluster import LOCAL_BIN, missing
from tests.support.genai_exporter import GenAiExporter, genai_exporter

SCRAPE_INTERVAL = "1s"
_START_TIMEOUT = 60.0


def prometheus_binary() -> Path | None:
    binary = LOCAL_BIN / "prometheus"
    return binary if binary.exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrometheusServer:
    """One Prometheus process with its own data directory and config."""

    def __init__(self, binary: Path, workdir: Path, targets: list[str]) -> None:
        self._binary = binary
        self._workdir = workdir
        self.port = _free_port()
        self.config = workdir / "prometheus.yml"
        self.config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL}\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL}\n"
            "scrape_configs:\n"
            "  - job_name: agents\n"
            "    honor_labels: true\n"
            "    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n",
            encoding="utf-8",
        )
        self.log = workdir / "prometheus.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=2))

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._process is not None:
            return
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(self._binary),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self._workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._process.returncode}:\n{self.log_tail()}")
            if self._ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready after {_START_TIMEOUT}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _ready(self) -> bool:
        try:
            return self._http.request("GET", f"{self.address}/-/ready").status == 200
        except (urllib3.exceptions.HTTPError, OSError):
            return False


@pytest.fixture(scope="module")
def genai_metrics() -> Iterator[GenAiExporter]:
    with genai_exporter() as exporter:
        yield exporter


@pytest.fixture(scope="module")
def prometheus(
    genai_metrics: GenAiExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    binary = prometheus_binary()
    if binary is None:
        missing(f"Prometheus is not built ({LOCAL_BIN / 'prometheus'} is missing); run `make tools`")
    server = PrometheusServer(binary, tmp_path_factory.mktemp("prometheus"), [genai_metrics.target])
    server.start()
    try:
        yield server
    finally:
        server.stop()
