"""Exporters: the same gaia.toml as Kubernetes manifests, a Compose file, a Dockerfile or a
systemd unit. Pure functions of the loaded config, with deterministic ordering."""
