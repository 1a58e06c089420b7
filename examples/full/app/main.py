"""The API: FastAPI behind TLS, reading the notes a prestart step created."""

import os
import sqlite3
from pathlib import Path

from fastapi import FastAPI

DB = Path(os.environ.get("NOTES_DB", "notes.sqlite3"))

app = FastAPI(title="gaia full example")


@app.get("/")
def index() -> dict[str, object]:
    with sqlite3.connect(DB) as db:
        notes = [row[0] for row in db.execute("SELECT text FROM notes ORDER BY id")]
    return {"notes": notes, "token_set": bool(os.environ.get("API_TOKEN"))}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
