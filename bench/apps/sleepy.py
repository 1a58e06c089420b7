"""A sync WSGI app whose handler blocks ~20 ms on I/O (a database call, say): more workers
serve more of them at once even on 2 cores, which a CPU-bound handler could not show.
The body is the worker's pid, so a client sees when a new worker serves."""

import os
import time


def application(environ, start_response):  # type: ignore[no-untyped-def]
    time.sleep(0.02)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
