"""Small helpers the test modules share: raw SQL on the test database, and the Error:/Hint:
shape of a failed command."""

from __future__ import annotations

import sqlite3


def sql(db_path, statement, params=()):
    """Run one statement on the database file in autocommit mode; its rows."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def assert_error(result, code, error, hint=None):
    """Exit ``code``, nothing on stdout, ``Error: error`` on stderr, then ``Hint: hint`` when
    given (otherwise at most a Hint line)."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {error}"
    if hint is not None:
        assert lines[1:] == [f"Hint: {hint}"]
    else:
        assert len(lines) == 1 or lines[1].startswith("Hint: ")
