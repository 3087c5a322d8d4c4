"""Everything that reaches stdout/stderr: the JSON emitter (the only serializer), Rich tables,
stderr notes, the Error:/Hint: lines, and the choice of a report format. Rich is imported
only when a table is drawn. Submodules render one kind of result each: ``resolve`` (resolve
lines), ``lift`` (lift reports), ``errors`` (exceptions → exit codes), ``progress`` (bars).

Supplied values are data (SPEC §2): every human-readable line passes through :func:`shown`,
which writes control, invisible and separator characters escaped (``\x1b``, ``\u200b``), and
tables hand Rich ``Text`` cells, never markup. JSON escapes the same characters
(``\u001b``), so neither format ever sends a supplied escape sequence to a terminal."""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

from ..domain.text import HIDDEN_CATEGORIES
from ..domain.text import escape as shown  # THE escaping function of every human-readable line


# What json.dumps(ensure_ascii=False) leaves raw and a terminal could act on: DEL and the
# non-ASCII hidden characters. A superset of their blocks (Unicode 15; tests/unit/test_text.py
# checks every code point against unicodedata), so readable text (é, 日本) skips the callback.
_JSON_SUSPECT = re.compile(
    "[\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u08ff\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")


def _json_escape(match: "re.Match[str]") -> str:
    import unicodedata

    ch = match.group()
    if ch != "\x7f" and unicodedata.category(ch) not in HIDDEN_CATEGORIES:
        return ch
    code = ord(ch)
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` (UTF-8 kept readable) with DEL, C1 controls, invisible format and
    separator characters and lone surrogates escaped too: the same document, safe to print."""
    return json_safe(json.dumps(data, ensure_ascii=False, **kwargs))


def json_safe(text: str) -> str:
    """JSON text (as ``json.dumps(ensure_ascii=False)`` writes it) with the characters a
    terminal could act on escaped; outside strings JSON is ASCII, so this touches strings only."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_SUSPECT.sub(_json_escape, text)


def _plain(data: Any) -> Any:
    if hasattr(data, "to_dict"):
        return data.to_dict()
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def choose_format(fmt: str | None, json_: bool, formats: Sequence[str], *, default: str) -> str:
    """``--format F`` checked against ``formats``; ``--json`` means ``--format json``."""
    from ..domain.text import preview
    from ..errors import UsageError

    if fmt is not None and fmt not in formats:
        raise UsageError(f"unknown format {preview(fmt)}", hint="use one of: " + ", ".join(formats))
    if json_:
        if fmt not in (None, "json"):
            raise UsageError(f"--json contradicts --format {fmt}", hint="--json means --format json")
        return "json"
    return fmt or default


def emit_json(data: Any) -> None:
    sys.stdout.write(json_text(_plain(data), indent=2) + "\n")
    sys.stdout.flush()


def done(data: Any, json_: bool, message: str) -> None:
    """A command's result: the JSON document on stdout with --json, else a note for people."""
    if json_:
        emit_json(data)
    else:
        note(message)


def listing(items: Sequence[Any], json_: bool, columns: Sequence[str], cells, *, empty: str) -> None:
    """A list command's result: a JSON array, or a table of ``cells(item)`` rows."""
    if json_:
        emit_json(items)
    else:
        table(columns, [cells(item) for item in items], empty=empty)


def line(text: str) -> None:
    """One line of data on stdout, as is (a revealed key: never through Rich)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A message for people: stderr, so stdout stays data. One line per call: a newline in a
    supplied value is shown escaped, so it cannot forge a line of its own."""
    print(shown(message), file=sys.stderr)


def warn(message: str) -> None:
    print(f"Warning: {shown(message)}", file=sys.stderr)


def leftovers(items: Sequence[Any]) -> None:
    """Keyring entries a command could not delete although its change is done: one
    ``Warning:`` each, naming the connection and `provctl doctor --fix` (the command then
    exits 6: the secret store refused the operation, SPEC §2)."""
    for item in items:
        warn(item.message)


def error(message: str, hint: str | None = None) -> None:
    print(f"Error: {shown(message)}", file=sys.stderr)
    if hint:
        print(f"Hint: {shown(hint)}", file=sys.stderr)


# How a terminal shows a status word (SPEC §2): green when usable, yellow when a connection
# is unusable for a reason the admin fixes in provctl (enable it, give it a key, lift it,
# grant it), red for a failure (the keyring or an endpoint failed, a doctor check failed).
# Rich leaves colour out when stdout is not a terminal, when NO_COLOR is set (non-empty) and
# for TERM=dumb; --json never goes through a table.
STATUS_STYLES = {
    "active": "green", "ok": "green",
    "disabled": "yellow", "no_key": "yellow", "expired": "yellow", "key_missing": "yellow",
    "legacy": "yellow", "agent_denied": "yellow",
    "keyring_unavailable": "red", "family_mismatch": "red", "probe_failed": "red",
    "unauthorized": "red", "error": "red", "unreachable": "red", "bad_response": "red",
    "FAIL": "red",
}


class Status(NamedTuple):
    """A table cell holding a status word (``active``, ``no_key``, ``FAIL``), optionally with
    a detail after it: ``table`` colours the word on a terminal (``STATUS_STYLES``)."""

    word: str
    detail: str | None = None

    def __str__(self) -> str:
        return self.word if not self.detail else f"{self.word} ({self.detail})"


def status(word: str, detail: str | None = None) -> Status:
    return Status(word, detail)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value if isinstance(value, Status) else shown(value)


def _text(cell: Any):
    """A Rich ``Text`` of a cell: data, never parsed as markup; a status word styled."""
    from rich.text import Text

    if not isinstance(cell, Status):
        return Text(cell)
    text = Text(shown(str(cell)))
    style = STATUS_STYLES.get(cell.word)
    if style:
        text.stylize(style, 0, len(shown(cell.word)))
    return text


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str | None = None) -> None:
    """A Rich table of ``rows``; every cell is data (escaped, never markup). ``Status`` cells
    (``output.status(word)``) are coloured on a terminal, plain in a pipe or file."""
    rows = [[_cell(v) for v in row] for row in rows]
    if not rows and empty:
        note(empty)
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal and len(rows) > PLAIN_ABOVE:
        _plain_table(columns, [[shown(str(c)) if isinstance(c, Status) else c for c in row]
                               for row in rows])
        return
    from rich.table import Table

    out = Table(box=None, header_style="bold", pad_edge=False)
    for i, col in enumerate(columns):
        # a narrow terminal shrinks columns; a status word is never cut (`n…` for no_key)
        words = [len(shown(row[i].word)) for row in rows if i < len(row) and isinstance(row[i], Status)]
        out.add_column(col, no_wrap=True, min_width=max(words) if words else None)
    for row in rows:
        out.add_row(*(_text(cell) for cell in row))
    if not console.is_terminal:  # a pipe or file: full lines, never folded at 80 columns
        console = Console(width=4096)
    console.print(out)


# A pipe or file gets a table of more rows than this without Rich's layout pass (10,000 rows:
# ~8 s in Rich, ~0.1 s here): the same text, column by column, as Rich prints it there.
PLAIN_ABOVE = 1000


def _plain_table(columns: Sequence[str], rows: list[list[str]]) -> None:
    """What ``rich.table.Table(box=None, pad_edge=False)`` prints at width 4096 for cells of
    plain text: columns two cells apart, every line padded to the table's width (cell widths
    as Rich counts them). Cells are data: nothing is read as markup."""
    from rich.cells import cell_len

    header = list(columns)
    widths = [max(cell_len(h), max((cell_len(r[i]) for r in rows), default=0))
              for i, h in enumerate(header)]
    out = sys.stdout
    batch: list[str] = []
    for row in (header, *rows):
        batch.append("  ".join(cell + " " * (width - cell_len(cell))
                               for cell, width in zip(row, widths)))
        if len(batch) == 5000:
            out.write("\n".join(batch) + "\n")
            batch = []
    if batch:
        out.write("\n".join(batch) + "\n")
    out.flush()


def short_id(value: str) -> str:
    return value[:8]


def when(stamp: str) -> str:
    """A stored timestamp as a table shows it: `YYYY-MM-DD HH:MM:SS` (UTC)."""
    return stamp[:19].replace("T", " ")


@contextmanager
def destination(path: str | None) -> Iterator:
    """``write(chunks)`` to stdout, or to FILE (``--output``) — checked before anything happens,
    so a bad path never follows a lift; a FILE this creates is removed again if the block fails.
    Text is written chunk by chunk (a 100,000-row report stays cheap).

    FILE must be a regular file (a FIFO, device or directory is exit 2, and opening one never
    blocks); it is created 0600 whatever the umask, and an existing file is overwritten and
    made 0600 too. A reader that closes stdout early (``| head -1``) ends the text quietly:
    what was done stays done, and the caller's exit code stands."""
    if path is None:
        def to_stdout(chunks) -> None:
            out = sys.stdout
            try:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
            except BrokenPipeError:
                _stdout_gone()

        yield to_stdout
        return
    fd, created = _open_output(path)
    ok = False

    def to_file(chunks) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(os.dup(fd), "w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(chunk)

    try:
        yield to_file
        ok = True
    finally:
        os.close(fd)
        if not ok and created:
            try:
                os.unlink(path)
            except OSError:
                pass


def _open_output(path: str) -> tuple[int, bool]:
    """Open ``--output FILE`` for writing without truncating it yet: (fd, created)."""
    import stat

    from ..errors import UsageError

    def refuse(reason: str) -> UsageError:
        return UsageError(f"cannot write {shown(path)}: {reason}",
                          hint="give a path to a regular file in a folder you can write")

    try:
        kind = os.stat(path).st_mode
    except OSError:
        kind = None  # missing (or unreadable): the open below says what is wrong
    if kind is not None and not stat.S_ISREG(kind):
        what = ("a directory" if stat.S_ISDIR(kind) else "a FIFO (named pipe)" if stat.S_ISFIFO(kind)
                else "a device" if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else "not a regular file")
        raise refuse(f"it is {what}")
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    created = False
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            fd = os.open(path, flags)
    except OSError as exc:
        raise refuse(exc.strerror or type(exc).__name__) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("it is not a regular file (a FIFO, device or directory)")
        if stat.S_IMODE(info.st_mode) != 0o600:
            os.fchmod(fd, 0o600)  # created 0600 whatever the umask; an existing file made so
        os.set_blocking(fd, True)
    except BaseException as exc:
        os.close(fd)
        if created:
            os.unlink(path)
        if isinstance(exc, OSError):
            raise refuse(exc.strerror or type(exc).__name__) from None
        raise
    return fd, created


def _stdout_gone() -> None:
    """The reader of stdout went away: send the rest of this process's output nowhere, so the
    interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's stream)
        pass
