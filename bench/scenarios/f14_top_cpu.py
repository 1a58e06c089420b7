"""Figure 14: what `gaia top` costs gaia: its own CPU with 200 apps, without and with a
subscriber on the change stream (what `gaia top` attaches to; the drawing happens in the
top process, not in gaia)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from bench import procs, targets
from bench.core import Ctx, Figure, Measure, Sample, alternate, rows_from
from bench.scenarios.f12_table_cpu import _cpu
from gaia_runner import control

NUMBER = 14
KEY = "f14_top_cpu"
TITLE = "gaia top cost: gaia's own CPU with 200 apps, with and without a subscriber"

APPS = 200
ALONE = "gaia, 200 apps, nobody attached"
ATTACHED = "gaia, 200 apps, gaia top attached"


def _all_running(sock: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            apps = control.request(sock, {"command": "status"}, timeout=10)["snapshot"]["apps"]
            if len(apps) == APPS and all(app["state"] == "running" for app in apps):
                return
        except (control.ControlError, OSError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{APPS} apps not running within {timeout:g}s")


def _subscribe(sock: Path, stop: threading.Event, lines: list[int]) -> None:
    """A client reading the stream as `gaia top` does (the drawing is top's own cost)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(sock))
        client.sendall(b'{"command": "subscribe", "protocol": %d}\n' % control.PROTOCOL)
        client.settimeout(0.5)
        while not stop.is_set():
            try:
                data = client.recv(1 << 20)
            except TimeoutError:
                continue
            if not data:
                return
            lines[0] += data.count(b"\n")


def _gaia(attached: bool, settle: float, window: float) -> Measure:
    def measure(workdir: Path) -> Sample:
        apps = {f"a{n:03d}": {"command": ["sleep", "3600"]} for n in range(APPS)}
        config = workdir / "gaia.toml"
        config.write_text(targets.gaia_toml(workdir, apps))
        proc = procs.spawn(targets.gaia_argv(config), workdir, workdir / "out.log")
        stop, lines = threading.Event(), [0]
        reader = None
        try:
            sock = workdir / ".gaia" / "gaia.sock"
            _all_running(sock, 120)
            if attached:
                reader = threading.Thread(target=_subscribe, args=(sock, stop, lines))
                reader.start()
            sample = _cpu(proc.pid, settle, window)
            if attached and not lines[0]:
                raise RuntimeError("the subscriber got nothing")
            return sample
        finally:
            stop.set()
            if reader is not None:
                reader.join(10)
            procs.stop(proc, timeout=60)

    return measure


def run(ctx: Ctx) -> Figure:
    settle, window = ctx.scale(3, 1), ctx.scale(10, 1.5)
    fig = Figure(NUMBER, KEY, TITLE, ["gaia CPU"])
    measures = {name: _gaia(name == ATTACHED, settle, window) for name in (ALONE, ATTACHED)}
    fig.rows = rows_from(
        alternate(measures, ctx.runs, ctx.dir(KEY)), {"gaia CPU": ("cpu", " % core")}
    )
    fig.notes.append(
        f"{APPS} command apps (`sleep`), gaia --no-tui. CPU of the gaia process alone over "
        f"{window:g} s after {settle:g} s, with nobody attached and with one subscriber reading "
        "the `subscribe` stream (a snapshot of every app twice a second). Target: attaching "
        "costs gaia <= 5 % of a core."
    )
    return fig
