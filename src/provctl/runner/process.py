"""Starting CMD for ``provctl exec`` (SPEC §9): the one place where provctl runs a program.

* :func:`find_command` looks CMD up as ``execvp`` (and so ``env``) does, in the PATH CMD will
  get: not found is exit 127, found but not runnable 126, with ``Error:``/``Hint:``.
* :func:`replace_process` (``--no-mask``): ``execve`` — CMD takes over provctl's process, its
  terminal, signals and exit status; nothing of provctl stays in between.
* :func:`run_masked` (``--mask``): CMD runs as a child with its stdout and stderr on pipes that
  provctl copies to its own, through a :class:`~.masker.Masker` each, as the bytes arrive.
  SIGINT, SIGTERM, SIGHUP (and SIGQUIT, SIGUSR1, SIGUSR2) sent to provctl are passed on to CMD;
  provctl returns CMD's exit status, 128+N when a signal N ended it.

In both modes CMD inherits provctl's stdin untouched, gets ``argv`` exactly as given (the secret
is only ever in its environment), and starts with the signal dispositions a shell would give
it (Python ignores SIGPIPE and SIGXFSZ for itself; CMD must not inherit that).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys

from ..errors import ProvctlError
from .masker import Masker

NOT_FOUND = 127
NOT_EXECUTABLE = 126
_READ_SIZE = 65536
# signals passed on to CMD in --mask mode; the first two also come from the terminal
_FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)
_FORWARDED = (*_FROM_TERMINAL, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
_PYTHON_IGNORES = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name))


def _shown(name: str) -> str:
    from ..output.resolve import printable

    return printable(name)


def not_found(name: str) -> ProvctlError:
    return ProvctlError(
        f"command not found: {_shown(name)}",
        hint="check the name, or give the program's path (PATH is searched as a shell does)",
        exit_code=NOT_FOUND,
    )


def not_runnable(name: str, why: str) -> ProvctlError:
    hint = ("give the path of a program, not of a directory" if why == "is a directory" else
            f"make it executable (chmod +x), or run it through its interpreter (e.g. sh {_shown(name)})")
    return ProvctlError(f"cannot run {_shown(name)}: {why}", hint=hint, exit_code=NOT_EXECUTABLE)


def find_command(name: str, path: str | None) -> str:
    """The file ``execvp(name)`` would run with ``PATH=path`` (``os.defpath`` when unset).

    A name with a ``/`` is taken as is; otherwise each PATH entry is tried in order (an empty
    entry is the current directory) and the first executable regular file wins. Raises the
    127 error when nothing by that name exists, the 126 one when only something that cannot be
    run does (a directory, a file without execute permission)."""
    if not name:
        raise not_found(name)
    if "/" in name:
        candidates = [name]
    else:
        dirs = (os.defpath if path is None else path).split(os.pathsep)
        candidates = [os.path.join(d or ".", name) for d in dirs]
    refused: str | None = None
    for candidate in candidates:
        try:
            mode = os.stat(candidate).st_mode
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(mode):
            refused = refused or "is a directory"
        elif not stat.S_ISREG(mode) or not os.access(candidate, os.X_OK):
            refused = refused or "permission denied (not executable)"
        else:
            return candidate
    if refused is not None:
        raise not_runnable(name, refused)
    raise not_found(name)


def _exec_error(name: str, exc: OSError) -> ProvctlError:
    """An ``execve`` refusal as ``env`` reports it: 127 for ENOENT (a script whose interpreter
    is missing, say), 126 for everything else."""
    if exc.errno == errno.ENOENT:
        return ProvctlError(
            f"cannot run {_shown(name)}: {exc.strerror}",
            hint="a script's #! line may name an interpreter that is not installed",
            exit_code=NOT_FOUND,
        )
    return not_runnable(name, exc.strerror or type(exc).__name__)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def replace_process(path: str, argv: list[str], env: dict[str, str]) -> None:
    """``--no-mask``: become CMD (``execve``). Returns only by raising the 126/127 error."""
    _flush()
    saved = {sig: signal.signal(sig, signal.SIG_DFL) for sig in _PYTHON_IGNORES}
    try:
        os.execve(path, argv, env)
    except OSError as exc:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        raise _exec_error(argv[0], exc) from None


def _controlling_terminal() -> int | None:
    try:
        return os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return None


def run_masked(path: str, argv: list[str], env: dict[str, str], secret: bytes | None) -> int:
    """``--mask``: run CMD as a child, copy its stdout and stderr with ``secret`` masked, pass
    signals on, and return its exit status (128+N after signal N)."""
    import subprocess

    _flush()
    tty = _controlling_terminal()
    child: list[subprocess.Popen] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object = None) -> None:
        if not child:
            pending.append(signum)
            return
        if signum in _FROM_TERMINAL and tty is not None:
            try:  # typed at the terminal: the kernel sent it to CMD too (same process group)
                if os.tcgetpgrp(tty) == os.getpgrp():
                    return
            except OSError:
                pass
        try:
            child[0].send_signal(signum)
        except OSError:  # it has just ended
            pass

    previous = {}
    for sig in _FORWARDED:
        if signal.getsignal(sig) is not signal.SIG_IGN:  # a signal the caller ignores stays ignored
            previous[sig] = signal.signal(sig, forward)
    try:
        try:
            proc = subprocess.Popen(argv, executable=path, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0)
        except OSError as exc:
            raise _exec_error(argv[0], exc) from None
        child.append(proc)
        for signum in pending:
            forward(signum)
        _pump(proc, secret)
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if tty is not None:
            os.close(tty)
    return 128 - code if code < 0 else code


def _pump(proc, secret: bytes | None) -> None:
    """Copy the child's stdout and stderr to ours until both end, masking as they go. When
    our side of a stream is gone (a reader that quit), that pipe is closed, so CMD learns it
    as it would without provctl in between (EPIPE/SIGPIPE on its next write)."""
    import selectors

    streams = {proc.stdout.fileno(): (proc.stdout, 1, Masker(secret)),
               proc.stderr.fileno(): (proc.stderr, 2, Masker(secret))}
    with selectors.DefaultSelector() as sel:
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        while streams:
            for key, _events in sel.select():
                pipe, out, masker = streams[key.fd]
                try:
                    data = os.read(key.fd, _READ_SIZE)
                except OSError:
                    data = b""
                chunk = masker.feed(data) if data else masker.flush()
                if (chunk and not _write_all(out, chunk)) or not data:
                    sel.unregister(key.fd)
                    pipe.close()
                    del streams[key.fd]


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of ``data`` to ``fd`` at once (no buffering: a line reaches the reader now).
    False when the reader is gone."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:  # our stdout was left non-blocking by whoever started us
            import select

            select.select([], [fd], [])
            continue
        except (OSError, ValueError):  # EPIPE (the reader quit), EBADF, a closed stream
            return False
        view = view[written:]
    return True
