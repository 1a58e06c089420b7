"""Apps the benchmark serves; each target copies them into its own work directory."""
