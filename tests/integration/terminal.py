"""A real terminal for the live view's tests: a private tmux server (its own socket, so
nothing is shared with another test or a user's tmux), sized, driven by keys, read by
capture-pane as a user would see it."""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
from harness import FAST_TIMINGS, FIXTURES, wait_until

HAVE_TMUX = shutil.which("tmux") is not None


class Terminal:
    def __init__(self, workdir: Path, width: int, height: int) -> None:
        self.workdir = workdir
        self.width, self.height = width, height
        self.socket = f"gaia-test-{uuid.uuid4().hex[:12]}"
        self.conf = workdir / "tmux.conf"
        self.conf.write_text(f"set -g default-size {width}x{height}\n")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def run(self, *argv: str) -> None:
        """Start argv in the terminal. bash runs it (and survives a Ctrl-C that the program
        handled) to print its exit status: tmux's own is not kept for every exit."""
        env = {**FAST_TIMINGS, "PYTHONPATH": str(FIXTURES), "TERM": "xterm-256color"}
        # CI would turn the live view off; COLUMNS/LINES would override the terminal's size.
        unset = ["-u", "CI", "-u", "COLUMNS", "-u", "LINES"]
        assigns = [f"{key}={value}" for key, value in env.items()]
        program = shlex.join(argv)
        script = f'{program}; echo "[exit $?]"; exec sleep 600'
        self.tmux(
            "new-session", "-d", "-x", str(self.width), "-y", str(self.height),
            "-c", str(self.workdir), "env", *unset, *assigns, "bash", "-c", script,
        )  # fmt: skip

    def exit_status(self) -> int | None:
        """The program's exit status once it has exited; None while it runs."""
        for line in self.screen():
            if match := re.fullmatch(r"\[exit (\d+)\]\s*", line):
                return int(match.group(1))
        return None

    def gaia(self, config: Path, *args: str) -> None:
        self.run(sys.executable, "-m", "gaia_runner", "up", "-c", str(config), *args)

    def screen(self, *, escapes: bool = False) -> list[str]:
        text = self.tmux("capture-pane", "-p", *(["-e"] if escapes else []))
        return text.rstrip("\n").split("\n")

    def wait_screen(
        self, check: Callable[[list[str]], object], timeout: float, what: str
    ) -> list[str]:
        found: list[str] = []

        def seen() -> bool:
            nonlocal found
            found = self.screen()
            return bool(check(found))

        try:
            wait_until(seen, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen:\n" + "\n".join(found)) from None
        return found

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def close(self) -> None:
        """Stop the program if it still runs (SIGTERM, as `kill` would), then tmux."""
        try:
            shown = self.tmux("display-message", "-p", "#{pid} #{pane_pid}")
        except AssertionError:
            return  # no server
        server, shell = (int(pid) for pid in shown.split())
        try:
            programs = [p for p in psutil.Process(shell).children() if p.name() != "sleep"]
            for program in programs:
                program.send_signal(signal.SIGTERM)
            psutil.wait_procs(programs, timeout=30)
        except psutil.NoSuchProcess:
            pass
        finally:
            subprocess.run(
                ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10
            )
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(server).wait(10)
