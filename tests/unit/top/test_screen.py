"""`gaia top`'s view is a pure function of a snapshot and the selection: drawn here into a
plain 80-column console, as the terminal test sees it under tmux."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.top.screen import FOOTER, help_text, last_reload, matches, move, view

SNAPSHOT = Snapshot(
    apps=(
        AppSnapshot("web", "gunicorn", AppState.RUNNING, workers_live=2, workers_desired=2),
        AppSnapshot("api", "uvicorn", AppState.STOPPED, stopped_by_request=True),
        AppSnapshot("jobs", "command", AppState.FATAL, detail="exited 3"),
    ),
    config_path="/srv/gaia.toml",
)


def draw(snapshot: Snapshot, selected: str | None, colour: bool = False) -> str:
    console = Console(
        width=80, color_system="standard" if colour else None, file=io.StringIO(), record=True
    )
    console.print(view(snapshot, selected))
    return console.export_text(styles=colour)


def test_every_app_is_a_row_under_a_title_at_80_columns() -> None:
    lines = draw(SNAPSHOT, "web").splitlines()
    assert lines[0].split() == ["gaia", "top", "1/3", "running", "/srv/gaia.toml"]
    rows = [line.split()[0] for line in lines if line.split()[:1] in (["web"], ["api"], ["jobs"])]
    assert rows[:3] == ["web", "api", "jobs"]  # config order, as the snapshot has them
    assert all(len(line) <= 80 for line in lines)
    long_path = Snapshot(apps=SNAPSHOT.apps, config_path="/" + "x" * 200 + "/gaia.toml")
    assert draw(long_path, None).splitlines()[0].startswith("gaia top  1/3 running  /xxx")
    assert any("jobs fatal: exited 3" in line for line in lines)  # why it is down, as in `up`


def test_only_the_selected_row_is_reversed() -> None:
    coloured = draw(SNAPSHOT, "api", colour=True).splitlines()
    reversed_rows = [line for line in coloured if "\x1b[7m" in line]
    assert len(reversed_rows) == 1 and "api" in reversed_rows[0]


def test_the_selection_moves_within_the_list_and_survives_a_removed_app() -> None:
    assert move(SNAPSHOT, "web", 1) == "api"
    assert move(SNAPSHOT, "jobs", 1) == "jobs"
    assert move(SNAPSHOT, "web", -1) == "web"
    assert move(SNAPSHOT, "gone", 1) == "web"
    assert move(Snapshot(apps=()), "web", 1) is None


def test_the_help_names_every_key_and_the_footer_fits_80_columns() -> None:
    text = help_text().plain
    for key in ("↑/↓", "enter/l", "/ ", "r ", "x ", "s ", "+/-", "R ", "p ", "?", "q "):
        assert f"  {key}" in text, key
    assert len(FOOTER) <= 80


def test_the_last_reload_is_its_plan_or_its_refusal_with_reasons() -> None:
    events = [
        "gaia: started 2 app(s)",
        "gaia: reload plan: web: unchanged; api: restart",
        "gaia: gaia.toml not applied, apps unchanged:",
        "gaia:   gaia.toml: [apps.web] workers: expected an integer",
        "gaia: stop requested for web",
    ]
    assert last_reload(events).splitlines() == events[2:4]
    assert last_reload(events[:2]) == events[1]
    assert "no reload" in last_reload(events[:1])


def test_without_textual_top_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gaia_runner.cli import top

    monkeypatch.setitem(sys.modules, "textual", None)
    monkeypatch.delitem(sys.modules, "gaia_runner.top.app", raising=False)
    with pytest.raises(SystemExit) as exited:
        top.top()
    assert exited.value.code == 2


def test_the_log_filter_is_a_plain_substring_in_any_case() -> None:
    assert matches("[INFO] Booting worker with pid: 7", "booting")
    assert matches("anything", "")
    assert not matches("GET /a.b 200", "a*b")  # no pattern syntax
