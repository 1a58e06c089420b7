"""A steadily chatty app for the live-table figure: `python ticker.py LINES_PER_SECOND`.

Writes access-log-like lines, 10 every 10 ms at 1,000 lines/s, until it is stopped.
"""

import sys
import time

LINE = '127.0.0.1 - - [26/Nov/2026:17:16:26 +0000] "GET /api/items/{n:09d} HTTP/1.1" 200 512\n'
TICK = 0.01


def main() -> None:
    per_tick = max(1, round(float(sys.argv[1]) * TICK))
    out = sys.stdout
    n = 0
    next_tick = time.monotonic()
    while True:
        out.write("".join(LINE.format(n=i) for i in range(n, n + per_tick)))
        out.flush()
        n += per_tick
        next_tick += TICK
        time.sleep(max(0.0, next_tick - time.monotonic()))


if __name__ == "__main__":
    main()
