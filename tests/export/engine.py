"""A real container engine for the export tests: Debian's podman, set up the way it runs on
these machines (see the README's "From one machine to a cluster").

No registry is reachable here, so the export's default base image is a stand-in: a minimal
Debian made by debootstrap, imported once and tagged with the name the exported `FROM` uses,
so the Dockerfile is built unedited. Everything podman keeps (config, storage, the base image)
lives under one directory of its own, so nothing in /etc is touched and the base image is
built once per machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HOME = Path(os.environ.get("GAIA_ENGINE_DIR", "/var/tmp/gaia-engine"))
ROOTFS_IMAGE = "localhost/gaia-test-rootfs:1"
# runc, not crun (crun refuses this machine's cgroup layout); no ulimits or pids limit (the
# sandbox cannot raise rlimits); vfs storage, which works on any filesystem.
CONTAINERS_CONF = """\
[containers]
default_ulimits = []
pids_limit = 0

[engine]
runtime = "runc"
events_logger = "file"
cgroup_manager = "cgroupfs"
"""
STORAGE_CONF = f"""\
[storage]
driver = "vfs"
graphroot = "{HOME}/storage"
runroot = "{HOME}/run"
"""
# The stand-in for `python:3.12-slim`: Debian's python3 in a venv, so that `pip install`
# works as in the real image (Debian's own pip refuses: "externally managed").
BASE_CONTAINERFILE = f"""\
FROM {ROOTFS_IMAGE}
RUN python3 -m venv /usr/local/py
ENV PATH=/usr/local/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
"""


@dataclass(frozen=True)
class Podman:
    env: dict[str, str]

    def run(
        self, *args: str, timeout: float = 120, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=cwd,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {done.returncode}\n{done.stderr}")
        return done

    def exists(self, image: str) -> bool:
        return self.run("image", "exists", image, check=False).returncode == 0

    def build(self, context: Path, tag: str, dockerfile: Path | None = None) -> None:
        """`--format docker` keeps HEALTHCHECK, which the OCI format drops; the host's
        network and certificates let `pip install` reach the package index as the host does.
        `--layers=false` commits the finished image only: on vfs storage every committed step
        is a full copy of the filesystem (46 s a build with them, 12 s without), and no test
        reuses an intermediate layer (each built image is removed with its parents)."""
        args = ["build", "--layers=false", "--format", "docker", "--network", "host", "-t", tag]
        args += ["-v", "/etc/ssl/certs:/etc/ssl/certs:ro"]
        if dockerfile is not None:
            args += ["-f", str(dockerfile)]
        self.run(*args, str(context), timeout=600)

    @contextmanager
    def service(self) -> Iterator[str]:
        """`podman system service` on a private socket: the Docker API Compose talks to."""
        folder = Path(tempfile.mkdtemp(prefix="gaia-podman-"))
        sock = folder / "podman.sock"
        proc = subprocess.Popen(
            ["podman", "system", "service", "--time=0", f"unix://{sock}"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not sock.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("podman system service did not start")
                time.sleep(0.05)
            yield f"unix://{sock}"
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            shutil.rmtree(folder, ignore_errors=True)


def _write_once(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _missing() -> list[str]:
    return [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]


def podman(base_image: str) -> Podman:
    """The engine, with ``base_image`` (the exported FROM) resolvable offline. Skips with
    the reason when podman cannot run here (not installed, not root)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("the engine tests run podman as root on Linux")
    missing = _missing()
    if missing:
        pytest.skip(
            f"not installed: {', '.join(missing)} (apt-get install podman runc debootstrap)"
        )
    HOME.mkdir(parents=True, exist_ok=True)
    _write_once(HOME / "containers.conf", CONTAINERS_CONF)
    _write_once(HOME / "storage.conf", STORAGE_CONF)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(HOME),
        "CONTAINERS_CONF": str(HOME / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(HOME / "storage.conf"),
    }
    engine = Podman(env)
    if not engine.exists(ROOTFS_IMAGE):
        rootfs = HOME / "rootfs"
        if not (rootfs / "usr" / "bin" / "python3").exists():
            shutil.rmtree(rootfs, ignore_errors=True)
            subprocess.run(
                ["debootstrap", "--variant=minbase",
                 "--include=python3,python3-venv,ca-certificates", "bookworm", str(rootfs)],
                check=True, capture_output=True, timeout=900,
            )  # fmt: skip
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["podman", "import", "-", ROOTFS_IMAGE],
            stdin=tar.stdout, check=True, capture_output=True, env=env, timeout=600,
        )  # fmt: skip
        tar.wait(60)
    if not engine.exists(base_image):
        folder = Path(tempfile.mkdtemp(prefix="gaia-base-"))
        try:
            (folder / "Containerfile").write_text(BASE_CONTAINERFILE)
            engine.build(folder, base_image, folder / "Containerfile")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return engine


def compose_cmd(binary: Path, project: str, files: Sequence[Path], directory: Path) -> list[str]:
    head = [str(binary), "-p", project, "--project-directory", str(directory)]
    return head + [arg for f in files for arg in ("-f", str(f))]
