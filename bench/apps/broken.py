"""An app that cannot be imported: the crash-loop figure."""

raise RuntimeError("bench: this app fails at import")
