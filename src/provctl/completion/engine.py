"""What TAB offers: walk the command tree over the words typed so far, then list the candidates
for the word at the cursor — commands, options, option values, and names read from the
database (connections, models, agents, users, lift runs).

Standard library only: ``entry.py`` serves ``provctl __complete`` with this module before
Typer, SQLAlchemy or keyring could be imported. Reads go through ``db.read`` on a read-only
``sqlite3`` connection (``db.file.peek``: never creates the file, waits 50 ms at most for a
lock); any failure to read (no file, not a provctl database, locked, unreadable) means no
names, silently.
"""

from __future__ import annotations

import os
import sys

from . import shells

TYPE_CHECKING = False
if TYPE_CHECKING:  # without importing typing, which costs a TAB ~8 ms
    from typing import Any, Callable, Mapping

Candidate = tuple[str, str]  # (value, description)

# parameter kinds (the generated tree names them; commands/completion.py decides them)
TEXT, FILE, PROVIDER, AUTH, MODEL, AGENT, USER, REF, LIFT_RUN = (
    "text", "file", "provider", "auth", "model", "agent", "user", "ref", "lift_run")
REF_TO_ATTACH = "ref:to_attach"  # connections MODEL could attach: its family, not yet attached
REF_ATTACHED = "ref:attached"    # connections attached to MODEL, by priority
REF_OF_PROVIDER = "ref:provider"  # user-level connections of the --provider typed (model add)
DB_KINDS = frozenset({MODEL, AGENT, USER, REF, LIFT_RUN, REF_TO_ATTACH, REF_ATTACHED,
                      REF_OF_PROVIDER})


class Line:
    """Where the cursor is in the command tree, and what was typed before it. (A plain class:
    importing ``dataclasses`` would cost a TAB more than this whole module.)"""

    def __init__(self, node: Mapping[str, Any]):
        self.node = node
        self.path: tuple[str, ...] = ()
        self.given: dict[str, list[str]] = {}   # option's first name -> values typed
        self.globals: dict[str, str] = {}       # --db / --user before the command
        self.positionals: list[str] = []
        self.pending: tuple | None = None       # the option whose value is being typed
        self.dashdash = False


def _option(node: Mapping[str, Any], name: str) -> tuple | None:
    for opt in node["options"]:
        if name in opt[0]:
            return opt
    return None


def walk(words: list[str]) -> Line | None:
    """Follow ``words`` (the command name excluded) through the tree; None when they name a
    command that does not exist (nothing sensible can be offered)."""
    from .tree import TREE

    line = Line(TREE)
    for word in words:
        if line.pending is not None:
            _record(line, line.pending, word)
            line.pending = None
            continue
        if not line.dashdash and word == "--":
            line.dashdash = True
            continue
        if not line.dashdash and word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            opt = _option(line.node, name)
            if opt is None:
                continue  # unknown option: Click will say so; nothing to learn from it
            if opt[1] is None:
                _record(line, opt, "")
            elif eq:
                _record(line, opt, value)
            else:
                line.pending = opt
            continue
        commands = line.node.get("commands")
        if commands is not None and not line.dashdash:
            if word not in commands:
                return None
            line.node = commands[word]
            line.path += (word,)
            continue
        line.positionals.append(word)
    return line


def _record(line: Line, opt: tuple, value: str) -> None:
    line.given.setdefault(opt[0][0], []).append(value)
    if not line.path:
        line.globals[opt[0][0]] = value


def candidates(words: list[str], current: str, *,
               environ: Mapping[str, str] = os.environ) -> tuple[str, list[Candidate]]:
    """(``values`` | ``files``, candidates) for the word ``current`` after ``words``.

    Candidates are not filtered by ``current`` (zsh and fish match themselves; bash's caller
    filters), except that the ``--option=`` of ``current`` is part of each value. A value
    with a control or format character (only a database written behind provctl's back can
    hold one) is dropped: it must not reach the shell's input."""
    mode, found = _candidates(words, current, environ)
    return mode, [(v, d) for v, d in found if v and _printable(v)]


def _candidates(words: list[str], current: str,
                environ: Mapping[str, str]) -> tuple[str, list[Candidate]]:
    line = walk(words)
    if line is None:
        return "values", []
    if line.pending is not None:
        return _values(line, line.pending[1], environ)
    if not line.dashdash and current.startswith("-"):
        name, eq, _ = current.partition("=")
        if eq and name.startswith("--"):
            opt = _option(line.node, name)
            if opt is None or opt[1] is None:
                return "values", []
            mode, found = _values(line, opt[1], environ)
            return mode, [(f"{name}={v}", d) for v, d in found]
        return "values", _options(line)
    if "commands" in line.node and not line.dashdash:
        return "values", [(name, sub["help"]) for name, sub in line.node["commands"].items()]
    kind = _argument_kind(line)
    if kind is None:
        return "values", _options(line)
    return _values(line, kind, environ, positional=True)


def _options(line: Line) -> list[Candidate]:
    found = []
    for names, kind, multiple, help_ in line.node["options"]:
        if names[0] in line.given and not multiple:
            continue
        long = [n for n in names if n.startswith("--")]
        found.extend((n, help_) for n in (long or names))
    return found


def _argument_kind(line: Line) -> str | tuple | None:
    index = len(line.positionals)
    for name, nargs, kind in line.node["args"]:
        if nargs < 0 or index < nargs:
            return kind
        index -= nargs
    return None


def _argument_value(line: Line, kind: str) -> str | None:
    """The value typed for the first argument of ``kind`` (e.g. the MODEL of `model attach`)."""
    index = 0
    for name, nargs, arg_kind in line.node["args"]:
        if arg_kind == kind:
            return line.positionals[index] if index < len(line.positionals) else None
        index += max(nargs, 0)
    return None


def _context_provider(line: Line) -> str | None:
    typed = line.given.get("--provider") or []
    return typed[-1] if typed else _argument_value(line, PROVIDER)


def _values(line: Line, kind: str | tuple | None, environ: Mapping[str, str], *,
            positional: bool = False) -> tuple[str, list[Candidate]]:
    if kind is None or kind == TEXT:
        return "values", []
    if kind == FILE:
        return "files", []
    if isinstance(kind, tuple):  # ("choice", values…)
        return "values", [(v, "") for v in kind[1:]]
    if kind == PROVIDER:
        from ..domain.families import FAMILIES

        return "values", [(f.name, ", ".join(f.auth_types)) for f in FAMILIES.values()]
    if kind == AUTH:
        from ..domain.families import AUTH_TYPES, FAMILIES

        fam = FAMILIES.get((_context_provider(line) or "").strip().lower())
        return "values", [(a, "") for a in (fam.auth_types if fam else AUTH_TYPES)]
    if kind in DB_KINDS:
        found = _from_database(line, kind, environ)
        if positional:  # a name starting with "-" would be read as an option there
            found = [c for c in found if not c[0].startswith("-")]
        return "values", found
    return "values", []


# ---------------------------------------------------------------- names from the database


def _from_database(line: Line, kind: str, environ: Mapping[str, str]) -> list[Candidate]:
    import sqlite3

    from ..db import file as dbfile
    from ..db import read

    try:
        path, user_key = _where(line, environ)
        conn = dbfile.peek(path)
        if conn is None:
            return []
        try:
            ex = conn.execute
            if kind == MODEL:
                return [(name, _model_note(*rest))
                        for name, *rest in read.completion_models(ex, user_key)]
            if kind == AGENT:
                return [(name, shown or "") for name, shown in read.completion_agents(ex, user_key)]
            if kind == USER:
                return [(name, "") for name in read.user_names(ex)]
            if kind == LIFT_RUN:
                return [(rid, _run_note(*rest)) for rid, *rest in read.completion_lift_runs(ex)]
            rows = read.completion_connections(ex, user_key)
            return _refs(line, kind, rows, ex, user_key)
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError, LookupError):
        return []


def _where(line: Line, environ: Mapping[str, str]):
    """The database and folded user name the command line would use."""
    from pathlib import Path

    from ..db.paths import default_db_path, default_user
    from ..domain.labels import fold

    db = line.globals.get("--db") or environ.get("PROVCTL_DB") or ""
    path = Path(db).expanduser() if db.strip() else default_db_path()
    user = (line.globals.get("--user") or environ.get("PROVCTL_USER", "").strip()
            or default_user(None))
    return path, fold(user.strip())


def _model_note(provider: str, upstream: str | None, enabled: int, default: int) -> str:
    parts = [provider + (f" → {upstream}" if upstream else "")]
    if default:
        parts.append("default")
    if not enabled:
        parts.append("disabled")
    return ", ".join(parts)


def _run_note(created_at: str, all_users: int, rows: int) -> str:
    when = created_at[:16].replace("T", " ")
    return f"{when}, {rows} row{'s' if rows != 1 else ''}" + (", all users" if all_users else "")


def _refs(line: Line, kind: str, rows: list[tuple], execute: Callable,
          user_key: str) -> list[Candidate]:
    """Reference forms (SPEC §3) that name exactly one connection: ``LABEL`` and
    ``PROVIDER/LABEL`` where each is unambiguous, else ``PROVIDER/AUTH_TYPE/LABEL``, else the
    id's first 8 characters."""
    from ..db import read

    all_rows = rows
    if kind in (REF_TO_ATTACH, REF_ATTACHED):
        model = _argument_value(line, MODEL)
        found = read.completion_model(execute, user_key, _fold(model)) if model else None
        if found is None:
            return []
        provider, attached = found
        if kind == REF_ATTACHED:
            order = {cid: i for i, cid in enumerate(attached)}
            rows = sorted((r for r in rows if r[0] in order), key=lambda r: order[r[0]])
        else:
            rows = [r for r in rows if r[1] == provider and r[5] is None and r[0] not in attached]
    elif kind == REF_OF_PROVIDER:
        provider = (_context_provider(line) or "").strip().lower()
        rows = [r for r in rows if r[5] is None and (not provider or r[1] == provider)]
    by_label: dict[str, int] = {}
    by_two: dict[tuple[str, str], int] = {}
    by_three: dict[tuple[str, str, str], int] = {}
    for cid, provider, auth, label, key, agent, enabled in all_rows:
        by_label[key] = by_label.get(key, 0) + 1
        by_two[provider, key] = by_two.get((provider, key), 0) + 1
        by_three[provider, auth, key] = by_three.get((provider, auth, key), 0) + 1
    ids = [r[0].replace("-", "") for r in all_rows]
    typed = {_fold(w) for w in _typed_refs(line)}
    found: list[Candidate] = []
    for cid, provider, auth, label, key, agent, enabled in rows:
        note = f"{provider}/{auth}/{label}" + (f" (agent {agent})" if agent is not None else "")
        note += "" if enabled else ", disabled"
        forms = []
        if "/" not in label:
            if by_label[key] == 1 and not _reads_as_id(label, ids):
                forms.append(label)
            if by_two[provider, key] == 1 and by_label.get(f"{provider}/{key}", 0) == 0:
                forms.append(f"{provider}/{label}")
        if (not forms and by_three[provider, auth, key] == 1
                and by_label.get(f"{provider}/{auth}/{key}", 0) == 0):
            forms.append(f"{provider}/{auth}/{label}")
        if not forms:
            forms.append(cid[:8])
        if typed and typed & {_fold(f) for f in forms}:
            continue  # already on the line (refresh, reorder take several)
        found.extend((f, note) for f in forms)
    return found


def _typed_refs(line: Line) -> list[str]:
    """The references already on the line (`providers refresh`, `model reorder` take several)."""
    typed = list(line.given.get("--attach", []))
    index = 0
    for name, nargs, kind in line.node["args"]:
        span = line.positionals[index:] if nargs < 0 else line.positionals[index:index + nargs]
        if isinstance(kind, str) and kind.startswith(REF):
            typed.extend(span)
        index += len(span)
    return typed


def _fold(text: str) -> str:
    from ..domain.labels import fold

    return fold(text.strip())


def _reads_as_id(label: str, ids: list[str]) -> bool:
    """A label of ≥ 8 hex digits also reads as an id prefix (SPEC §3)."""
    lowered = label.lower()
    if len(lowered) < 8 or lowered.strip("0123456789abcdef-"):
        return False
    digits = lowered.replace("-", "")
    return len(digits) >= 8 and any(i.startswith(digits) for i in ids)


# ---------------------------------------------------------------- the protocol


def _printable(text: str) -> bool:
    """No control, format or line/paragraph separator character (SPEC §1 refuses them in
    names; one in the database anyway must not reach a shell's input)."""
    if text.isprintable():  # the common case, in C; it also refuses Zs other than " "
        return True
    import unicodedata

    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)


def _clean_note(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def answer(shell: str, args: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """The lines of the answer to ``provctl __complete SHELL ARGS…`` (see ``shells``)."""
    if shell == "bash":
        line, word = (args + ["", ""])[:2]
        words, raw, current, quote = shells.split_line(line)
        words = words[1:]  # the command name
    else:
        if args[:1] == ["--"]:
            args = args[1:]
        if not args:
            return []
        words, current = args[:-1], args[-1]
    mode, found = candidates(words, current, environ=environ)
    if mode == "files":
        return ["files"]
    if shell != "bash":
        return ["values"] + [f"{v}\t{_clean_note(d)}" if d else v for v, d in found]
    values = [v for v, _ in found if v.startswith(current)]
    if not values:  # references and names compare case-insensitively
        values = [v for v, _ in found if v.casefold().startswith(current.casefold())]
    seen: set[str] = set()
    values = [v for v in values if not (v in seen or seen.add(v))]
    return ["values"] + shells.bash_inserts(values, raw, word, quote)


def main(args: list[str]) -> int:
    """``provctl __complete SHELL …`` and ``provctl completion SHELL``; always exit 0 and never
    a word on stderr (``PROVCTL_DEBUG=1`` shows a traceback)."""
    try:
        if args[:1] == ["completion"]:
            sys.stdout.write(shells.script(args[1]))
            return 0
        shell = args[1] if len(args) > 1 else ""
        if shell not in shells.SHELLS:
            return 0
        lines = answer(shell, args[2:])
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
    except Exception:
        if os.environ.get("PROVCTL_DEBUG") == "1":
            raise
    return 0


def serves(args: list[str]) -> bool:
    """Whether ``main`` answers this command line (``entry.py`` asks before anything else)."""
    return (args[:1] == ["__complete"]
            or (len(args) == 2 and args[0] == "completion" and args[1] in shells.SHELLS))
