"""A small FastAPI app: `gaia up` serves it with Gunicorn and Uvicorn workers."""

import os
import sqlite3
from pathlib import Path

from fastapi import FastAPI

DB = Path(os.environ.get("NOTES_DB", "notes.sqlite3"))

app = FastAPI(title="gaia example")


@app.get("/")
def index() -> dict[str, object]:
    with sqlite3.connect(DB) as db:
        notes = [row[0] for row in db.execute("SELECT text FROM notes ORDER BY id")]
    return {"hello": "from gaia", "pid": os.getpid(), "notes": notes}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
