"""docs/configuration.md, generated from the settings table.

Regenerate with ``python -m gaia_runner.config.reference > docs/configuration.md``;
a unit test fails while the file and the table disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from gaia_runner.config.settings import APP_SETTINGS, GAIA_SETTINGS, Apply, Apps, Setting

INTRO = """\
# gaia.toml reference

Generated from `gaia_runner/config/settings.py` (`python -m gaia_runner.config.reference >
docs/configuration.md`); [gaia-toml.md](gaia-toml.md) explains durations, sizes, `backoff`,
`memory`, `health`, the env merge order and env files.

**Edit applies** says what gaia does when the key is edited while it runs (`gaia reload`, or a
save of the file). An edit does the heaviest of its changed keys, and the reload plan in the log
names how each key was applied:

"""

_MODES = {
    Apply.NOTHING: "nothing runs differently.",
    Apply.IN_PLACE: "gaia's supervisor (or the socket gaia holds) takes the new value; no process "
    "is started or stopped, prestart does not run.",
    Apply.SCALE: "workers are added or retired in place (TTIN/TTOU, or copies of a command).",
    Apply.ROLL: "new workers, no prestart. A TLS file renewed under the same path is a HUP to "
    "the serving master (same master, new workers). So is an edit of what gunicorn reads from "
    "the config file gaia writes for it (it re-reads the file on HUP). Otherwise (uvicorn, "
    "whose HUP re-reads no option; `https`; an app run as another `user`, whose config is "
    "handed over once; dev mode) a new generation starts beside the serving one, which serves "
    "until the new one answers.",
    Apply.REPLACE: "prestart runs, then a new generation replaces the serving one without "
    "downtime.",
    Apply.RESTART_GAIA: "the edit is refused whole; restart gaia to change it.",
}


def _default(setting: Setting) -> str:
    if setting.default in ("none", "—", "gaia's") or setting.default.startswith(("`", "see ")):
        return setting.default
    return f"`{setting.default}`"


def _table(settings: Iterable[Setting], with_apps: bool) -> list[str]:
    head = "| Key | Type | Default | " + ("Apps | " if with_apps else "")
    lines = [head + "Edit applies | Meaning |", "|---" * (6 if with_apps else 5) + "|"]
    for s in settings:
        apps = f"{s.apps.value} | " if with_apps else ""
        applies = f"{s.apply.words}: {s.why}"
        lines.append(f"| `{s.key}` | {s.kind} | {_default(s)} | {apps}{applies} | {s.doc} |")
    return lines


def reference_markdown() -> str:
    lines = [INTRO.rstrip("\n"), ""]
    lines += [f"- **{mode.words}**: {_MODES[mode]}" for mode in Apply]
    lines += ["", "## `[gaia]`: runner-wide, all optional", ""]
    lines += _table(GAIA_SETTINGS, with_apps=False)
    lines += [
        "",
        "## `[apps.NAME]`: one per app",
        "",
        "Each app sets exactly one of `app` (a web app gaia serves) or `command` (a plain "
        "process). **Apps** says which take the key: `web` keys are refused in a `command` app.",
        "",
    ]
    lines += _table(APP_SETTINGS, with_apps=True)
    web_only = ", ".join(
        f"`{s.key}`" for s in APP_SETTINGS if s.apps is Apps.WEB and s.key != "app"
    )
    lines += ["", f"Web-only keys: {web_only}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown(), end="")
