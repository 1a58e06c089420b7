"""The state machine and the snapshot model: what view, supervise, metrics and control read."""
