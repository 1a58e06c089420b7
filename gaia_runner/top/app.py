"""The Textual application of `gaia top`. It only draws what screen.py computes and sends
the control requests the CLI's commands send; all it knows comes from the change stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input, RichLog, Static

from gaia_runner import control
from gaia_runner.logs.tail import Follower, merged
from gaia_runner.model.snapshot import Snapshot
from gaia_runner.top.feed import snapshots
from gaia_runner.top.screen import FOOTER, KEYS, help_text, last_reload, matches, move, view

LOG_LINES = 200
LOG_POLL = 0.5
EVENT_LINES = 500
# Stopping waits for the app's graceful stop (as `gaia stop` does).
LONG_REQUEST = 600.0


class Overlay(ModalScreen[bool]):
    """Help, a plan, or a question: y answers yes; Esc, n, q or ? close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", show=False),
        Binding("n,escape,q,question_mark,p", "answer(False)", show=False),
    ]
    DEFAULT_CSS = """
    Overlay { align: center middle; }
    Overlay > Static { width: auto; max-width: 90%; height: auto; max-height: 90%;
                       border: round $accent; padding: 0 1; background: $panel; }
    """

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        yield Static(self.body)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TopApp(App[None]):
    # Nothing takes focus by itself: a focused (hidden) filter field would swallow the keys.
    AUTO_FOCUS = None
    CSS = """
    #table { height: auto; max-height: 70%; }
    #log { height: 1fr; display: none; }
    #log.shown { display: block; }
    #loghead { height: 1; display: none; background: $accent 30%; }
    #loghead.shown { display: block; }
    #message { height: 1; }
    #filter { display: none; dock: bottom; }
    #filter.shown { display: block; }
    #keys { height: 1; dock: bottom; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(key.key, key.action, show=False) for key in KEYS),
        Binding("ctrl+c", "quit", show=False, priority=True),
    ]

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self.socket = control.control_path(state_dir)
        self.log_dir = state_dir / "logs"
        self.snapshot = Snapshot(apps=(), config_path="(connecting)")
        self.selected: str | None = None
        self.connected = True
        self.last_answer: str | None = None  # the reload this view asked for
        self.follower: Follower | None = None
        self.following: str | None = None
        self.filter = ""  # the log tail shows only lines containing it (any case)

    def compose(self) -> ComposeResult:
        yield Static(id="table")
        yield Static(id="message")
        log = RichLog(id="log", max_lines=2000, wrap=False, markup=False)
        log.can_focus = False  # the arrows select apps; a focused log would scroll instead
        # Above the log, not in it: a long tail must not scroll the app's name away.
        yield Static(id="loghead")
        yield log
        yield Input(id="filter", placeholder="show log lines containing… (enter; empty: all)")
        yield Static(FOOTER, id="keys")

    def on_mount(self) -> None:
        self.run_worker(self._follow_gaia(), exclusive=True, group="stream")
        self.set_interval(LOG_POLL, self._poll_log)

    async def _follow_gaia(self) -> None:
        try:
            async for snapshot in snapshots(self.socket):
                self.snapshot = snapshot
                if self.selected not in {app.name for app in snapshot.apps}:
                    self.selected = move(snapshot, None, 0)
                self._draw()
        except control.ControlError as exc:
            self.connected = False
            self._say(str(exc), "bold red")
            self._draw()

    def _draw(self) -> None:
        self.query_one("#table", Static).update(view(self.snapshot, self.selected, self.connected))

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#message", Static).update(Text(text, style=style))

    # -- keys ----------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        self.selected = move(self.snapshot, self.selected, step)
        self._draw()
        if self.following is not None:
            self._show_log(self.selected)

    def action_logs(self) -> None:
        shown = self.query_one("#log", RichLog).has_class("shown")
        for pane in self.query("#log, #loghead"):
            pane.set_class(not shown, "shown")
        self._show_log(None if shown else self.selected)

    def action_search(self) -> None:
        field = self.query_one("#filter", Input)
        for pane in self.query("#log, #loghead"):
            pane.add_class("shown")
        field.value = self.filter
        field.add_class("shown")
        # A field still hidden cannot take focus: after the refresh that shows it.
        self.call_after_refresh(field.focus)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.filter = event.value.strip()
        event.input.remove_class("shown")
        self.set_focus(None)  # the keys act on apps again
        self._show_log(self.selected)

    def action_help(self) -> None:
        self.push_screen(Overlay(help_text()))

    def action_plan(self) -> None:
        self.run_worker(self._plan(), group="plan")

    async def _plan(self) -> None:
        entries = await asyncio.to_thread(merged, self.log_dir, ["gaia"], EVENT_LINES, None)
        text = last_reload([entry.text for entry in entries])
        body = Text(text)
        if self.snapshot.config_error:
            body = Text(f"not applied now: {self.snapshot.config_error}\n\n", "red") + body
        self.push_screen(Overlay(Text("last reload\n\n", style="bold") + body))

    def action_stop(self) -> None:
        self._ask(f"Stop {self.selected}? It stays stopped until started.", "stop")

    def action_restart(self) -> None:
        self._ask(f"Restart {self.selected}?", "restart")

    def _ask(self, question: str, command: str) -> None:
        name = self.selected
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._send({"command": command, "apps": [name]}, f"{command} {name}")
            else:
                self._say(f"{command} {name}: cancelled")

        self.push_screen(Overlay(Text(f"{question}  y / n", style="bold")), answered)

    def action_start(self) -> None:
        if self.selected is not None:
            self._send({"command": "start", "apps": [self.selected]}, f"start {self.selected}")

    def action_scale(self, step: int) -> None:
        app = next((a for a in self.snapshot.apps if a.name == self.selected), None)
        if app is None or not app.workers_desired:
            return
        workers = max(1, app.workers_desired + step)
        self._send(
            {"command": "scale", "apps": [app.name], "workers": workers},
            f"scale {app.name} to {workers}",
        )

    def action_reload(self) -> None:
        self._send({"command": "reload"}, "reload")

    def _send(self, message: dict[str, Any], what: str) -> None:
        self._say(f"{what}…")
        self.run_worker(self._request(message, what), group="requests")

    async def _request(self, message: dict[str, Any], what: str) -> None:
        try:
            answer = await asyncio.to_thread(control.request, self.socket, message, LONG_REQUEST)
        except (control.ControlError, OSError) as exc:
            self._say(f"{what}: {exc}", "bold red")
            return
        if message["command"] == "reload":
            applied = answer["applied"]
            text = "applied: " + "; ".join(answer["plan"]) if applied else answer["errors"]
            self._say(f"reload: {text.splitlines()[0]}", "" if applied else "bold red")
            return
        self._say(f"{what}: done")

    # -- the log tail --------------------------------------------------------------------

    def _show_log(self, name: str | None) -> None:
        if self.follower is not None:
            self.follower.close()
        self.follower, self.following = None, name
        log = self.query_one("#log", RichLog)
        log.clear()
        if name is None:
            return
        path = self.log_dir / f"{name}.log"
        self.follower = Follower(path)
        shown = f", lines containing {self.filter!r}" if self.filter else ""
        head = Text(f"── {name}{shown} ({path})", style="bold", no_wrap=True, overflow="ellipsis")
        self.query_one("#loghead", Static).update(head)
        for entry in merged(self.log_dir, [name], LOG_LINES, None):
            if matches(entry.text, self.filter):
                log.write(Text(entry.text))

    def _poll_log(self) -> None:
        if self.follower is None:
            return
        log = self.query_one("#log", RichLog)
        for line in self.follower.poll():
            if matches(line, self.filter):
                log.write(Text(line))

    def on_unmount(self) -> None:
        if self.follower is not None:
            self.follower.close()
