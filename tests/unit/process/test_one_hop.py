from __future__ import annotations

from pathlib import Path

import pytest
from app_configs import make_app as make

from gaia_runner.config.model import Bind, BindKind, ServerKind, WorkerClass
from gaia_runner.process.launch import trusts_last_hop
from gaia_runner.process.one_hop import last_hop

UNIX = (Bind(kind=BindKind.UNIX, path=Path("/run/app/web.sock")),)
OTHER = [(b"host", b"x")]


@pytest.mark.parametrize(
    ("values", "kept"),
    [
        ([b"6.6.6.6, 10.0.0.2"], b"10.0.0.2"),
        ([b"6.6.6.6", b"10.0.0.2"], b"10.0.0.2"),  # two header lines count as one list
        ([b"10.0.0.2"], b"10.0.0.2"),
    ],
)
def test_only_the_last_forwarded_for_entry_is_kept(values: list[bytes], kept: bytes) -> None:
    headers = [*OTHER, *((b"x-forwarded-for", value) for value in values)]
    assert last_hop(headers) == [*OTHER, (b"x-forwarded-for", kept)]


def test_headers_without_forwarded_for_are_untouched() -> None:
    assert last_hop(OTHER) is OTHER


def test_only_gaias_default_trust_in_a_uvicorn_worker_believes_one_hop() -> None:
    assert trusts_last_hop(make(bind=UNIX, server=ServerKind.UVICORN, worker_class=None))
    assert trusts_last_hop(make(bind=UNIX, worker_class=WorkerClass.UVICORN))
    assert not trusts_last_hop(make(bind=UNIX, worker_class=WorkerClass.SYNC))
    assert not trusts_last_hop(make(worker_class=WorkerClass.UVICORN))  # TCP: server default
    assert not trusts_last_hop(
        make(bind=UNIX, worker_class=WorkerClass.UVICORN, forwarded_allow_ips=("*",))
    )
