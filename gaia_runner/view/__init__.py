"""What the user sees: snapshots, the status table, the live display, app logs."""
