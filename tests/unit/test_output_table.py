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
