"""Prestart step: create the schema (idempotent, like `alembic upgrade head`)."""

import os
import sqlite3
from pathlib import Path

DB = Path(os.environ.get("NOTES_DB", "notes.sqlite3"))

with sqlite3.connect(DB) as db:
    db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    if db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0:
        db.execute("INSERT INTO notes (text) VALUES ('migrated by a prestart step')")
print(f"migrations applied to {DB}")
