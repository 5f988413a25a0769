"""`make demo`'s metrics: a real Prometheus scraping the loopback GenAI exporter, driven by a file.

Starts the exporter (tests/support/genai_exporter.py) and Prometheus (tests/support/prometheus.py,
1 s scrape interval), writes Prometheus's address to ``--address-file``, then plays the traffic
that ``--control`` names, re-read every half second: one line per revision, ``<revision> good``
or ``<revision> bad`` (three times the error rate). Stops both on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.genai_exporter import Traffic, genai_exporter
from tests.support.prometheus import PrometheusServer, prometheus_binary

# 250 tasks a second: enough that one error more or less in a short window moves the error rate by
# well under the 50% the demo's checks allow.
GOOD = Traffic(tasks=50)
PROFILES = {"good": GOOD, "bad": Traffic(tasks=GOOD.tasks, error_ratio=GOOD.error_ratio * 3)}


def wanted(control: Path) -> dict[str, Traffic]:
    if not control.exists():
        return {}
    out: dict[str, Traffic] = {}
    for line in control.read_text(encoding="utf-8").splitlines():
        revision, _, profile = line.strip().partition(" ")
        if revision and profile in PROFILES:
            out[revision] = PROFILES[profile]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--address-file", type=Path, required=True)
    args = parser.parse_args()
    binary = prometheus_binary()
    if binary is None:
        print("Prometheus is not built: run `make tools`", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with genai_exporter() as exporter, tempfile.TemporaryDirectory() as workdir:
        server = PrometheusServer(binary, Path(workdir), [exporter.target])
        server.start()
        try:
            args.address_file.write_text(server.address + "\n", encoding="utf-8")
            playing: dict[str, Traffic] = {}
            while not stop.wait(0.5):
                now = wanted(args.control)
                for revision in playing.keys() - now.keys():
                    exporter.serve(args.namespace, args.agent, revision, None)
                for revision, traffic in now.items():
                    if playing.get(revision) != traffic:
                        exporter.serve(args.namespace, args.agent, revision, traffic)
                playing = now
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
