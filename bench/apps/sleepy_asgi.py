"""The ASGI variant of sleepy.py: the handler holds the event loop ~20 ms (a sync driver
called from `async def`, the usual mistake), so one worker serves one request at a time
and more workers serve more; an awaited sleep would need no more than one worker."""

import os
import time


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    time.sleep(0.02)
    body = str(os.getpid()).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
