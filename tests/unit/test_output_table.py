"""``output.table`` to a pipe: a big table is laid out without Rich, as the same text."""

from __future__ import annotations

import pytest

from provctl import output

COLUMNS = ["SOURCE", "ACTION", "AGENT", "PROVIDER", "AUTH", "LABEL", "ID"]
ROWS = [
    ["connections[0]", "created", "—", "openai", "api_key", "Team 0000", "6a4b539a"],
    ["connections[1]", "created", "bot-1", "anthropic", "api_key", "日本語ラベル", "c50be4a1"],
    ["connections[2]", "relabelled", "—", "openai", "api_key", "Work 🔑 (was Old)", "0d2c5e77"],
    ["connections[3]", "skipped", "—", "ollama", "local", "ｗｉｄｅ", ""],
    ["connections[4]", "skipped", None, "ollama", "local", "Ärger ß", ""],
    ["connections[5]", "created", "a" * 40, "openai-compatible", "api_key", "x", "12345678"],
]


def printed(capsys, rows, plain_above: int, monkeypatch) -> str:
    monkeypatch.setattr(output, "PLAIN_ABOVE", plain_above)
    output.table(COLUMNS, rows)
    return capsys.readouterr().out


@pytest.mark.parametrize("copies", [1, 400])
def test_the_plain_layout_prints_what_rich_prints(capsys, monkeypatch, copies):
    rows = ROWS * copies
    by_rich = printed(capsys, rows, plain_above=10**9, monkeypatch=monkeypatch)
    plain = printed(capsys, rows, plain_above=0, monkeypatch=monkeypatch)
    assert plain == by_rich
    assert plain.count("\n") == len(rows) + 1


def test_the_plain_layout_prints_cells_as_data(capsys, monkeypatch):
    out = printed(capsys, [["[bold]x[/]", *"yyyyyy"]], plain_above=0, monkeypatch=monkeypatch)
    assert "[bold]x[/]" in out.splitlines()[1]


# ---------------------------------------------------------------- status colours (SPEC §2)

import re  # noqa: E402

COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;[0-9;]+)m")  # a foreground colour
STATUS_ROWS = [["a1", output.status("active")], ["b2", output.status("no_key")],
               ["c3", output.status("disabled")], ["d4", output.status("keyring_unavailable")],
               ["e5", output.status("key_missing", "the keyring has no entry for it")],
               ["f6", "active"]]  # a plain cell is never coloured, whatever it says


def test_statuses_are_coloured_on_a_terminal(capsys, terminal):
    output.table(["ID", "STATUS"], STATUS_ROWS)
    out = capsys.readouterr().out
    assert "\x1b[32mactive\x1b[0m" in out
    assert "\x1b[33mno_key\x1b[0m" in out and "\x1b[33mdisabled\x1b[0m" in out
    assert "\x1b[31mkeyring_unavailable\x1b[0m" in out
    # only the word: the detail after it keeps the terminal's colour
    assert "\x1b[33mkey_missing\x1b[0m (the keyring has no entry for it)" in out
    assert out.rstrip().splitlines()[-1].split() == ["f6", "active"]  # a plain cell: no codes


def test_fail_is_red_and_ok_green(capsys, terminal):
    output.table(["CHECK", "OK"], [["schema", output.status("ok")], ["keyring", output.status("FAIL")]])
    out = capsys.readouterr().out
    assert "\x1b[32mok\x1b[0m" in out and "\x1b[31mFAIL\x1b[0m" in out


def test_no_color_turns_the_colours_off_on_a_terminal(capsys, terminal, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    output.table(["ID", "STATUS"], STATUS_ROWS)
    out = capsys.readouterr().out
    assert not COLOUR.search(out), repr(out)
    assert "active" in out and "no_key" in out


def test_a_pipe_gets_no_escape_codes_at_all(capsys, monkeypatch):
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    output.table(["ID", "STATUS"], STATUS_ROWS)
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.splitlines()[2].split() == ["b2", "no_key"]


def test_a_narrower_terminal_keeps_the_status_column(capsys, terminal, monkeypatch):
    """Rich shrinks the columns of a table wider than the terminal, down to nothing for a
    short one: a status column keeps the width of its longest word."""
    monkeypatch.setenv("COLUMNS", "100")  # Rich shrinks every column of a too-wide table
    output.table(["ID", "PROVIDER", "LABEL", "STATUS", "KEY"],
                 [["0123456789abcdef", "openai-compatible", "a rather long label " * 3,
                   output.status("no_key"), "$A_RATHER_LONG_VARIABLE_NAME"]])
    out = capsys.readouterr().out
    assert "\x1b[33mno_key\x1b[0m" in out and "STATUS" in out


def test_a_status_cell_is_data_too(capsys, terminal):
    output.table(["STATUS"], [[output.status("[red]x[/]\x1b[2J", "[b]y")]])
    out = capsys.readouterr().out
    assert "[red]x[/]\\x1b[2J ([b]y)" in out and "\x1b[2J" not in out


def test_the_plain_layout_of_a_big_pipe_table_shows_status_words(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    rows = [["a", output.status("expired", "at noon"), *"bcdef"]] * 3
    by_rich = printed(capsys, rows, plain_above=10**9, monkeypatch=monkeypatch)
    plain = printed(capsys, rows, plain_above=0, monkeypatch=monkeypatch)
    assert plain == by_rich and "expired (at noon)" in plain and "\x1b" not in plain
