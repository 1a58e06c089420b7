"""Checks that touch the disk: directories, env files and TLS material.

Run only with ``check_files=True``: commands such as ``gaia stop`` must work
even when a certificate has since gone missing. Env files are read here, once
each, and handed to the builder so their contents are parsed in one place.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
from collections.abc import Mapping
from pathlib import Path

from gaia_runner.config.binds import parse_bind
from gaia_runner.config.envfile import read_env_file
from gaia_runner.config.errors import ConfigIssue
from gaia_runner.config.inputs import TLS_LIMIT, InputError, ReadAs, read_input
from gaia_runner.config.locate import KeyPath
from gaia_runner.config.model import BindKind
from gaia_runner.config.reporter import Reporter

EnvFiles = dict[Path, dict[str, str]]
DEFAULT_STATE_DIR = ".gaia"
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)\s*$")


def resolve_path(text: str, base: Path) -> Path:
    """An absolute, normalised path; relative ones are taken from ``base``.

    ValueError for ``~user`` with no such user or a NUL character (raw.py reports both).
    """
    if "\0" in text:
        raise ValueError("a path cannot contain a NUL character")
    try:
        expanded = Path(text).expanduser()
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None
    return Path(os.path.normpath(base / expanded))


def _resolved(value: object, base: Path) -> Path | None:
    """The path the user meant, or None when the type check has already reported it."""
    if not isinstance(value, str):
        return None
    try:
        return resolve_path(value, base)
    except ValueError:
        return None


def _is_dir(path: Path) -> bool | str:
    """Whether ``path`` is a directory; a string says why it cannot even be looked at.

    Path.is_dir()/exists() raise on EACCES (say /proc/1/root, whose link only a process
    allowed to ptrace pid 1 may follow): that is the user's path, not a bug in gaia.
    """
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        return f"cannot reach {path}: {exc.strerror or type(exc).__name__}"


def check_files(data: Mapping[str, object], base: Path, report: Reporter) -> EnvFiles:
    """Report missing or unusable files; return the env files that parsed cleanly."""
    env_files: EnvFiles = {}
    seen: set[tuple[Path, ReadAs | None]] = set()
    raw_gaia = data.get("gaia")
    gaia: Mapping[str, object] = raw_gaia if isinstance(raw_gaia, dict) else {}
    # Every app gets [gaia].env_file: as root, it must be root's alone, like gaia.toml.
    shared = gaia.get("env_file")
    _load_env(("gaia", "env_file"), shared, base, report, env_files, seen, trusted=True)
    state_dir = _resolved(gaia.get("state_dir", DEFAULT_STATE_DIR), base)
    problem = None if state_dir is None else state_dir_problem(state_dir)
    if problem is not None:
        report.error(("gaia", "state_dir"), problem)
    apps = data.get("apps")
    if not isinstance(apps, dict):
        return env_files
    for name, app in apps.items():
        if not isinstance(app, dict):
            continue
        here: KeyPath = ("apps", name)
        path = _resolved(app.get("cwd"), base)
        is_dir = True if path is None else _is_dir(path)
        if isinstance(is_dir, str):
            report.error((*here, "cwd"), is_dir)
        elif path is not None and not is_dir:
            problem = "is not a directory" if os.path.lexists(path) else "does not exist"
            report.error((*here, "cwd"), f"directory {path} {problem}")
        # An app's own inputs are read as its user (a symlink reaches only what that
        # user could read); an app that runs as root gets them under gaia.toml's rules.
        as_user = _app_user(app, gaia)
        _load_env(
            (*here, "env_file"),
            app.get("env_file"),
            base,
            report,
            env_files,
            seen,
            as_user=as_user,
            trusted=as_user is None,
        )
        https = app.get("https")
        if isinstance(https, dict):
            _check_tls((*here, "https"), https, base, report, as_user)
        _check_socket_dirs(here, app.get("bind"), base, report)
    return env_files


def state_dir_problem(path: Path) -> str | None:
    """Why gaia could not create or write ``path`` at startup, or None if it can.

    Checked here so that `gaia check` catches it, not `gaia up` halfway through starting.
    """
    existing = path
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    is_dir = _is_dir(existing)
    if isinstance(is_dir, str):
        return is_dir
    if not is_dir:
        if existing == path:
            return f"{path} is a file, expected a directory"
        return f"cannot create {path}: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == path:
            return f"{path} is not writable"
        return f"cannot create {path}: {existing} is not writable"
    return None


def input_problem(exc: InputError) -> str:
    """A config message for an input that could not be read."""
    if exc.reason == "does not exist":
        return f"file not found: {exc.path}"
    return f"{exc.path} {exc.reason}"


def _load_env(
    key: KeyPath,
    value: object,
    base: Path,
    report: Reporter,
    env_files: EnvFiles,
    seen: set[tuple[Path, ReadAs | None]],
    *,
    as_user: ReadAs | None = None,
    trusted: bool = False,
) -> None:
    path = _resolved(value, base)
    if path is None or (path, as_user) in seen:
        # Shared by several apps: report its problems once, not once per app.
        return
    seen.add((path, as_user))
    try:
        values, problems = read_env_file(path, as_user=as_user, trusted=trusted)
    except InputError as exc:
        report.error(key, input_problem(exc))
        return
    for p in problems:
        report.add(ConfigIssue(path, p.line, p.key, p.message))
    if not problems:
        env_files[path] = values


def _app_user(app: Mapping[str, object], gaia: Mapping[str, object]) -> ReadAs | None:
    user = app.get("user", gaia.get("user"))
    return ReadAs.for_user(user) if isinstance(user, str) else None


def _check_tls(
    here: KeyPath,
    https: Mapping[str, object],
    base: Path,
    report: Reporter,
    as_user: ReadAs | None,
) -> None:
    pems: dict[str, tuple[Path, bytes]] = {}
    for key in ("certfile", "keyfile", "ca_certs"):
        path = _resolved(https.get(key), base)
        if path is None:
            continue
        try:
            data = read_input(path, what=key, limit_bytes=TLS_LIMIT, as_user=as_user)
        except InputError as exc:
            report.error((*here, key), input_problem(exc))
            continue
        pems[key] = (path, data)
    certfile, keyfile, ca_certs = (pems.get(k) for k in ("certfile", "keyfile", "ca_certs"))
    if certfile is not None:
        cert_ok = _check_pem_certs((*here, "certfile"), *certfile, report)
        if cert_ok and keyfile is not None:
            _check_key_pair((*here, "keyfile"), certfile[1], keyfile, report)
    if ca_certs is not None:
        _check_pem_certs((*here, "ca_certs"), *ca_certs, report)


def _ssl_reason(exc: ssl.SSLError) -> str:
    return _SSL_LOCATION.sub("", str(exc.strerror or exc))


def _check_pem_certs(key: KeyPath, path: Path, data: bytes, report: Reporter) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cadata=data.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        reason = _ssl_reason(exc) if isinstance(exc, ssl.SSLError) else "not PEM text"
        report.error(key, f"{path} is not a PEM certificate: {reason}")
        return False
    return True


def _memory_file(data: bytes) -> int:
    """An anonymous file holding ``data``: OpenSSL loads a key pair only from paths, and
    the bytes checked must be the ones gaia read (not whatever the path holds by now)."""
    fd = os.memfd_create("gaia-tls", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd


def _check_key_pair(
    key: KeyPath, cert: bytes, keyfile: tuple[Path, bytes], report: Reporter
) -> None:
    asked_for_password = False

    def no_password() -> str:
        # Without a callback OpenSSL would prompt on the terminal.
        nonlocal asked_for_password
        asked_for_password = True
        return ""

    path, key_pem = keyfile
    cert_fd, key_fd = _memory_file(cert), _memory_file(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(f"/proc/self/fd/{cert_fd}", f"/proc/self/fd/{key_fd}", no_password)
    except ssl.SSLError as exc:
        if asked_for_password:
            report.error(key, f"{path} is protected by a passphrase; gaia needs a plain key")
        elif "KEY_VALUES_MISMATCH" in str(exc):
            report.error(
                key, f"{path} does not match the certificate in certfile: {_ssl_reason(exc)}"
            )
        else:
            report.error(key, f"cannot load {path} with certfile: {_ssl_reason(exc)}")
    finally:
        os.close(cert_fd)
        os.close(key_fd)


def _check_socket_dirs(here: KeyPath, bind: object, base: Path, report: Reporter) -> None:
    items = [bind] if isinstance(bind, str) else bind if isinstance(bind, list) else []
    for i, text in enumerate(items):
        if not isinstance(text, str) or not text.startswith("unix:"):
            continue
        try:
            parsed = parse_bind(text, base)
        except ValueError:
            continue
        if parsed.kind is BindKind.UNIX and parsed.path is not None:
            folder = parsed.path.parent
            is_dir = _is_dir(folder)
            if is_dir is not True:
                path: KeyPath = (*here, "bind") if isinstance(bind, str) else (*here, "bind", i)
                why = f": {is_dir}" if isinstance(is_dir, str) else " does not exist"
                report.error(path, f"directory {folder} for the unix socket{why}")
