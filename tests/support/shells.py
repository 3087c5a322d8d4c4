"""Drive real bash, zsh and fish through provctl's completion scripts.

``candidates(shell, env, lines)`` types each line and asks for completion, and returns what
the shell's own machinery produced for it:

  bash  an interactive bash on a pseudo-terminal; TAB runs the script's ``_provctl`` through
        readline (real ``COMP_LINE``, ``COMP_POINT`` and ``$2``), and a wrapper registered in
        its place records ``COMPREPLY`` (bash inserts what is there, unfiltered);
  zsh   an interactive zsh (compinit loaded) on a pseudo-terminal; a completion widget calls
        the script's ``_provctl`` with zsh's real ``words``/``CURRENT``/``PREFIX``, and records
        what ``compadd -O`` says would match the word on the line (zsh's own matching);
  fish  ``complete -C LINE``: fish's completion engine, matching included.

``typed(shell, env, keys)`` types ``keys`` (with ``\\t`` for TAB) into an interactive shell,
presses Enter and returns the argv that ``provctl`` was run with — a shell function standing in
for provctl records it, while the completion script still runs the real console script
(``command provctl``). So the test sees how the shell quoted what it inserted.

``env`` must put the console script under test first on PATH. A missing shell fails the test
(``./scripts/test`` installs zsh and fish): it is never skipped.
"""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TIMEOUT = 60.0

# provctl stands in for itself when the line is run: it prints its argv between markers that
# its own definition (echoed by the terminal) does not contain
_RECORD = {
    "bash": 'provctl() { printf "%s%s" "AR" "GV"; printf "<%s>" "$@"; printf "%s%s\\n" "EN" "D"; }\n',
    "zsh": 'provctl() { printf "%s%s" "AR" "GV"; printf "<%s>" "$@"; printf "%s%s\\n" "EN" "D"; }\n',
    "fish": 'function provctl; printf "%s%s" "AR" "GV"; printf "<%s>" $argv; printf "%s%s\\n" "EN" "D"; end\n',
}
_ARGV = re.compile(r"ARGV((?:<[^>]*>)*)END")


def shell_path(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: ./scripts/test installs it with apt-get (as root); "
                    f"otherwise install it yourself (apt-get install --no-install-recommends {name})")
    return path


def _argv(shell: str) -> list[str]:
    exe = shell_path(shell)
    return {
        "bash": [exe, "--norc", "--noprofile", "-i"],
        "zsh": [exe, "-f", "-i"],
        "fish": [exe, "--no-config", "--private", "-i"],
    }[shell]


def _session(argv: list[str], env: dict, setup: str, keys: str, cwd: str | None = None) -> str:
    """Run an interactive shell on a pseudo-terminal: run ``setup``, wait for its prompt, type
    ``keys`` (which should end with ``exit``) and return all it printed once it exits.

    Keys are typed only at a prompt: before the line editor takes the terminal, the terminal
    driver itself would interpret them (C-u would erase the line, TAB would be a character)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            if cwd:
                os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    out = bytearray()
    ready = re.compile(rb"READY-42.*\$ ", re.S)
    try:
        handshake = ("function fish_prompt; printf '$ '; end\necho READY-(math 40 + 2)\n" if "fish" in argv[0]
                     else "PS1='$ '\necho READY-$((40+2))\n")
        os.write(fd, (setup + handshake).encode())
        deadline = time.monotonic() + TIMEOUT
        typed = False
        while True:
            if time.monotonic() > deadline:
                pytest.fail(f"{argv[0]} did not finish within {TIMEOUT} s:\n{out.decode(errors='replace')}")
            if not typed and ready.search(out):
                os.write(fd, keys.encode())
                typed = True
            readable, _, _ = select.select([fd], [], [], 0.2)
            if not readable:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the shell exited
                break
            if not chunk:
                break
            out += chunk
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


def _env(env: dict) -> dict:
    return {**env, "TERM": "dumb", "HISTFILE": "/dev/null"}


def _bash_setup(dump: str) -> str:
    return (
        'eval "$(command provctl completion bash)"\n'
        f"_provctl_dump() {{ _provctl \"$@\"; _n=$((_n+1)); printf '%s\\0' \"${{COMPREPLY[@]}}\" > {dump}.$_n; }}\n"
        "complete -F _provctl_dump provctl\n"
    )


def _zsh_setup(dump: str) -> str:
    return (
        "bindkey -e\nautoload -Uz compinit && compinit -u -D\n"
        'eval "$(command provctl completion zsh)"\n'
        "_provctl_dump() {\n"
        f"  _n=$((_n+1)); local out={dump}.$_n; : >| $out\n"
        "  compadd() { local -a m; builtin compadd -O m \"$@\"; (( $#m )) && print -rN -- \"${m[@]}\" >> $out; }\n"
        "  _files() { print -rN -- '<files>' >> $out; }\n"
        "  _provctl\n"
        "  unfunction compadd _files\n"
        "}\n"
        "zle -C provctl-dump complete-word _provctl_dump\n"
        "bindkey '^T' provctl-dump\n"
    )


def candidates(shell: str, env: dict, lines: list[str], *, cwd: str | None = None) -> list[list[str]]:
    """What completing at the end of each line offers, per line (see the module docstring)."""
    if shell == "fish":
        script = ("command provctl completion fish | source\n"
                  "for line in $argv\n  complete -C $line\n  echo '<<end>>'\nend\n")
        proc = subprocess.run([*_argv("fish")[:-1], "-c", script, *lines], env=_env(env), cwd=cwd,
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
        chunks = proc.stdout.split("<<end>>\n")[: len(lines)]
        return [[row.split("\t")[0] for row in chunk.splitlines() if row] for chunk in chunks]
    with tempfile.TemporaryDirectory(prefix="provctl-complete-") as tmp:
        dump = str(Path(tmp) / "dump")
        if shell == "bash":
            setup, ask, clear = _bash_setup(dump), "\t", "\x15"  # TAB, then C-u: unix-line-discard
        else:
            setup, ask, clear = _zsh_setup(dump), "\x14", "\x15"  # C-t: the dump widget; C-u: kill-whole-line
        keys = "".join(line + ask + clear for line in lines) + "exit\n"
        output = _session(_argv(shell), _env(env), setup, keys, cwd)
        found = []
        for n in range(1, len(lines) + 1):
            path = Path(f"{dump}.{n}")
            if not path.exists():
                pytest.fail(f"{shell}: completion did not run for line {n} ({lines[n - 1]!r}):\n{output}")
            found.append([c for c in path.read_text(encoding="utf-8").split("\0") if c])
        return found


def complete(shell: str, env: dict, line: str, **kw) -> list[str]:
    return candidates(shell, env, [line], **kw)[0]


def typed(shell: str, env: dict, keys: str, *, cwd: str | None = None) -> list[str]:
    """Type ``keys`` (``\\t`` = TAB), press Enter: the argv provctl was run with."""
    if shell == "bash":
        setup = 'eval "$(command provctl completion bash)"\n'
    elif shell == "zsh":
        setup = 'bindkey -e\nautoload -Uz compinit && compinit -u -D\neval "$(command provctl completion zsh)"\n'
    else:
        setup = "command provctl completion fish | source\n"
    output = _session(_argv(shell), _env(env), setup + _RECORD[shell], keys + "\nexit\n", cwd)
    found = _ARGV.findall(output)
    if len(found) != 1:
        pytest.fail(f"{shell}: expected one provctl run, got {found}:\n{output}")
    return re.findall(r"<([^>]*)>", found[0])
