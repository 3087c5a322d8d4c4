"""Status colours with the installed console script (SPEC §2, issue 11): on a real
pseudo-terminal the statuses are coloured; NO_COLOR turns that off; a pipe and --json never
carry an escape code. No keyring is needed: local and --key-env connections only."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest

COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;[0-9;]+)m")  # a foreground colour


def on_a_terminal(argv: list[str], env: dict, timeout: float = 60) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdin, stdout and stderr; (exit code, what the
    terminal showed)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


@pytest.fixture
def tty_env(e2e_env):
    env = {k: v for k, v in e2e_env.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="200")
    return env


@pytest.fixture
def connections(provctl_bin, tty_env):
    def run(*args):
        subprocess.run([str(provctl_bin), *args], env=tty_env, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)

    run("connect", "ollama", "--label", "Laptop")  # active
    run("connect", "openai", "--label", "CI", "--key-env", "PROVCTL_E2E_UNSET_KEY")  # no_key
    run("connect", "ollama", "--label", "Old", "--base-url", "http://127.0.0.1:1")
    run("providers", "disable", "ollama/Old")  # disabled


def test_statuses_are_coloured_on_a_terminal(provctl_bin, tty_env, connections):
    code, shown = on_a_terminal([str(provctl_bin), "providers", "list"], tty_env)
    assert code == 0, shown
    assert "\x1b[32mactive\x1b[0m" in shown
    assert "\x1b[33mno_key\x1b[0m" in shown and "\x1b[33mdisabled\x1b[0m" in shown


def test_no_color_turns_them_off_on_a_terminal(provctl_bin, tty_env, connections):
    code, shown = on_a_terminal([str(provctl_bin), "providers", "list"], {**tty_env, "NO_COLOR": "1"})
    assert code == 0, shown
    assert not COLOUR.search(shown), repr(shown)
    assert "no_key" in shown and "active" in shown


def test_json_on_a_terminal_and_a_pipe_carry_no_escape_codes(provctl_bin, tty_env, connections):
    code, shown = on_a_terminal([str(provctl_bin), "providers", "list", "--json"], tty_env)
    assert code == 0, shown
    assert "\x1b" not in shown and '"status": "no_key"' in shown
    piped = subprocess.run([str(provctl_bin), "providers", "list"], env=tty_env, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout and "no_key" in piped.stdout
