"""Dev mode: which saves reload an app, and the warm start of its next generation."""
