"""Advisory lock files beside the database (fcntl.flock), created 0600, with a deadline."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class LockTimeout(Exception):
    pass


@contextmanager
def locked(path: Path, *, exclusive: bool, deadline: float) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; keyring backends there serialise themselves
        yield
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        end = time.monotonic() + deadline
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= end:
                    raise LockTimeout(str(path)) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
