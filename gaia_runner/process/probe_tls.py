"""How gaia's probes get through to an app that requires client certificates.

Servers apply one TLS setup to every listener, so the private probe listener cannot
simply skip client authentication. Instead each gaia process makes a throwaway CA,
signs one client certificate with it and forgets the CA key. The app is given the
user's ca_certs plus that CA, and gaia's probe presents the certificate. The client
key lives only in gaia's memory: nobody else can obtain a certificate the app will
accept, so the probe path admits no one the user's own CA did not.
"""

from __future__ import annotations

import datetime
import functools
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gaia_runner.config.inputs import TLS_LIMIT, InputError, ReadAs, read_input
from gaia_runner.config.model import AppConfig, ClientAuth
from gaia_runner.statedir import write_private_file

if TYPE_CHECKING:
    from cryptography import x509

# A gaia process can run for years; the CA dies with it anyway.
_VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class ProbeIdentity:
    ca_pem: bytes
    client_pem: bytes  # certificate and key, as load_cert_chain() wants them


def _name(common_name: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@functools.cache
def probe_identity() -> ProbeIdentity:
    # cryptography costs ~10 MiB and 40 ms to import: only mTLS apps pay for it.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"gaia probe CA (pid {os.getpid()})")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("gaia-probe"))
        .issuer_name(ca_name)
        .public_key(client_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = client_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ProbeIdentity(ca_cert.public_bytes(pem), client_cert.public_bytes(pem) + key_pem)


def needs_probe_identity(app: AppConfig) -> bool:
    return app.https is not None and app.https.client_auth is ClientAuth.REQUIRED


def write_trust_bundle(app: AppConfig, path: Path) -> Path:
    """The user's CA certificates plus gaia's probe CA, for the server's ca_certs."""
    assert app.https is not None and app.https.ca_certs is not None
    # Read as the app's user: the bundle is handed to the app, so a symlink planted
    # there must not copy in a file only root could read.
    try:
        user = read_input(
            app.https.ca_certs,
            what="ca_certs",
            limit_bytes=TLS_LIMIT,
            as_user=ReadAs.for_user(app.user),
        )
    except InputError as exc:
        raise OSError(str(exc)) from None
    write_private_file(path, user.rstrip(b"\n") + b"\n" + probe_identity().ca_pem)
    return path


def probe_context(app: AppConfig, run_dir: Path) -> ssl.SSLContext | None:
    """The probe checks that the app answers, not who signed its certificate."""
    if app.https is None:
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if needs_probe_identity(app):
        # load_cert_chain() reads only files: the key touches disk for a moment, in
        # gaia's private run dir, and is removed once loaded.
        path = run_dir / f".probe-{os.getpid()}-{id(ctx)}.pem"
        write_private_file(path, probe_identity().client_pem)
        try:
            ctx.load_cert_chain(path)
        finally:
            path.unlink(missing_ok=True)
    return ctx
