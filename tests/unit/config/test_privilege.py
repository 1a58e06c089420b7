"""Without root, `user` and socket owners gaia could not switch to fail at `gaia check`."""

from __future__ import annotations

import grp
import pwd
from pathlib import Path

import pytest

from gaia_runner.config import ConfigError, load_config
from gaia_runner.config.privilege import Account

NOBODY = pwd.getpwnam("nobody")
AS_NOBODY = Account(uid=NOBODY.pw_uid, groups=frozenset({NOBODY.pw_gid}))
APP = '[apps.w]\napp = "m:a"\nbind = "unix:{dir}/w.sock"\n'


@pytest.mark.parametrize(
    ("gaia", "app", "key", "message"),
    [
        ("", 'user = "root"', "apps.w.user", "only root can run an app as 'root'"),
        ('[gaia]\nuser = "root"\n', "", "gaia.user", "only root can run apps as 'root'"),
        ("", 'socket_user = "root"', "apps.w.socket_user", "only root can give a socket to"),
        ("", 'socket_group = "root"', "apps.w.socket_group", "is not in group 'root'"),
    ],
)
def test_what_only_root_may_do_is_refused_without_root(
    tmp_path: Path, gaia: str, app: str, key: str, message: str
) -> None:
    path = tmp_path / "gaia.toml"
    path.write_text(gaia + APP.format(dir=tmp_path) + app + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, account=AS_NOBODY)
    found = {issue.key: issue.message for issue in info.value.issues}
    assert list(found) == [key]
    assert message in found[key]
    assert f"uid {NOBODY.pw_uid}" in found[key]
    load_config(path, account=Account(uid=0))  # root may


def test_its_own_account_and_groups_are_fine_without_root(tmp_path: Path) -> None:
    group = grp.getgrgid(NOBODY.pw_gid).gr_name
    path = tmp_path / "gaia.toml"
    owners = f'user = "nobody"\nsocket_user = "nobody"\nsocket_group = "{group}"\n'
    path.write_text(APP.format(dir=tmp_path) + owners)
    load_config(path, account=AS_NOBODY)
