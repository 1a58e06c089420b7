"""A plain WSGI app (Flask and Django expose the same interface), served by sync workers."""

import os


def application(environ, start_response):  # type: ignore[no-untyped-def]
    body = f"hello from a WSGI app, pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
