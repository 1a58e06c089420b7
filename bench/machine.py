"""What the numbers were measured on."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib import metadata

import psutil

from bench import load, peers


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _tool_version(argv: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        text = (done.stdout or done.stderr).strip()
        return text.splitlines()[0] if text else "?"
    return "not installed"


def describe() -> dict[str, object]:
    cpu_model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu_model = next((ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), "")
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "versions": {
            "gaia-runner": _version("gaia-runner"),
            "gunicorn": _version("gunicorn"),
            "uvicorn": _version("uvicorn"),
            "uvicorn-worker": _version("uvicorn-worker"),
            "fastapi": _version("fastapi"),
            **peers.versions(),
        },
        "tools": {
            "wrk": _tool_version(["wrk", "-v"]) if not load.missing_tools("wrk") else "missing",
            "hey": "present" if not load.missing_tools("hey") else "missing",
        },
    }
