"""`gaia up -d` started as root from a directory others can write (/tmp, a project, an app's
own directory): the detached gaia is a new interpreter, and `python -m` puts the caller's
directory first on sys.path. A `gaia_runner/` planted there ran as root in gaia's place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import FIXTURES, free_port, try_get, wait_until

PAYLOAD = "open({marker!r}, 'w').write('ran as uid %d' % __import__('os').geteuid())\n"


def test_a_detached_gaia_never_imports_what_was_planted_in_the_callers_directory(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"  # like /tmp: anyone may write here
    shared.mkdir()
    shared.chmod(0o1777)
    marker = tmp_path / "planted-ran"
    for name in ("__init__.py", "__main__.py"):
        (shared / "gaia_runner").mkdir(exist_ok=True)
        (shared / "gaia_runner" / name).write_text(PAYLOAD.format(marker=str(marker)))
    port = free_port()
    config = tmp_path / "gaia.toml"
    config.write_text(
        f'[gaia]\nstate_dir = "{tmp_path / "state"}"\n\n'
        f'[apps.web]\napp = "hello:app"\nbind = "127.0.0.1:{port}"\ncwd = "{tmp_path}"\n'
    )
    gaia = Path(sys.executable).parent / "gaia"  # the console script, as an operator runs it
    env = {**os.environ, "PYTHONPATH": str(FIXTURES)}
    env.pop("CI", None)
    try:
        done = subprocess.run(
            [str(gaia), "up", "-d", "-c", str(config)],
            cwd=shared,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        wait_until(lambda: try_get(port), 20, "the app answering")
        assert not marker.exists(), marker.read_text()
    finally:
        subprocess.run(
            [str(gaia), "down", "-c", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
