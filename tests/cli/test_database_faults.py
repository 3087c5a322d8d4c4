"""Damaged vs unreachable (issue 10, findings 9 and 19): a database SQLite calls malformed or
not a database gets the backup advice, and `doctor` still reports on it; a full disk, a path
that is a directory, a read-only file or a permission problem get their own message and hint,
never "restore it from a backup" (which would throw good data away). The permission and
file-size cases need a real process: tests/e2e/test_database_faults_e2e.py."""

from __future__ import annotations

import errno
import json
import os
import sqlite3

import pytest


from provctl.db import file as dbfile
from tests.support.checks import assert_error, sql

BACKUP_ADVICE = "bak-"


def _damage(db_path, offset: int, data: bytes | None = None) -> bytes:
    """Overwrite bytes of the (checkpointed) database file with ``data``, or flip one bit;
    returns its new content."""
    sql(db_path, "PRAGMA wal_checkpoint(TRUNCATE)")
    content = bytearray(db_path.read_bytes())
    data = data if data is not None else bytes([content[offset] ^ 0x01])
    content[offset:offset + len(data)] = data
    db_path.write_bytes(bytes(content))
    return bytes(content)


def _populate(cli, n=40):
    for i in range(n):
        assert cli("connect", "ollama", "--label", f"L{i}").exit_code == 0


def _check(report, name):
    return next(c for c in report["checks"] if c["check"] == name)


# ---------------------------------------------------------------- finding 9: doctor on a damaged file


def test_doctor_json_reports_a_corrupted_page_with_the_failed_integrity_check(cli, db_path):
    _populate(cli)
    page = sql(db_path, "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_connections_1'")[0][0]
    offset = (page - 1) * 4096 + 4000  # a bit of one key in that index page: an entry no row matches
    damaged = _damage(db_path, offset)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # the report is printed
    assert report["healthy"] is False
    integrity = _check(report, "integrity")
    assert integrity["ok"] is False
    assert integrity["detail"].startswith("PRAGMA integrity_check found ")
    assert any(item.endswith("missing from index sqlite_autoindex_connections_1") for item in integrity["items"])
    assert BACKUP_ADVICE in integrity["hint"]
    assert _check(report, "schema")["ok"] is True
    assert db_path.read_bytes() == damaged  # doctor writes nothing


def test_doctor_reports_a_page_too_damaged_to_check_and_every_check_it_could_not_run(cli, db_path):
    _populate(cli)
    page = sql(db_path, "SELECT rootpage FROM sqlite_master WHERE name = 'connections'")[0][0]
    _damage(db_path, (page - 1) * 4096, b"\xff" * 200)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert _check(report, "integrity") == {
        "check": "integrity", "ok": False,
        "detail": f"PRAGMA integrity_check could not run: cannot read the database {db_path}: "
                  "database disk image is malformed",
        "items": [], "hint": dbfile.DAMAGED_HINT}
    for name in ("secrets", "keyring journal", "legacy", "models"):
        assert _check(report, name)["ok"] is False
        assert _check(report, name)["detail"].startswith("not checked: ")
    text = cli("doctor")
    assert text.exit_code == 1
    assert text.stderr.count(f"Hint: {dbfile.DAMAGED_HINT}") == 1  # once, not once per check
    # every other command says the file is damaged, with the backup advice
    assert_error(cli("providers", "list"), 1,
                 f"cannot read the database {db_path}: database disk image is malformed", dbfile.DAMAGED_HINT)


def test_doctor_json_on_a_file_that_is_not_a_database_still_prints_its_report(cli, db_path):
    db_path.write_bytes(b"not a database at all" * 300)
    result = cli("doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert _check(report, "schema")["detail"] == f"cannot read the database {db_path}: file is not a database"
    assert _check(report, "integrity")["ok"] is False


# ---------------------------------------------------------------- finding 19: not damage


def test_a_database_path_that_is_a_directory_says_so(cli, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for args in (["connect", "ollama"], ["providers", "list"], ["resolve", "m"]):
        assert_error(cli("--db", str(folder), *args), 1, f"the database {folder} is a directory, not a file",
                     f"point --db / PROVCTL_DB at a file, such as {folder / 'provctl.db'}")


def test_a_full_disk_says_so_and_leaves_the_database_as_it_was(cli, db_path, monkeypatch, tmp_path):
    real = dbfile.configure_writer

    def no_room(dbapi_conn):  # SQLite's own SQLITE_FULL, as on a disk with no space left
        real(dbapi_conn)
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    _populate(cli, 1)
    # every writing connection, SQLAlchemy's and import's stdlib one, is set up here
    monkeypatch.setattr(dbfile, "configure_writer", no_room)
    inventory = tmp_path / "many.json"
    inventory.write_text(json.dumps({"connections": [
        {"agent": None, "provider": "ollama", "auth_type": "local", "label": f"Box {i} " + "x" * 40}
        for i in range(600)]}))
    result = cli("import", str(inventory))
    assert_error(result, 1, f"the disk holding the database {db_path} is full",
                 "free some space and try again (the unfinished change was rolled back)")
    assert sql(db_path, "SELECT count(*) FROM connections") == [(1,)]


@pytest.mark.parametrize("errorname, message, advice", [
    ("SQLITE_CORRUPT", "cannot read the database {p}: database disk image is malformed", True),
    ("SQLITE_NOTADB", "cannot read the database {p}: file is not a database", True),
    ("SQLITE_FULL", "the disk holding the database {p} is full", False),
    ("SQLITE_READONLY", "the database {p} is read-only: SQLite cannot write the file or create its "
                        "-wal/-shm files beside it", False),
    ("SQLITE_READONLY_DIRECTORY", "the database {p} is read-only: SQLite cannot write the file or create "
                                  "its -wal/-shm files beside it", False),
    ("SQLITE_BUSY", "the database {p} is locked by another process", False),
    ("SQLITE_IOERR_WRITE", "an I/O error on the database {p} (SQLITE_IOERR_WRITE)", False),
])
def test_only_damage_gets_the_backup_advice(tmp_path, errorname, message, advice):
    path = tmp_path / "provctl.db"
    texts = {"SQLITE_CORRUPT": "database disk image is malformed", "SQLITE_NOTADB": "file is not a database"}
    exc = sqlite3.OperationalError(texts.get(errorname, "some failure"))
    exc.sqlite_errorname = errorname
    error = dbfile.database_error(path, exc)
    assert error.exit_code == 1
    assert error.message == message.format(p=path)
    assert (BACKUP_ADVICE in error.hint) is advice


@pytest.mark.parametrize("code, hint", [
    (errno.ENOSPC, "free some space and try again"),
    (errno.EFBIG, "raise the file-size limit (ulimit -f unlimited) and try again"),
    (errno.EROFS, "the file system is read-only: point --db / PROVCTL_DB at a writable place"),
    (errno.EACCES, "check the path and its permissions"),
])
def test_an_os_error_creating_the_database_gets_the_hint_of_its_kind(cli, tmp_path, monkeypatch, code, hint):
    from provctl.db import paths

    target = tmp_path / "new" / "provctl.db"

    def refuse(path):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(dbfile, "ensure_private_file", refuse)
    monkeypatch.setattr(paths, "ensure_private_file", refuse)
    assert_error(cli("--db", str(target), "connect", "ollama"), 1, f"{os.strerror(code)}: {target}", hint)
