"""Dev mode's warm processes get a name `ps -e`, top and pgrep can read."""

from __future__ import annotations

import subprocess
import sys


def test_the_kernel_name_is_set_and_cut_to_fifteen_bytes() -> None:
    code = (
        "from gaia_runner.process.proc_title import set_title\n"
        "set_title('gaia:reports gunicorn (dev)')\n"
        "print(open('/proc/self/comm').read().strip())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "gaia:reports gu"
