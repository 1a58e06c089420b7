"""A WSGI site served by gthread workers."""


def application(environ, start_response):  # type: ignore[no-untyped-def]
    body = b"hello from the site\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
