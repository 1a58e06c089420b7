"""gaia's benchmark suite: gaia side by side with bare servers and process managers.

Run `python -m bench` (full) or `python -m bench --quick` (every figure once, small scale).
"""
