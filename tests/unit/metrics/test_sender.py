"""A worker's sender on a real socketpair: late batches are kept, a lost channel is said once."""

from __future__ import annotations

import os
import socket

import pytest

from gaia_runner.metrics.recorder import (
    LAST_FLUSH_WAIT,
    Recorder,
    Sender,
    open_channel,
    wait_writable,
)
from gaia_runner.metrics.wire import CHANNEL_ENV, decode


def test_batches_arrive_and_a_full_queue_keeps_them_for_later() -> None:
    gaia_end, workers_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    recorder = Recorder("web")
    sender = Sender(recorder, workers_end, interval=1.0)
    try:
        gaia_end.setblocking(False)
        workers_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)  # the kernel's minimum
        sent = 0
        # gaia does not read: the buffer fills, and what did not fit is merged and kept.
        for _ in range(200):
            recorder.record(200, 0.001)
            sent += 1
            sender.flush()
        received = 0
        while True:
            try:
                batch = decode(gaia_end.recv(65536))
            except BlockingIOError:
                break
            assert batch is not None
            received += batch.count
        assert 0 < received < sent
        sender.flush()  # room again: the kept sums go out in one batch
        batch = decode(gaia_end.recv(65536))
        assert batch is not None
        assert received + batch.count == sent
    finally:
        gaia_end.close()
        workers_end.close()


def test_a_channel_gaia_closed_is_reported_once(capsys: pytest.CaptureFixture[str]) -> None:
    gaia_end, workers_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    gaia_end.close()
    recorder = Recorder("web")
    sender = Sender(recorder, workers_end, interval=1.0)
    try:
        for _ in range(3):
            recorder.record(200, 0.001)
            sender.flush()
    finally:
        workers_end.close()
    err = capsys.readouterr().err
    assert err.count("cannot reach gaia") == 1, err
    assert "its requests are not counted" in err


@pytest.mark.parametrize("value", ["not-a-number", "999"])
def test_an_unusable_channel_fd_is_reported(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(CHANNEL_ENV, value)
    assert open_channel() is None
    err = capsys.readouterr().err
    assert "cannot reach gaia" in err
    assert value not in err.replace(str(os.getpid()), "")  # no env value in the output


def test_a_file_is_not_a_channel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read_end, write_end = os.pipe()
    try:
        monkeypatch.setenv(CHANNEL_ENV, str(read_end))
        assert open_channel() is None
        assert "not a socket" in capsys.readouterr().err
    finally:
        os.close(read_end)
        os.close(write_end)


def _drain(gaia_end: socket.socket) -> int:
    counted = 0
    while True:
        try:
            batch = decode(gaia_end.recv(65536))
        except BlockingIOError:
            return counted
        assert batch is not None
        counted += batch.count


def test_a_workers_last_flush_waits_for_room_instead_of_dropping_its_sums() -> None:
    """Issue 19.12: an exiting worker has no next batch to merge into; with gaia behind
    (busy with a replace), its one attempt used to drop the sums."""
    gaia_end, workers_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    gaia_end.setblocking(False)
    workers_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
    received: list[int] = []

    def gaia_catches_up(channel: socket.socket, seconds: float) -> bool:
        # gaia reads what is queued while the worker waits: the real POLLOUT then says so.
        received.append(_drain(gaia_end))
        return wait_writable(channel, seconds)

    recorder = Recorder("web")
    sender = Sender(recorder, workers_end, interval=1.0, writable=gaia_catches_up)
    try:
        sent = 0
        for _ in range(200):  # periodic flushes (no wait) until the buffer is full
            recorder.record(200, 0.001)
            sent += 1
            sender.flush()
        assert not received  # nothing has waited yet
        recorder.record(200, 0.001)
        sent += 1
        sender.last_flush()
        received.append(_drain(gaia_end))
        assert received[0] > 0, "the last flush waited for gaia to read"
        assert sum(received) == sent
    finally:
        gaia_end.close()
        workers_end.close()


def test_a_last_flush_gives_up_when_gaia_never_reads() -> None:
    gaia_end, workers_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    workers_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
    waits: list[float] = []

    def never(channel: socket.socket, seconds: float) -> bool:
        waits.append(seconds)
        return False

    recorder = Recorder("web")
    sender = Sender(recorder, workers_end, interval=1.0, writable=never)
    try:
        for _ in range(200):
            recorder.record(200, 0.001)
            sender.last_flush()
        assert waits and all(0 < w <= LAST_FLUSH_WAIT for w in waits)
        assert recorder.take() is not None  # kept, never lost by the attempt itself
    finally:
        gaia_end.close()
        workers_end.close()
