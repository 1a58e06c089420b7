"""A plain background process (a queue worker, a scheduler) that gaia runs beside the web app."""

import os
import signal
import sys
import time

stopping = False


def stop(signum: int, frame: object) -> None:
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
print(f"worker {os.getpid()} waiting for jobs", flush=True)
while not stopping:
    time.sleep(0.2)
print(f"worker {os.getpid()} finished its current job and stopped", flush=True)
sys.exit(0)
