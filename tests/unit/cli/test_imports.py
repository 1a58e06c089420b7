"""`gaia up` is a long-lived process: it must not carry code only other commands use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from gaia_runner.cli import main
sys.argv = ["gaia", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = ("rich", "watchfiles", "gaia_runner.export", "gaia_runner.cli.control",
         "gaia_runner.cli.logs", "gunicorn", "uvicorn", "cryptography", "typer", "pydantic",
         "textual", "gaia_runner.top")
print(" ".join(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")})))
"""


def loaded(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_up_loads_neither_typer_rich_nor_other_commands(tmp_path: Path) -> None:
    # Through the real entry point, as far as reading a (missing) gaia.toml.
    assert loaded("up", "-c", str(tmp_path / "missing.toml")) == set()


def test_the_whole_app_still_has_every_command() -> None:
    assert "gaia_runner.cli.control" in loaded("--help")


RUNNING = """
import sys
from pathlib import Path
from pathlib import Path
from gaia_runner.config import load_config
import gaia_runner.runner
load_config(Path(sys.argv[1]))
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "typer"))))
"""


def test_validating_and_running_a_config_needs_no_model_library(tmp_path: Path) -> None:
    # gaia up keeps the validator for every reload: it must stay small (issue 13).
    config = tmp_path / "gaia.toml"
    config.write_text('[apps.web]\napp = "m:app"\nbind = "127.0.0.1:9"\n')
    done = subprocess.run(
        [sys.executable, "-c", RUNNING, str(config)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == []
