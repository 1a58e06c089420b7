"""The live view redraws only for a visible change and prints log lines in batches."""

from __future__ import annotations

import asyncio
import dataclasses
import io

from rich.console import Console

from gaia_runner.model.snapshot import AppSnapshot, Snapshot
from gaia_runner.model.state import AppState
from gaia_runner.view.live import BATCH_SECONDS, TuiDisplay, fingerprint


def console() -> Console:
    return Console(width=120, color_system=None, record=True, file=io.StringIO())


def snapshot(**fields: object) -> Snapshot:
    app = AppSnapshot("web", "gunicorn", AppState.RUNNING, pid=10, uptime_seconds=3.2)
    return Snapshot(apps=(dataclasses.replace(app, **fields),))  # type: ignore[arg-type]


def test_fingerprint_ignores_what_the_table_does_not_show() -> None:
    assert fingerprint(snapshot(uptime_seconds=3.2)) == fingerprint(snapshot(uptime_seconds=3.9))
    assert fingerprint(snapshot(cpu_percent=1.2)) == fingerprint(snapshot(cpu_percent=0.9))


def test_fingerprint_changes_with_what_the_table_shows() -> None:
    assert fingerprint(snapshot(uptime_seconds=3.2)) != fingerprint(snapshot(uptime_seconds=4.2))
    assert fingerprint(snapshot(cpu_percent=1.0)) != fingerprint(snapshot(cpu_percent=12.0))
    assert fingerprint(snapshot()) != fingerprint(snapshot(state=AppState.FAILED))
    assert fingerprint(snapshot()) != fingerprint(snapshot(restarts=1))


def test_an_unchanged_table_is_not_laid_out_again() -> None:
    display = TuiDisplay(console())
    display.update(snapshot(uptime_seconds=3.2))
    shown = display._shown
    display.update(snapshot(uptime_seconds=3.7))
    assert display._shown is shown
    display.update(snapshot(uptime_seconds=5.0))
    assert display._shown is not shown


def test_log_lines_wait_for_the_batch_and_keep_their_order() -> None:
    out = console()
    display = TuiDisplay(out)

    async def chatty() -> tuple[str, str]:
        display.log_lines("web", "", ["one", "two"])
        display.log_lines("api", "", ["three"])
        before = out.export_text(clear=False)
        await asyncio.sleep(BATCH_SECONDS * 3)
        return before, out.export_text()

    before, after = asyncio.run(chatty())
    assert before == ""
    assert after.splitlines() == ["web  | one", "web  | two", "api  | three"]


def test_an_event_flushes_pending_lines_first() -> None:
    out = console()
    display = TuiDisplay(out)

    async def run() -> None:
        display.log_lines("web", "", ["line"])
        display.event("web: running -> stopping")

    asyncio.run(run())
    assert out.export_text().splitlines() == ["web  | line", "gaia | web: running -> stopping"]


def test_a_table_taller_than_the_terminal_lays_out_only_the_rows_it_shows() -> None:
    """200 idle apps: every redraw laid out 200 rows for a 40-line terminal to crop."""
    apps = [
        AppSnapshot(f"a{n}", "command", AppState.FAILED if n == 150 else AppState.RUNNING)
        for n in range(200)
    ]
    out = Console(width=120, height=40, color_system=None, record=True, file=io.StringIO())
    display = TuiDisplay(out)
    display.update(Snapshot(apps=tuple(apps)))
    shown = display._shown
    lines = out.render_lines(shown, out.options, pad=False)
    assert len(lines) <= 40
    rows = ["".join(segment.text for segment in line) for line in lines]
    names = {row.split(" ", 1)[0] for row in rows}
    assert {"a150", "a0"} <= names  # the failed app is never the row left out
    assert "a199" not in names
    assert "168 more running apps not shown: `gaia status` lists every one" in rows


def test_long_lines_fold_between_words_under_the_name_column() -> None:
    """At 80 columns a gunicorn line wrapped mid-word ("listenin" / "g at")."""
    out = Console(width=80, color_system=None, record=True, file=io.StringIO())
    display = TuiDisplay(out)
    display.update(snapshot())
    line = (
        "[2026-12-05 23:25:33 +0000] [6620] [INFO] Control socket listening at "
        "/srv/app/.gaia/run/web.g1.ctl and some more words to fill the row past eighty"
    )
    display.log_line("web", "", line)
    display.flush()
    rows = [row for row in out.export_text().splitlines() if "|" in row]
    assert all(len(row) <= 80 for row in rows)
    # The server's stamp goes (gaia stamps its log files); the rest reads whole words.
    assert rows[0].startswith("web  | [6620] [INFO] Control socket listening at")
    assert all(row.startswith("     | ") for row in rows[1:])
    words = " ".join(row[7:] for row in rows).split()
    assert words == line.split()[3:]


def test_the_name_column_is_fixed_by_the_first_table() -> None:
    """It used to widen when a longer name first printed, misaligning what was above."""
    out = console()
    display = TuiDisplay(out)
    apps = (
        AppSnapshot("web", "gunicorn", AppState.RUNNING),
        AppSnapshot("reports", "command", AppState.RUNNING),
    )
    display.update(Snapshot(apps=apps))
    display.log_line("web", "", "one")
    display.log_line("reports", "", "two")
    display.log_line("a-very-long-name-added-by-a-reload", "", "three")
    display.flush()
    assert out.export_text().splitlines() == [
        "web     | one",
        "reports | two",
        "a-very… | three",  # an app added later is cut, not a wider column
    ]
