"""The comments above exported Kubernetes objects that tell the deployer what to do by hand:
the Secrets to create (never exported), and why the prestart Job has no TTL."""

from __future__ import annotations

import os
from pathlib import Path

from gaia_runner.config.model import AppConfig, GaiaConfig
from gaia_runner.export.mapping import env_files

# No ttlSecondsAfterFinished, on purpose: GitOps tools (Argo CD, Flux) re-create a Job that
# vanished from the cluster while it is still in git, so a TTL would re-run the migrations
# once per TTL. Said in the output, where the deployer decides.
NO_TTL = (
    "No ttlSecondsAfterFinished: with GitOps a Job deleted by its TTL is re-created, and "
    "the migrations run again. Argo CD: make it a hook (argocd.argoproj.io/hook: PreSync, "
    "argocd.argoproj.io/hook-delete-policy: BeforeHookCreation) instead.",
)


def secret_notes(config: GaiaConfig, app: AppConfig, name: str) -> list[str]:
    """``name``: the app's object name, which its Secrets' names start with."""
    notes = []
    files = env_files(config, app)
    if files:
        args = " ".join(f"--from-env-file={_rel(config, p)}" for p in files)
        notes.append(
            f"Secret {name}-env-file holds the env_file values and is not exported "
            f"(never commit secrets). Create it with: kubectl create secret generic "
            f"{name}-env-file {args}"
        )
    if app.https is not None:
        cert, key = _rel(config, app.https.certfile), _rel(config, app.https.keyfile)
        notes.append(
            f"Secret {name}-tls is not exported either. Create it with: kubectl create "
            f"secret tls {name}-tls --cert={cert} --key={key}"
        )
        if app.https.ca_certs is not None:
            notes.append(f"Add the client CA as ca.crt: {_rel(config, app.https.ca_certs)}")
    return notes


def _rel(config: GaiaConfig, path: Path) -> str:
    return os.path.relpath(path, config.source.parent)
