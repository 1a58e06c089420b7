"""Drive the real `gaia` CLI: write a gaia.toml, start it, read its output, send signals."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

FAST_TIMINGS = {
    "GAIA_SAMPLE_INTERVAL": "0.2",
    "GAIA_COMMAND_GRACE": "0.3",
    "GAIA_DEBOUNCE": "0.3",
}


def make_self_signed(directory: Path, cn: str = "localhost") -> None:
    """cert.pem + key.pem in `directory`, via the openssl CLI."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            f"/CN={cn}",
        ],
        cwd=directory,
        check=True,
        capture_output=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def http_get(port: int, path: str = "/", timeout: float = 5.0) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def try_get(port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, str] | None:
    try:
        return http_get(port, path, timeout)
    except OSError:
        return None


@dataclass
class Gaia:
    """One `gaia up` process under test."""

    workdir: Path
    config_text: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    lines: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _reading: threading.Event = field(default_factory=threading.Event)

    @property
    def config_path(self) -> Path:
        return self.workdir / "gaia.toml"

    def write_config(self, text: str) -> None:
        self.config_path.write_text(textwrap.dedent(text))

    def start(self, command: str = "up") -> Gaia:
        self.write_config(self.config_text)
        env = {**os.environ, **FAST_TIMINGS, "PYTHONPATH": str(FIXTURES), **self.env}
        env.pop("CI", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gaia_runner",
                command,
                "--no-tui",
                "-c",
                str(self.config_path),
                *self.args,
            ],
            cwd=self.workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        self._reading.set()
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.proc.stdout:
            for raw in self.proc.stdout:
                self._reading.wait()  # stalled(): the pipe fills up behind this line
                with self._cond:
                    self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                    self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 15.0, start: int = 0) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    if match := regex.search(line):
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (
                    self.proc is not None and self.proc.poll() is not None and not left
                ):
                    raise AssertionError(
                        f"no line matching {pattern!r} within {timeout}s; output:\n"
                        + "\n".join(self.lines[-60:])
                    )
                self._cond.wait(min(left, 0.2))

    @contextlib.contextmanager
    def stalled(self) -> Iterator[None]:
        """gaia's stdout stops being read (a stuck log driver), then resumes."""
        self._reading.clear()
        try:
            yield
        finally:
            self._reading.set()

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(
                f"gaia did not stop within {timeout}s of SIGTERM; output:\n"
                + "\n".join(self.lines[-80:])
            ) from None

    def run_to_end(self, timeout: float = 20.0) -> int:
        """For commands expected to exit on their own (bad config)."""
        return self.wait(timeout)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """One short-lived gaia command (check, reload, status...)."""
    full_env = {**os.environ, "PYTHONPATH": str(FIXTURES), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gaia_runner", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
