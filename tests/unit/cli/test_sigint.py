"""`gaia up` started with SIGINT ignored (a script's `gaia up &`) takes SIGINT over at once."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from gaia_runner.cli import take_sigint


@pytest.fixture
def sigint_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_an_inherited_ignored_sigint_becomes_keyboard_interrupt(sigint_restored: None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    take_sigint()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_already_set_is_left_alone(sigint_restored: None) -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGINT, mine)
    take_sigint()
    assert signal.getsignal(signal.SIGINT) is mine
