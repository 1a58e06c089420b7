"""What `gaia top` draws: pure functions of a snapshot (and of the selection), built
from the same table as `gaia up`'s live view (view/status.py), so the two never differ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text

from gaia_runner.model.snapshot import Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.status import render_status


@dataclass(frozen=True)
class Key:
    key: str  # as Textual names it
    shown: str  # as the help shows it
    action: str
    help: str


KEYS: tuple[Key, ...] = (
    Key("up", "↑/↓", "move(-1)", "select an app"),
    Key("down", "", "move(1)", ""),
    Key("enter", "enter/l", "logs", "show/hide the selected app's log tail"),
    Key("l", "", "logs", ""),
    Key("slash", "/", "search", "show only log lines containing a text (empty: all)"),
    Key("r", "r", "restart", "restart the app (asks first)"),
    Key("x", "x", "stop", "stop the app (asks first)"),
    Key("s", "s", "start", "start an app stopped by request"),
    Key("plus", "+/-", "scale(1)", "one worker more / less"),
    Key("minus", "", "scale(-1)", ""),
    Key("R", "R", "reload", "re-read gaia.toml now, as `gaia reload`"),
    Key("p", "p", "plan", "the last reload's plan, or why it was not applied"),
    Key("question_mark", "?", "help", "this help"),
    Key("q", "q", "quit", "quit (gaia keeps running)"),
)

# Fits 80 columns whole.
FOOTER = "↑↓ app ⏎ log / find r restart x stop s start +- scale R reload p plan ? help q"


def move(snapshot: Snapshot, selected: str | None, step: int) -> str | None:
    """The app `step` rows away from the selected one (kept in range); the first app
    when the selected one is gone."""
    names = [app.name for app in snapshot.apps]
    if not names:
        return None
    if selected not in names:
        return names[0]
    at = names.index(selected) + step
    return names[max(0, min(len(names) - 1, at))]


def matches(line: str, text: str) -> bool:
    """The log tail's filter: a plain substring, any case (no pattern syntax to get wrong)."""
    return text.casefold() in line.casefold()


def title(snapshot: Snapshot, connected: bool = True) -> Text:
    running = sum(1 for app in snapshot.apps if app.state is AppState.RUNNING)
    # One line whatever the path's length: the table must not move down.
    text = Text("gaia top", style="bold", no_wrap=True, overflow="ellipsis")
    text.append(f"  {running}/{len(snapshot.apps)} running")
    if not connected:
        text.append("  (gaia is gone: q to quit)", style="bold red")
    text.append(f"  {snapshot.config_path}", style="dim")
    return text


def view(snapshot: Snapshot, selected: str | None, connected: bool = True) -> RenderableType:
    """The whole upper part: a title, then exactly what `gaia up` shows below its logs."""
    return Group(title(snapshot, connected), render_status(snapshot, selected=selected))


def help_text() -> Text:
    text = Text("gaia top: keys\n\n", style="bold")
    for key in KEYS:
        if key.shown:
            text.append(f"  {key.shown:<8}", style="bold")
            text.append(f"{key.help}\n")
    text.append(
        "\nEvery change goes through gaia's control socket, as the CLI does;\n"
        "nothing changes without a key. Esc or ? closes this help."
    )
    return text


PLAN_MARKERS = ("reload plan: ", "not applied, apps unchanged:")


def last_reload(events: Sequence[str]) -> str:
    """From gaia's event lines (gaia.log, oldest first): the last reload's plan, or its
    refusal with the reasons (the indented lines after it)."""
    for at in range(len(events) - 1, -1, -1):
        if any(marker in events[at] for marker in PLAN_MARKERS):
            block = [events[at]]
            block += [line for line in _following(events, at + 1) if "not applied" in events[at]]
            return "\n".join(block)
    return "no reload since gaia started (R reloads gaia.toml now)"


def _following(events: Sequence[str], start: int) -> list[str]:
    lines = []
    for line in events[start:]:
        if not line.startswith("gaia:   "):
            break
        lines.append(line)
    return lines
