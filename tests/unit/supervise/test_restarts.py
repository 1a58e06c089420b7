"""The restart schedule and the FATAL edge, against time passed in as plain numbers."""

from __future__ import annotations

import pytest

from gaia_runner.config.model import Backoff, RestartPolicy
from gaia_runner.model.state import TRANSITIONS, AppState, IllegalTransition, check_transition
from gaia_runner.supervise.restarts import RestartTracker, backoff_delay, policy_allows

BACKOFF = Backoff(initial=1.0, factor=2.0, max=60.0, reset_after=60.0)


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [backoff_delay(BACKOFF, n) for n in range(9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_failed_starts_back_off_then_go_fatal() -> None:
    tracker = RestartTracker(BACKOFF, max_start_failures=5)
    now = 0.0
    delays = []
    for _ in range(4):
        decision = tracker.after_exit(now, policy=RestartPolicy.ALWAYS, returncode=1)
        assert decision.restart and not decision.fatal
        delays.append(decision.delay)
        now += decision.delay + 0.5
    assert delays == [1, 2, 4, 8]
    final = tracker.after_exit(now, policy=RestartPolicy.ALWAYS, returncode=1)
    assert final.fatal and not final.restart


def test_a_run_that_reached_running_is_not_a_failed_start() -> None:
    tracker = RestartTracker(BACKOFF, max_start_failures=2)
    tracker.after_exit(0.0, policy=RestartPolicy.ALWAYS, returncode=1)
    tracker.mark_running(1.0)
    decision = tracker.after_exit(5.0, policy=RestartPolicy.ALWAYS, returncode=-9)
    assert decision.restart and decision.delay == 2.0  # still backing off: it ran only 4 s
    assert tracker.failed_starts == 0


def test_backoff_resets_after_a_long_healthy_run() -> None:
    tracker = RestartTracker(BACKOFF, max_start_failures=5)
    for t in range(3):
        tracker.after_exit(float(t), policy=RestartPolicy.ALWAYS, returncode=1)
    tracker.mark_running(10.0)
    decision = tracker.after_exit(10.0 + 60.0, policy=RestartPolicy.ALWAYS, returncode=1)
    assert decision.delay == 1.0


def test_reset_forgives_a_fatal_history() -> None:
    tracker = RestartTracker(BACKOFF, max_start_failures=1)
    assert tracker.after_exit(0.0, policy=RestartPolicy.ALWAYS, returncode=1).fatal
    tracker.reset()
    assert tracker.failed_starts == 0 and tracker.attempt == 0


@pytest.mark.parametrize(
    ("policy", "code", "condemned", "expected"),
    [
        (RestartPolicy.ALWAYS, 0, False, True),
        (RestartPolicy.ON_FAILURE, 0, False, False),
        (RestartPolicy.ON_FAILURE, 1, False, True),
        (RestartPolicy.ON_FAILURE, None, True, True),
        (RestartPolicy.NEVER, 1, False, False),
        (RestartPolicy.NEVER, None, True, False),
    ],
)
def test_policy(policy: RestartPolicy, code: int | None, condemned: bool, expected: bool) -> None:
    assert policy_allows(policy, code, condemned) is expected


def test_never_policy_stays_down_without_fatal() -> None:
    tracker = RestartTracker(BACKOFF, max_start_failures=5)
    decision = tracker.after_exit(0.0, policy=RestartPolicy.NEVER, returncode=1)
    assert not decision.restart and not decision.fatal


def test_every_state_has_an_entry_and_terminal_states_can_be_left() -> None:
    assert set(TRANSITIONS) == set(AppState)
    for terminal in (AppState.FAILED, AppState.FATAL):
        assert AppState.STARTING in TRANSITIONS[terminal]


def test_illegal_edges_are_refused() -> None:
    check_transition(AppState.STARTING, AppState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_transition(AppState.STOPPED, AppState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_transition(AppState.FATAL, AppState.RUNNING)
