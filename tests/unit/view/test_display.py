from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from gaia_runner.logs.applog import AppLog
from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.display import (
    MAX_LINE_CHARS,
    DeferredDisplay,
    PlainDisplay,
    make_display,
)
from gaia_runner.view.events import EventLog, QuietDisplay, Timestamped, no_forward
from gaia_runner.view.live import TuiDisplay


def console(*, force_terminal: bool | None = None) -> Console:
    return Console(
        width=120,
        color_system=None,
        force_terminal=force_terminal,
        record=True,
        file=io.StringIO(),
    )


def test_tui_prints_markup_looking_output_literally() -> None:
    out = console()
    display = TuiDisplay(out)
    display.log_line("web", "", "[red]boom[/red] [bold]x :smile:")
    assert "web  | [red]boom[/red] [bold]x :smile:" in out.export_text()


def test_tui_prefixes_source_and_gaia_events() -> None:
    out = console()
    display = TuiDisplay(out)
    display.log_line("web", "prestart", "migrating")
    display.event("web: starting -> running")
    display.event("gaia: stopped")
    lines = out.export_text().splitlines()
    # One name column, as wide from the first line on; gaia's own events not "gaia: gaia:".
    assert lines == [
        "web  | [prestart] migrating",
        "gaia | web: starting -> running",
        "gaia | stopped",
    ]


def test_tui_strips_escape_sequences_from_app_output() -> None:
    file = io.StringIO()
    out = Console(color_system="standard", force_terminal=True, record=True, file=file)
    TuiDisplay(out).log_line("web", "", "\x1b[2J\x1b[Hplain \x1b[31mred\x1b[0m")
    raw = file.getvalue()
    assert "\x1b[2J" not in raw
    assert "\x1b[H" not in raw
    assert "\x1b[31m" not in raw  # the app's own red is gone...
    assert "\x1b[36m" in raw  # ...while gaia still colours the prefix
    assert "plain red" in out.export_text()


def test_tui_colours_apps_stably_and_distinctly() -> None:
    display = TuiDisplay(console())
    web, api = display.colour("web"), display.colour("api")
    assert web != api
    assert display.colour("web") == web


def test_tui_survives_a_huge_line() -> None:
    out = console()
    TuiDisplay(out).log_line("web", "", "x" * (MAX_LINE_CHARS * 5))
    text = out.export_text()
    assert "…" in text
    assert text.count("x") == MAX_LINE_CHARS


def test_tui_live_table_renders_latest_snapshot() -> None:
    out = console()
    display = TuiDisplay(out)
    display.start()
    display.update(Snapshot(apps=(AppSnapshot("web", "gunicorn", AppState.STARTING),)))
    display.update(Snapshot(apps=(AppSnapshot("web", "gunicorn", AppState.RUNNING),)))
    shown = "".join(segment.text for line in out.render_lines(display._shown) for segment in line)
    assert "running" in shown
    assert "starting" not in shown
    display.stop()
    # Nothing stale after exit: the live region is erased, not left as a last frame.
    assert display._live.transient


def test_plain_prefixes_every_line() -> None:
    stream = io.StringIO()
    display = PlainDisplay(stream)
    display.start()
    display.log_line("web", "", "[red]hello[/red]")
    display.log_line("web", "prestart", "migrating")
    display.event("config error:\n  line 3")
    display.update(Snapshot(apps=(AppSnapshot("web", "gunicorn", AppState.RUNNING),)))
    display.stop()
    assert stream.getvalue() == (
        "web | [red]hello[/red]\nweb:prestart | migrating\ngaia | config error:\ngaia |   line 3\n"
    )


def test_plain_cleans_control_characters_and_bad_text() -> None:
    stream = io.StringIO()
    PlainDisplay(stream).log_line("web", "", "\x1b[1mbold\x1b[0m\x07 \udcff")
    assert stream.getvalue() == "web | bold ?\n"


def test_plain_degrades_on_an_ascii_stream() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    PlainDisplay(stream).log_line("web", "", "café")
    assert raw.getvalue() == b"web | caf?\n"


def test_make_display_explicit_modes() -> None:
    assert isinstance(make_display("plain", console()), PlainDisplay)
    assert isinstance(make_display("tui", console()), DeferredDisplay)


def test_the_live_table_is_created_at_its_first_update_and_replays_what_came_before() -> None:
    made: list[PlainDisplay] = []
    out = io.StringIO()

    def create() -> PlainDisplay:
        made.append(PlainDisplay(out))
        return made[0]

    display = DeferredDisplay(create)
    display.start()
    display.event("first")
    display.log_lines("web", "", ["a", "b"])
    assert made == [] and out.getvalue() == ""
    display.update(Snapshot(apps=(), config_error=None))
    display.event("after")
    assert len(made) == 1
    assert out.getvalue() == "gaia | first\nweb | a\nweb | b\ngaia | after\n"


def test_a_deferred_display_never_updated_still_shows_everything_at_stop() -> None:
    out = io.StringIO()
    display = DeferredDisplay(lambda: PlainDisplay(out))
    display.event("bind failed")
    display.stop()
    assert out.getvalue() == "gaia | bind failed\n"


@pytest.mark.parametrize(
    ("terminal", "env", "expected"),
    [
        (True, {"TERM": "xterm-256color"}, DeferredDisplay),
        (False, {"TERM": "xterm-256color"}, PlainDisplay),
        (True, {"TERM": "xterm-256color", "CI": "true"}, PlainDisplay),
        (True, {"TERM": "dumb"}, PlainDisplay),
    ],
)
def test_make_display_auto(
    monkeypatch: pytest.MonkeyPatch,
    terminal: bool,
    env: dict[str, str],
    expected: type[DeferredDisplay | PlainDisplay],
) -> None:
    monkeypatch.delenv("CI", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    display = make_display("auto", console(force_terminal=terminal))
    assert isinstance(display, expected)


def test_plain_survives_a_closed_stream() -> None:
    stream = io.StringIO()
    stream.close()
    PlainDisplay(stream).log_line("web", "", "nobody listens")


def test_plain_batch_is_cleaned_and_cut_per_line() -> None:
    stream = io.StringIO()
    long = "y" * (MAX_LINE_CHARS + 5)
    PlainDisplay(stream).log_lines("web", "", ["a\tb", "50%\r100%", "\x1b]0;t", long, "ok\r"])
    assert stream.getvalue().split("\n") == [
        "web | a       b",
        "web | 100%",
        "web | ",
        "web | " + "y" * MAX_LINE_CHARS + "…",
        "web | ok",
        "",
    ]


def test_only_the_live_table_asks_for_snapshots(tmp_path: Path) -> None:
    log = AppLog("gaia", tmp_path, no_forward)
    plain = PlainDisplay(io.StringIO())
    assert not plain.shows_status and not QuietDisplay().shows_status
    assert not EventLog(Timestamped(plain), log).shows_status
    assert EventLog(Timestamped(TuiDisplay(console())), log).shows_status
    log.close()
