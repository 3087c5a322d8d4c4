"""Shell completion, served without Typer (standard library only).

The scripts that ``provctl completion bash|zsh|fish`` prints (``scripts``) call the console
script as ``provctl __complete SHELL …`` on every TAB; ``entry.py`` hands that to
``engine.main`` before anything heavy is imported. ``engine`` walks ``tree.TREE`` — a table of
commands, options and arguments generated from the Typer app by ``scripts/gen_docs.py`` (a test
keeps it equal to the live app) — and reads names from the database read-only with ``sqlite3``
(``db.read``): no keyring, network, migration or lock, and nothing at all when the database is
missing, unreadable, locked or not provctl's.
"""
