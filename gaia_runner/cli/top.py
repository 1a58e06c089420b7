"""`gaia top`: attach a full-screen view to a running gaia (Textual, an optional extra)."""

from __future__ import annotations

from gaia_runner.cli.flags import ConfigOption
from gaia_runner.cli.options import fail
from gaia_runner.cli.remote import ask, running_state_dir

INSTALL = "pip install 'gaia-runner[top]'"
EXIT_NO_TEXTUAL = 2  # as a usage error: nothing was attempted


def top(config: ConfigOption = None) -> None:
    """A live, full-screen view of a running gaia (`up` or `up -d`), with keys to act on apps."""
    try:
        from gaia_runner.top.app import TopApp
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("textual"):
            raise
        raise fail(f"error: `gaia top` needs Textual: {INSTALL}", EXIT_NO_TEXTUAL) from None
    # Asked once before the screen is taken: no gaia (or another version) is said plainly.
    ask(config, {"command": "status"})
    TopApp(running_state_dir(config)).run()
