"""What gaia's code imports inside the server's own processes is start time the bare
server does not pay: each uvicorn worker imports the launcher again (it is the spawned
worker's __main__), and gunicorn's workers run gaia's hooks before they serve."""

from __future__ import annotations

import subprocess
import sys

# Every gaia module a server process imports: the uvicorn launcher, gunicorn's hooks
# (launch.py writes them into the generated config), and the loader of a factory with
# arguments, which each uvicorn worker unpickles.
IN_SERVERS = (
    "gaia_runner.process.uvicorn_main",
    "gaia_runner.process.pdeathsig",
    "gaia_runner.process.drain",
    "gaia_runner.process.plain_listeners",
    "gaia_runner.process.one_hop",
    "gaia_runner.metrics.hooks",
    "gaia_runner.dev.warm",
    "gaia_runner.config.apptarget",
)
# gaia's own side: the validator (~40 ms a process), the supervisor, the runner.
GAIA_ONLY = ("gaia_runner.config.load", "gaia_runner.config.settings", "gaia_runner.supervise")
GAIA_ONLY += ("gaia_runner.runner", "gaia_runner.view", "psutil")

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(" ".join(sorted(sys.modules)))
"""


def test_server_processes_import_nothing_of_gaias_own_side() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *IN_SERVERS], capture_output=True, text=True, check=True
    )
    loaded = done.stdout.split()
    assert [m for m in loaded if m.startswith(GAIA_ONLY)] == []


def test_the_config_package_still_offers_its_names() -> None:
    # Loaded on first use now, not with the package.
    from gaia_runner import config
    from gaia_runner.config.errors import ConfigError
    from gaia_runner.config.load import load_config

    assert config.ConfigError is ConfigError
    assert config.load_config is load_config
