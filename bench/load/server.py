"""The server under load: `advisor serve` as a child process on loopback, its CPU and memory
(the process and its children: the llama-server engine is one) sampled with psutil."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from advisor.settings import ENGINE_BACKENDS

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(engine: str, port: int) -> list[str]:
    """How each engine is served: `advisor serve`, or the fake back-end's replica for CI."""
    if engine == "fake":
        return [sys.executable, "-m", "tests.replica_child", str(port)]
    advisor = Path(sys.executable).parent / "advisor"
    return [str(advisor), "serve", "--host", "127.0.0.1", "--port", str(port)]


@dataclass
class Server:
    """A running server process and where it answers."""

    engine: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    bank: str
    health: dict[str, object] = field(default_factory=dict)

    @classmethod
    def start(cls, engine: str, env: dict[str, str], log: Path, bank: str) -> Server:
        """Start the server for one engine (ADVISOR_LLM__ENGINE) with the given settings."""
        port = free_port()
        if engine != "fake":  # the engine's back-end named outright: a profile may pin one
            backend = ENGINE_BACKENDS[engine]
            env = env | {"ADVISOR_LLM__ENGINE": engine, "ADVISOR_LLM__BACKEND": backend}
        with log.open("ab") as sink:
            process = subprocess.Popen(
                command(engine, port), cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        return cls(engine, process, f"http://127.0.0.1:{port}", log, bank)

    def wait_ready(self, timeout_s: float = 600.0) -> None:
        """Poll /healthz until it answers; an exit or a timeout raises with the log's tail."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.engine} server exited: {self.log_tail()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=5)
                if answer.status_code == 200:
                    self.health = answer.json()
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.engine} server did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        """The end of the server's log."""
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """SIGTERM (the server stops its engine), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def processes(self) -> list[psutil.Process]:
        """The server and every child of it (the engine)."""
        try:
            main = psutil.Process(self.process.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def memory(self) -> dict[str, float]:
        """Resident memory in MiB: the server process, its children, and the sum."""
        found = self.processes()
        rss = [_rss(p) for p in found]
        return {"server_mib": rss[0] / MIB if rss else 0.0, "total_mib": sum(rss) / MIB}


class Sampler:
    """CPU time and peak resident memory of the server's processes over a measured window."""

    def __init__(self, server: Server, every_s: float = 0.5) -> None:
        self.server, self.every = server, every_s
        self.peak_mib = 0.0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.started, self.load_before = time.monotonic(), os.getloadavg()[0]
        self._sample()
        self.cpu_before = dict(self.cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall, self.load_after = time.monotonic() - self.started, os.getloadavg()[0]

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        total = 0
        for proc in self.server.processes():
            try:
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                total += _rss(proc)
            except psutil.Error:
                continue
        self.peak_mib = max(self.peak_mib, total / MIB)

    def result(self) -> dict[str, float]:
        """Mean CPU (100 = one core busy) over the window, peak memory, the load averages."""
        used = sum(v - self.cpu_before.get(pid, 0.0) for pid, v in self.cpu.items())
        return {
            "cpu_percent": 100 * used / self.wall if self.wall else 0.0,
            "peak_mib": self.peak_mib,
            "load_before": self.load_before,
            "load_after": self.load_after,
        }


def _rss(proc: psutil.Process) -> int:
    """A process's resident bytes (0 once it is gone)."""
    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0
