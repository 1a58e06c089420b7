"""The control socket's answers, typed as its requests are (control.Request).

Each is a plain JSON object on the wire; the server adds `protocol` (control.PROTOCOL) and
`gaia` (its version) to every one, so a CLI can tell which gaia answered. Fields are only
ever added; a removal or a change of meaning bumps control.PROTOCOL.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Versioned(TypedDict):
    protocol: NotRequired[int]
    gaia: NotRequired[str]


class ErrorAnswer(Versioned):
    error: str


class StatusAnswer(Versioned):
    snapshot: dict[str, Any]  # model.snapshot.Snapshot.to_json()


class StopAnswer(Versioned):
    stopped: list[str]


class StartAnswer(Versioned):
    started: list[str]
    already_running: list[str]


class RestartAnswer(Versioned):
    restarted: list[str]


class ScaleAnswer(Versioned):
    app: str
    workers: int  # `scale APP auto`: the count adaptive workers start from
    was: int
    in_file: int
    adaptive: NotRequired[str]  # "min-max", only for an app with `workers = { min, max }`


class ReloadApplied(Versioned):
    applied: Literal[True]
    plan: list[str]  # how each change was applied


class ReloadRejected(Versioned):
    applied: Literal[False]
    errors: str


class ShutdownAnswer(Versioned):
    stopping: bool


class SubscribeAnswer(Versioned):
    """`subscribe` (`gaia top`) keeps its connection: this first line (or an ErrorAnswer),
    then one SnapshotLine per change (subscribers.py)."""

    subscribed: Literal[True]


class SnapshotLine(TypedDict):
    snapshot: dict[str, Any]  # model.snapshot.Snapshot.to_json()


ReloadAnswer = ReloadApplied | ReloadRejected
Answer = (
    ErrorAnswer
    | StatusAnswer
    | StopAnswer
    | StartAnswer
    | RestartAnswer
    | ScaleAnswer
    | ReloadAnswer
    | ShutdownAnswer
)
SubscribeHeader = SubscribeAnswer | ErrorAnswer
