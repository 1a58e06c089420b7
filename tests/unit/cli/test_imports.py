"""`gaia up` is a long-lived process: it must not carry code only other commands use."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from gaia_runner.cli.app import build
build(sys.argv[1:])
heavy = ("rich", "watchfiles", "gaia_runner.export", "gaia_runner.cli.control",
         "gaia_runner.cli.logs", "gunicorn", "uvicorn", "cryptography")
print(" ".join(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")})))
"""


def loaded(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_up_loads_neither_rich_nor_other_commands() -> None:
    assert loaded("up") == set()


def test_the_whole_app_still_has_every_command() -> None:
    assert "gaia_runner.cli.control" in loaded("--help")
