"""Checks that touch the disk: directories, env files and TLS material.

Run only with ``check_files=True``: commands such as ``gaia stop`` must work
even when a certificate has since gone missing. Env files are read here, once
each, and handed to the builder so their contents are parsed in one place.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from pathlib import Path

from gaia_runner.config.binds import parse_bind
from gaia_runner.config.envfile import read_env_file
from gaia_runner.config.errors import ConfigIssue
from gaia_runner.config.locate import KeyPath
from gaia_runner.config.model import BindKind
from gaia_runner.config.report import Reporter

EnvFiles = dict[Path, dict[str, str]]
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)\s*$")


def resolve_path(text: str, base: Path) -> Path:
    """An absolute, normalised path; relative ones are taken from ``base``."""
    return Path(os.path.normpath(base / Path(text).expanduser()))


def check_files(data: Mapping[str, object], base: Path, report: Reporter) -> EnvFiles:
    """Report missing or unusable files; return the env files that parsed cleanly."""
    env_files: EnvFiles = {}
    seen: set[Path] = set()
    gaia = data.get("gaia")
    if isinstance(gaia, dict):
        _load_env(("gaia", "env_file"), gaia.get("env_file"), base, report, env_files, seen)
    apps = data.get("apps")
    if not isinstance(apps, dict):
        return env_files
    for name, app in apps.items():
        if not isinstance(app, dict):
            continue
        here: KeyPath = ("apps", name)
        cwd = app.get("cwd")
        if isinstance(cwd, str):
            path = resolve_path(cwd, base)
            if not path.is_dir():
                problem = "is not a directory" if path.exists() else "does not exist"
                report.error((*here, "cwd"), f"directory {path} {problem}")
        _load_env((*here, "env_file"), app.get("env_file"), base, report, env_files, seen)
        https = app.get("https")
        if isinstance(https, dict):
            _check_tls((*here, "https"), https, base, report)
        _check_socket_dirs(here, app.get("bind"), base, report)
    return env_files


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, or None if it can."""
    if not path.exists():
        return f"file not found: {path}"
    if path.is_dir():
        return f"{path} is a directory, expected a file"
    if not os.access(path, os.R_OK):
        return f"cannot read {path}: permission denied"
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    return None


def _load_env(
    key: KeyPath,
    value: object,
    base: Path,
    report: Reporter,
    env_files: EnvFiles,
    seen: set[Path],
) -> None:
    if not isinstance(value, str):
        return
    path = resolve_path(value, base)
    if path in seen:
        # Shared by several apps: report its problems once, not once per app.
        return
    seen.add(path)
    problem = unreadable(path)
    if problem is not None:
        report.error(key, problem)
        return
    try:
        values, problems = read_env_file(path)
    except UnicodeDecodeError:
        report.error(key, f"{path} is not UTF-8 text")
        return
    except OSError as exc:
        report.error(key, f"cannot read {path}: {exc.strerror or exc}")
        return
    for p in problems:
        report.add(ConfigIssue(path, p.line, p.key, p.message))
    if not problems:
        env_files[path] = values


def _check_tls(here: KeyPath, https: Mapping[str, object], base: Path, report: Reporter) -> None:
    paths: dict[str, Path] = {}
    for key in ("certfile", "keyfile", "ca_certs"):
        value = https.get(key)
        if isinstance(value, str):
            path = resolve_path(value, base)
            problem = unreadable(path)
            if problem is None:
                paths[key] = path
            else:
                report.error((*here, key), problem)
    certfile, keyfile, ca_certs = (paths.get(k) for k in ("certfile", "keyfile", "ca_certs"))
    if certfile is not None:
        cert_ok = _check_pem_certs((*here, "certfile"), certfile, report)
        if cert_ok and keyfile is not None:
            _check_key_pair((*here, "keyfile"), certfile, keyfile, report)
    if ca_certs is not None:
        _check_pem_certs((*here, "ca_certs"), ca_certs, report)


def _ssl_reason(exc: ssl.SSLError) -> str:
    return _SSL_LOCATION.sub("", str(exc.strerror or exc))


def _check_pem_certs(key: KeyPath, path: Path, report: Reporter) -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=path)
    except ssl.SSLError as exc:
        report.error(key, f"{path} is not a PEM certificate: {_ssl_reason(exc)}")
        return False
    return True


def _check_key_pair(key: KeyPath, certfile: Path, keyfile: Path, report: Reporter) -> None:
    asked_for_password = False

    def no_password() -> str:
        # Without a callback OpenSSL would prompt on the terminal.
        nonlocal asked_for_password
        asked_for_password = True
        return ""

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile, password=no_password)
    except ssl.SSLError as exc:
        if asked_for_password:
            report.error(key, f"{keyfile} is protected by a passphrase; gaia needs a plain key")
        elif "KEY_VALUES_MISMATCH" in str(exc):
            report.error(
                key, f"{keyfile} does not match the certificate in certfile: {_ssl_reason(exc)}"
            )
        else:
            report.error(key, f"cannot load {keyfile} with certfile: {_ssl_reason(exc)}")


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
            if not folder.is_dir():
                path: KeyPath = (*here, "bind") if isinstance(bind, str) else (*here, "bind", i)
                report.error(path, f"directory {folder} for the unix socket does not exist")
