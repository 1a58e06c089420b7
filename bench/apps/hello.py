"""The hello FastAPI app every target serves, plus a few paths the scenarios need."""

import os

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

VERSION = "v1"
LEAK: list[bytearray] = []

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/pid", response_class=PlainTextResponse)
async def pid() -> str:
    return str(os.getpid())


@app.get("/version", response_class=PlainTextResponse)
async def version() -> str:
    return f"{VERSION} {os.environ.get('APP_VERSION', '-')}"


@app.get("/leak", response_class=PlainTextResponse)
async def leak(mb: float = 10) -> str:
    chunk = bytearray(int(mb * 1024 * 1024))
    for i in range(0, len(chunk), 4096):  # touch every page so it counts as resident
        chunk[i] = 1
    LEAK.append(chunk)
    return f"{os.getpid()} {len(LEAK)}"
