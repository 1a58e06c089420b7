"""`gaia top`: a full-screen view of a running gaia, fed by its change stream (Textual,
an optional extra: `gaia up` never loads it)."""
