"""A chatty app for the log throughput figure: access-log-like lines as fast as allowed.

`python logger.py TOTAL_BYTES RATE REPORT`: writes about TOTAL_BYTES of numbered ASCII
lines to stdout, at most RATE bytes/s (0: unpaced), then writes "LINES BYTES SECONDS" to
REPORT and idles until it is stopped.
"""

import sys
import time
from pathlib import Path

LINE = '127.0.0.1 - - [26/Nov/2026:17:16:26 +0000] "GET /api/items/{n:09d} HTTP/1.1" 200 512\n'
BATCH = 640  # lines: about 64 KiB per write, the size of a default pipe


def main() -> None:
    total, rate, report = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    out = sys.stdout.buffer
    lines = written = 0
    started = time.monotonic()
    while written < total:
        chunk = "".join(LINE.format(n=n) for n in range(lines, lines + BATCH)).encode()
        out.write(chunk)
        out.flush()
        lines += BATCH
        written += len(chunk)
        if rate:
            ahead = started + written / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.monotonic() - started
    # Aside, then renamed: the benchmark polls for this file and must never read half of it.
    Path(f"{report}.tmp").write_text(f"{lines} {written} {elapsed}\n")
    Path(f"{report}.tmp").replace(report)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
