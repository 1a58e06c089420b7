"""gunicorn config for an app run as another user: `-c python:gaia_runner.process.fd_config`.

gaia's state dir is private to gaia, so such an app cannot open the generated config
by path. gaia opens it and passes the fd (named by $GAIA_CONFIG_FD); gunicorn imports
this module, which runs exactly that file, and takes the settings from its namespace.
"""

import os

_fd = int(os.environ.pop("GAIA_CONFIG_FD"))
with os.fdopen(_fd, "rb") as _config:
    exec(compile(_config.read(), "<gaia generated gunicorn config>", "exec"))
