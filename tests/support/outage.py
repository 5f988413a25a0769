"""Control-plane outages on the clone's local cluster: stop kube-apiserver and start it again with
the very same command line, environment and working directory, as a crash and a restart would.

kube-controller-manager and kube-scheduler exit when they cannot renew their leader lease for
their renew deadline (10 s), which a 10 s apiserver outage exceeds. On a real node the kubelet
restarts those static pods; here ``ControlPlane.supervised`` does the same: while it is active, a
thread restarts any supervised component that has exited, from the command line it was first seen
with. Without it an outage test would measure a control plane missing its controllers instead of
the operator.

    with apiserver_outage(10) as outage:   # the apiserver is down inside the block
        ...                                # e.g. requests fail, or nothing at all
    # back: /readyz answers, controller-manager and scheduler run and hold their leases again
    outage.returned_at                      # time.time() when /readyz answered again

Only the local control plane (``make cluster-up``) can be stopped this way; with
USE_EXISTING_CLUSTER=true there are no processes of ours to stop.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .cluster import LOCAL_BIN, LOCAL_KUBECONFIG, REPO_ROOT

APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KWOK = "kwok-controller"
LEADER_ELECTED = (CONTROLLER_MANAGER, SCHEDULER)
"""The components that exit when they lose their lease; each holds a Lease of its own name in
kube-system."""
KUBELET_RESTART_DELAY = 1.0
"""Seconds between a supervised component's exit and its restart (the kubelet backs off from 10 s;
shorter here, so a test does not wait on the stand-in)."""


def cluster_dir() -> Path:
    """kwokctl's directory of this clone's cluster, named as hack/lib.sh names it."""
    cache = os.environ.get("AGENT_OPERATOR_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agent-operator"
    )
    name = os.environ.get("AGENT_OPERATOR_CLUSTER") or (
        "ao-" + hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:10]
    )
    return Path(cache) / "kwok" / "clusters" / name


def _alive(pid: int) -> bool:
    """A running process (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Component:
    """One control-plane process and how to start it again exactly as it was started."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    pid: int
    _child: subprocess.Popen[bytes] | None = None

    @classmethod
    def read(cls, directory: Path, name: str) -> Component:
        pid = int((directory / "pids" / f"{name}.pid").read_text().strip())
        proc = Path(f"/proc/{pid}")
        try:
            argv = proc.joinpath("cmdline").read_bytes().rstrip(b"\0").split(b"\0")
            environ = proc.joinpath("environ").read_bytes().rstrip(b"\0").split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError as exc:
            raise RuntimeError(f"{name} (pid {pid}) of {directory} is not running: {exc}") from exc
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        return cls(name, [a.decode() for a in argv], env, cwd, pid)

    def alive(self) -> bool:
        if self._child is not None:
            return self._child.poll() is None  # our own child: poll() also reaps it
        return _alive(self.pid)

    def stop(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 30.0) -> None:
        if self.alive():
            os.kill(self.pid, sig)
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name} (pid {self.pid}) still running {timeout:.0f}s after {sig.name}"
                )
            time.sleep(0.05)

    def start(self, directory: Path) -> None:
        """Start it again with the same argv, environment and working directory, its output appended
        to the log kwokctl gave it, and record the new pid where cluster-up and cluster-down look."""
        with (directory / "logs" / f"{self.name}.log").open("ab") as log:
            self._child = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the test session, like kwokctl's daemons
            )
        self.pid = self._child.pid
        # No newline: kwokctl reads the file with strconv.Atoi and cannot stop a pid it cannot parse.
        (directory / "pids" / f"{self.name}.pid").write_text(str(self.pid))


@dataclass
class ControlPlane:
    """The local cluster's processes, read from kwokctl's pid files."""

    directory: Path
    components: dict[str, Component]
    restarts: list[tuple[str, float]] = field(default_factory=list)
    """(component, time.time()) of every restart made by ``supervised``."""

    @classmethod
    def local(cls) -> ControlPlane:
        directory = cluster_dir()
        if not (directory / "pids").is_dir():
            raise RuntimeError(f"no local cluster at {directory}; run `make cluster-up`")
        names = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, KWOK)
        return cls(directory, {name: Component.read(directory, name) for name in names})

    def alive(self, name: str) -> bool:
        return self.components[name].alive()

    def stop(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        self.components[name].stop(sig)

    def start(self, name: str) -> None:
        self.components[name].start(self.directory)

    @contextmanager
    def supervised(self, names: Iterable[str] = (CONTROLLER_MANAGER, SCHEDULER, KWOK)) -> Iterator[None]:
        """While active, restart any of ``names`` that has exited, as a kubelet restarts its static
        pods."""
        watched = tuple(names)
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(0.2):
                for name in watched:
                    if not self.alive(name) and not stop.wait(KUBELET_RESTART_DELAY):
                        self.start(name)
                        self.restarts.append((name, time.time()))

        thread = threading.Thread(target=run, name="kubelet-stand-in", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _kubectl(*args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str] | None:
    """`kubectl ARGS` against the local cluster; None when it hangs past its request timeout."""
    cmd = [
        str(LOCAL_BIN / "kubectl"),
        "--kubeconfig",
        str(LOCAL_KUBECONFIG),
        f"--request-timeout={timeout:.0f}s",
    ]
    try:
        return subprocess.run([*cmd, *args], capture_output=True, text=True, check=False, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return None


def apiserver_ready() -> bool:
    """kube-apiserver's /readyz answers OK."""
    result = _kubectl("get", "--raw", "/readyz")
    return result is not None and result.returncode == 0


def lease_renewed_since(name: str, since: float) -> bool:
    """The kube-system Lease ``name`` was renewed after ``since`` (time.time())."""
    result = _kubectl("-n", "kube-system", "get", "lease", name, "-o", "jsonpath={.spec.renewTime}")
    if result is None or result.returncode != 0 or not result.stdout.strip():
        return False
    renewed = datetime.fromisoformat(result.stdout.strip().replace("Z", "+00:00")).timestamp()
    return renewed > since


def _leading_again(plane: ControlPlane, name: str, since: float) -> Callable[[], bool]:
    return lambda: plane.alive(name) and lease_renewed_since(name, since)


def _wait(check: Callable[[], bool], what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}; see {log}")
        time.sleep(0.25)


@dataclass
class Outage:
    """What happened: wall-clock times and the components the kubelet stand-in restarted."""

    seconds: float
    stopped_at: float = 0.0
    started_at: float = 0.0
    """When the new kube-apiserver process was started."""
    returned_at: float = 0.0
    """When its /readyz answered again."""
    recovered_at: float = 0.0
    """When controller-manager and scheduler held their leases again."""
    restarted: list[str] = field(default_factory=list)


@contextmanager
def apiserver_outage(
    seconds: float,
    *,
    control_plane: ControlPlane | None = None,
    sig: signal.Signals = signal.SIGKILL,
    recovery_timeout: float = 120.0,
) -> Iterator[Outage]:
    """Kill kube-apiserver on entry; on exit, once ``seconds`` have passed since, start it again
    with the same flags, wait for /readyz, and wait until controller-manager and scheduler (restarted
    meanwhile if they exited) hold their leader leases again."""
    plane = control_plane or ControlPlane.local()
    outage = Outage(seconds)
    already = len(plane.restarts)
    with plane.supervised():
        outage.stopped_at = time.time()
        plane.stop(APISERVER, sig)
        try:
            yield outage
        finally:
            time.sleep(max(0.0, outage.stopped_at + seconds - time.time()))
            outage.started_at = time.time()
            plane.start(APISERVER)
            logs = plane.directory / "logs"
            _wait(apiserver_ready, "kube-apiserver /readyz", 60.0, logs / f"{APISERVER}.log")
            outage.returned_at = time.time()
            for name in LEADER_ELECTED:
                _wait(
                    _leading_again(plane, name, outage.returned_at),
                    f"{name} running and renewing its Lease after the apiserver returned",
                    recovery_timeout,
                    logs / f"{name}.log",
                )
            outage.recovered_at = time.time()
            outage.restarted = [name for name, _ in plane.restarts[already:]]
