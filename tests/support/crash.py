"""kill -9 at a chosen moment, for the crash tests (tests/e2e/test_*_crash.py)."""

from __future__ import annotations

import signal
import subprocess
import time


def kill_after(proc: subprocess.Popen, delay: float) -> bool:
    """SIGKILL ``proc`` after ``delay`` seconds; False if it had already finished."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.002)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return True
