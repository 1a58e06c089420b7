"""A background worker: waits for jobs until SIGTERM."""

import signal
import sys
import time

stopping = False


def stop(signum: int, frame: object) -> None:
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
while not stopping:
    time.sleep(0.2)
sys.exit(0)
