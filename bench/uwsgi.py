"""uWSGI, the peer with an adaptive worker count (its "cheaper" subsystem): built from the
package index into its own venv on first use (~15 s of compiling), NotAvailable if not."""

from __future__ import annotations

import functools
import logging
import subprocess
from pathlib import Path

from bench.core import NotAvailable
from bench.peers import _python

log = logging.getLogger("bench")
UWSGI_VENV = Path(__file__).resolve().parent / ".uwsgi-venv"


@functools.cache
def uwsgi_bin() -> Path:
    binary = UWSGI_VENV / "bin" / "uwsgi"
    if binary.exists():
        return binary
    log.info("creating %s with uwsgi (one-off build)", UWSGI_VENV)
    try:
        subprocess.run([_python(), "-m", "venv", str(UWSGI_VENV)], check=True, timeout=120)
        subprocess.run(
            [str(UWSGI_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "uwsgi"],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise NotAvailable(f"could not build uwsgi into {UWSGI_VENV}: {exc}") from None
    if not binary.exists():
        raise NotAvailable(f"{UWSGI_VENV} has no bin/uwsgi")
    return binary


# Both modes: 1 to 4 workers, as gaia's range; the checks run every second (the shortest
# cycle there is); a worker is added when 4 or more connections wait (backlog) or when the
# workers were busy more than 50% of the last cycle, or the backlog reaches 4 (busyness).
COMMON = ("--master", "--processes", "4", "--cheaper", "1", "--cheaper-initial", "1")
MODES = {
    "backlog": ("--cheaper-algo", "backlog", "--cheaper-overload", "4", "--cheaper-step", "1"),
    "busyness": (
        "--cheaper-algo",
        "busyness",
        "--cheaper-overload",
        "1",
        "--cheaper-step",
        "1",
        "--cheaper-busyness-max",
        "50",
        "--cheaper-busyness-min",
        "25",
        "--cheaper-busyness-multiplier",
        "5",
        "--cheaper-busyness-backlog-alert",
        "4",
        "--cheaper-busyness-backlog-step",
        "1",
    ),
}


def argv(mode: str, port: int, workdir: Path) -> list[str]:
    return [
        str(uwsgi_bin()),
        "--http-socket",
        f"127.0.0.1:{port}",
        "--wsgi-file",
        str(workdir / "sleepy.py"),
        "--listen",
        "1024",
        "--die-on-term",
        "--disable-logging",
        *COMMON,
        *MODES[mode],
    ]
