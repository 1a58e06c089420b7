"""When to restart and when to give up: pure decisions over a clock-free history.

Time is passed in (monotonic seconds), never read, so the whole schedule is
unit-tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from gaia_runner.config.model import Backoff, RestartPolicy


@dataclass(frozen=True)
class Decision:
    restart: bool
    delay: float = 0.0
    fatal: bool = False


def backoff_delay(backoff: Backoff, attempt: int) -> float:
    """attempt 0 waits `initial`, then each attempt multiplies by `factor`, capped at `max`."""
    return float(min(backoff.max, backoff.initial * backoff.factor**attempt))


def policy_allows(policy: RestartPolicy, returncode: int | None, condemned: bool) -> bool:
    """`condemned`: gaia itself ended the tree (memory, health, crash loop), which is
    always a failure worth restarting unless the user said never."""
    if policy is RestartPolicy.NEVER:
        return False
    if policy is RestartPolicy.ALWAYS or condemned:
        return True
    return returncode != 0


class RestartTracker:
    def __init__(self, backoff: Backoff, max_start_failures: int) -> None:
        self.backoff = backoff
        self.max_start_failures = max_start_failures
        self.failed_starts = 0
        self.attempt = 0
        self.running_since: float | None = None

    def retune(self, backoff: Backoff, max_start_failures: int) -> None:
        """An edit of the settings keeps the history they are applied to."""
        self.backoff, self.max_start_failures = backoff, max_start_failures

    def reset(self) -> None:
        """A config change or `gaia restart` forgives the past."""
        self.failed_starts = 0
        self.attempt = 0
        self.running_since = None

    def mark_running(self, now: float) -> None:
        self.running_since = now
        self.failed_starts = 0

    def after_exit(
        self,
        now: float,
        *,
        policy: RestartPolicy,
        returncode: int | None,
        condemned: bool = False,
    ) -> Decision:
        reached_running = self.running_since is not None
        if reached_running:
            assert self.running_since is not None
            if now - self.running_since >= self.backoff.reset_after:
                self.attempt = 0
        else:
            self.failed_starts += 1
        self.running_since = None
        if not policy_allows(policy, returncode, condemned):
            return Decision(restart=False)
        if self.failed_starts >= self.max_start_failures:
            return Decision(restart=False, fatal=True)
        delay = backoff_delay(self.backoff, self.attempt)
        self.attempt += 1
        return Decision(restart=True, delay=delay)
