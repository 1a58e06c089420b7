"""The per-app state machine: every legal edge is written down here, once."""

from __future__ import annotations

from enum import StrEnum


class AppState(StrEnum):
    STOPPED = "stopped"
    PRESTART = "prestart"
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    FAILED = "failed"
    FATAL = "fatal"
    # Shown only: gaia has not started the app yet, a dependency (depends_on) is not
    # there. No supervisor exists for it, so no edge leads in or out.
    WAITING = "waiting"

    @property
    def is_up(self) -> bool:
        """True while a process tree (or its prestart) may exist."""
        return self in (AppState.PRESTART, AppState.STARTING, AppState.RUNNING, AppState.STOPPING)


S = AppState

TRANSITIONS: dict[AppState, frozenset[AppState]] = {
    # STOPPED -> PRESTART: prestart steps run before the server starts.
    # STOPPED -> STARTING: no prestart steps.
    # STOPPED -> BACKOFF / FATAL: supervising itself failed (an internal error) while
    # nothing ran; the app is retried like a crashed one, or given up on.
    S.STOPPED: frozenset({S.PRESTART, S.STARTING, S.BACKOFF, S.FATAL}),
    # PRESTART -> STARTING: every step exited 0.
    # PRESTART -> FAILED: a step failed or timed out; the server never starts.
    # PRESTART -> STOPPING: gaia is shutting down (or the app was removed) mid-prestart.
    # PRESTART -> BACKOFF / FATAL: a step could not be spawned at all (its cwd swapped
    # away, EMFILE): a failed start, retried like one, or the last one allowed.
    S.PRESTART: frozenset({S.STARTING, S.FAILED, S.STOPPING, S.BACKOFF, S.FATAL}),
    # STARTING -> RUNNING: an HTTP request through the app's socket was answered.
    # STARTING -> BACKOFF: the tree died or never served in time; a retry is scheduled.
    # STARTING -> FATAL: that was the last allowed failed start.
    # STARTING -> FAILED: it died and the restart policy says stay down.
    # STARTING -> STOPPING: stop requested.
    S.STARTING: frozenset({S.RUNNING, S.BACKOFF, S.FATAL, S.FAILED, S.STOPPING}),
    # RUNNING -> BACKOFF: the tree died (or was condemned by memory/health checks).
    # RUNNING -> FAILED: it died and the restart policy says stay down.
    # RUNNING -> STOPPING: stop requested, or a restart begins with a graceful stop.
    S.RUNNING: frozenset({S.BACKOFF, S.FAILED, S.STOPPING}),
    # BACKOFF -> PRESTART / STARTING: the delay elapsed.
    # BACKOFF -> STOPPED: stop requested while waiting; nothing is running.
    S.BACKOFF: frozenset({S.PRESTART, S.STARTING, S.STOPPED}),
    # STOPPING -> STOPPED: the process group is gone (or a one-shot command completed:
    # exit 0 under restart = "never"/"on-failure").
    # STOPPING -> BACKOFF: a restart (memory, health, crash loop) stopped the tree first.
    # STOPPING -> FAILED / FATAL: a condemned tree was stopped and no retry is due.
    S.STOPPING: frozenset({S.STOPPED, S.BACKOFF, S.FAILED, S.FATAL}),
    # FAILED / FATAL -> PRESTART / STARTING: the config changed or `gaia restart`.
    # FAILED / FATAL -> STOPPED: stop requested; nothing was running.
    S.FAILED: frozenset({S.PRESTART, S.STARTING, S.STOPPED}),
    S.FATAL: frozenset({S.PRESTART, S.STARTING, S.STOPPED}),
    S.WAITING: frozenset(),
}


class IllegalTransition(RuntimeError):
    def __init__(self, current: AppState, target: AppState) -> None:
        super().__init__(f"illegal state transition {current.name} -> {target.name}")
        self.current = current
        self.target = target


def check_transition(current: AppState, target: AppState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
