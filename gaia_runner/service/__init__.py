"""Telling a service manager (systemd) how gaia is doing: ready, reloading, stopping, alive."""
