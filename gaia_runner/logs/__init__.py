"""App log files and gaia's own output streams, and `gaia logs` reading them back."""
