"""The peers (supervisor, superlance, circus) live in their own venv, made by the suite."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import sys
from pathlib import Path

from bench.core import NotAvailable

log = logging.getLogger("bench")

PEERS_VENV = Path(__file__).resolve().parent / ".peers-venv"
PACKAGES = ("supervisor", "superlance", "circus")
_NEEDED = ("supervisord", "supervisorctl", "memmon", "circusd", "circusctl")


def _python() -> str:
    # The peers' venv must not be a child of gaia's venv: use the base interpreter.
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(base) if base.exists() else sys.executable


@functools.cache
def peers_bin() -> Path:
    """The peers venv's bin directory, created and filled on first use; NotAvailable if not."""
    bin_dir = PEERS_VENV / "bin"
    if all((bin_dir / tool).exists() for tool in _NEEDED):
        return bin_dir
    log.info("creating %s with %s (one-off)", PEERS_VENV, " ".join(PACKAGES))
    try:
        subprocess.run([_python(), "-m", "venv", str(PEERS_VENV)], check=True, timeout=120)
        subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "-q", *PACKAGES],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise NotAvailable(f"could not install peers into {PEERS_VENV}: {exc}") from None
    if missing := [tool for tool in _NEEDED if not (bin_dir / tool).exists()]:
        raise NotAvailable(f"peers venv lacks {', '.join(missing)}")
    return bin_dir


def peers_or_reason() -> str | None:
    try:
        peers_bin()
    except NotAvailable as exc:
        return str(exc)
    return None


def pm2() -> str | None:
    return shutil.which("pm2")


def versions() -> dict[str, str]:
    try:
        bin_dir = peers_bin()
    except NotAvailable:
        return {}
    out = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    pins = dict(line.split("==", 1) for line in out.splitlines() if "==" in line)
    return {name: pins[name] for name in (*PACKAGES, "granian") if name in pins}


GRANIAN = ("granian[reload]", "fastapi")


@functools.cache
def granian_bin() -> Path:
    """granian (with its reloader) and FastAPI in the peers venv, installed on first use;
    never a gaia dependency. NotAvailable with the reason if it cannot be installed."""
    bin_dir = peers_bin()
    if (bin_dir / "granian").exists():
        return bin_dir
    log.info("installing %s into %s (one-off)", " ".join(GRANIAN), PEERS_VENV)
    try:
        subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "-q", *GRANIAN],
            check=True,
            timeout=300,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise NotAvailable(f"could not install granian into {PEERS_VENV}: {exc}") from None
    if not (bin_dir / "granian").exists():
        raise NotAvailable("granian installed but has no granian script")
    return bin_dir
