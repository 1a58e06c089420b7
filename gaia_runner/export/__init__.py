"""Exporters: the same gaia.toml as Kubernetes manifests, a Compose file, a Dockerfile or a
systemd unit. Pure functions of the loaded config, with deterministic ordering."""


class Unexportable(ValueError):
    """A value the target format cannot hold as written (a newline in a Dockerfile path)."""
