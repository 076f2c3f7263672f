"""llama.cpp's own server (`llama-server`) as a managed child process: started, health-checked,
restarted by a watchdog when it dies, stopped with the service.

llama-server batches the requests of its parallel slots together (continuous batching) and
keeps each slot's prompt cache, so concurrent turns share the cores instead of queueing.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import logging
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from advisor.errors import BackendUnavailable

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
PR_SET_PDEATHSIG, SIGTERM = 1, 15
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # between restarts; reset once healthy for a minute


class EngineFailed(BackendUnavailable):
    """The engine cannot start (missing binary, port taken, bad model) or stay up."""


@dataclass(frozen=True)
class EngineConfig:
    """What to run: binary, model, port (0: a free one) and the batching shape."""

    binary: Path
    model: Path
    port: int
    slots: int
    ctx_per_slot: int
    threads: int
    flash_attn: str = "on"  # on, off or auto (llama.cpp decides per device)
    kv_unified: bool = False  # one KV buffer for every slot (attention spans all slots' cells)
    batch_size: int = 2048
    ubatch_size: int = 512
    cache_ram_mib: int = 256
    start_timeout_s: float = 60.0

    def command(self, port: int) -> list[str]:
        """llama-server's command line on `port`."""
        threads = str(self.threads)
        return [
            str(self.binary), "--model", str(self.model), "--host", HOST, "--port", str(port),
            "--parallel", str(self.slots), "--ctx-size", str(self.slots * self.ctx_per_slot),
            "--cont-batching", "--cache-reuse", "64", "--cache-ram", str(self.cache_ram_mib),
            "--threads", threads, "--threads-batch", threads, "--no-webui", "--slots",
            "--flash-attn", self.flash_attn,
            "--kv-unified" if self.kv_unified else "--no-kv-unified",
            "--batch-size", str(self.batch_size), "--ubatch-size", str(self.ubatch_size),
        ]  # fmt: skip


def check_config(config: EngineConfig) -> None:
    """Refuse, naming the cause, what cannot start: a missing binary or model, a taken port."""
    if not config.binary.is_file():
        raise EngineFailed(
            f"llama-server binary not found at {config.binary} "
            "(`make install` builds it; or set ADVISOR_LLM__ENGINE_BINARY)"
        )
    if not config.model.is_file():
        raise EngineFailed(f"GGUF model not found: {config.model}")
    if config.port and not port_is_free(config.port):
        raise EngineFailed(
            f"engine port {config.port} on {HOST} is taken (ADVISOR_LLM__ENGINE_PORT)"
        )


def port_is_free(port: int) -> bool:
    """Whether `port` on the loopback interface can be bound now."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the thread that started it ends (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, SIGTERM)


class Engine:
    """One supervised llama-server. A supervisor thread spawns it (so it dies with that thread,
    never orphaned), waits for /health, and respawns it with backoff whenever it exits."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.port = config.port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.restarts = 0
        self.log_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._first: tuple[threading.Event, list[BaseException]] = (threading.Event(), [])
        self._thread = threading.Thread(target=self._supervise, name="llama-server", daemon=True)

    def start(self) -> Engine:
        """Start and wait until it answers /health; EngineFailed says why it cannot."""
        check_config(self.config)
        self._thread.start()
        done, errors = self._first
        if not done.wait(self.config.start_timeout_s + 30):
            errors.append(EngineFailed("llama-server did not start or fail in time"))
        if errors:
            self.stop()
            raise errors[0]
        atexit.register(self.stop)
        return self

    def wait_ready(self, timeout: float) -> bool:
        """Whether the engine is (or becomes within `timeout`) ready for requests."""
        return self._ready.wait(timeout)

    @property
    def pid(self) -> int | None:
        """The running process's id."""
        return self._proc.pid if self._proc else None

    def stop(self) -> None:
        """Stop the watchdog and the process (SIGTERM, then SIGKILL after 5 s)."""
        self._stopping.set()
        self._ready.clear()
        proc = self._proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(10)

    def _supervise(self) -> None:
        """Spawn, wait healthy, watch; respawn with backoff until stopped."""
        attempt, done, errors = 0, *self._first
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._spawn_and_wait()
            except Exception as exc:  # anything: a dead watchdog would leave turns waiting
                if not isinstance(exc, EngineFailed):
                    exc = EngineFailed(f"llama-server could not be started: {exc!r}")
                if not done.is_set():
                    errors.append(exc)
                    done.set()
                    return
                log.error("llama-server restart failed: %s", exc)
            else:
                done.set()
                self._watch()
            if self._stopping.is_set():
                return
            attempt = 0 if time.monotonic() - started > 60 else attempt + 1
            self.restarts += 1
            self._stopping.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])

    def _spawn_and_wait(self) -> None:
        """Start the process and block until /health answers ok."""
        try:
            self._proc = subprocess.Popen(
                self.config.command(self.port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # only a prctl in the child: no locks taken
            )
        except OSError as exc:  # not executable, wrong architecture
            raise EngineFailed(f"cannot run {self.config.binary}: {exc}") from exc
        threading.Thread(target=self._drain, args=(self._proc,), daemon=True).start()
        self._wait_healthy(self._proc)
        self._ready.set()
        log.info("llama-server ready on %s (pid %s)", self.url, self._proc.pid)

    def _wait_healthy(self, proc: subprocess.Popen[bytes]) -> None:
        """Poll /health until ok; EngineFailed if the process exits or the deadline passes."""
        deadline = time.monotonic() + self.config.start_timeout_s
        while time.monotonic() < deadline and not self._stopping.is_set():
            if proc.poll() is not None:
                time.sleep(0.1)  # let the drain thread read the last lines
                raise EngineFailed(f"llama-server exited with code {proc.returncode}: {self.why()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        proc.kill()
        raise EngineFailed(f"llama-server not healthy in {self.config.start_timeout_s:.0f} s")

    def _watch(self) -> None:
        """Block until the process exits; then it is no longer ready."""
        proc = self._proc
        assert proc is not None
        code = proc.wait()
        self._ready.clear()
        if not self._stopping.is_set():
            log.error("llama-server (pid %s) exited with code %s; restarting", proc.pid, code)

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep the last lines of the engine's log (for start-up errors) and log them at debug."""
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.log_tail.append(line)
            log.debug("llama-server: %s", line)

    def why(self) -> str:
        """The engine's own last error lines (or its last lines)."""
        lines = list(self.log_tail)
        errors = [ln for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
        return " | ".join((errors or lines)[-3:]) or "no output"
