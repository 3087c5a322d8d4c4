"""`provctl exec` as a process (SPEC §9): the console script's entry (``python -m provctl``) in a
subprocess, keys in environment variables (no keyring needed; the e2e tier adds the real
Secret Service and the providers' SDKs).

Exit statuses (CMD's own, 128+N, 5 without starting CMD, 127/126, 2, 3), the variables CMD
gets and the shadowing ones it does not, masking split across writes on stdout and stderr,
a line passed on at once, stdin and argv untouched, signals reaching CMD in both modes, and
the default mode chosen by whether stdout and stderr are terminals.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

WORK = "sk-work-" + "W" * 20 + "-1111"
BACKUP = "sk-backup-" + "B" * 20 + "-2222"
TEAM = "sk-ant-api03-" + "T" * 20 + "-3333"
MAX = "sk-ant-oat01-" + "M" * 20 + "-4444"
KEYS = {"WORK_KEY": WORK, "BACKUP_KEY": BACKUP, "TEAM_KEY": TEAM, "MAX_TOKEN": MAX}
PY = sys.executable
TIMEOUT = 60


@pytest.fixture
def world(cli, db_path):
    """gpt: 1 openai/Work ($WORK_KEY), 2 openai/Backup ($BACKUP_KEY); claude-api: anthropic
    api_key Team; claude-max: anthropic subscription Max; llama: a local openai-compatible
    gateway; off: a disabled model; empty: no connections."""
    for args in (
        ("connect", "openai", "--label", "Work", "--key-env", "WORK_KEY"),
        ("connect", "openai", "--label", "Backup", "--key-env", "BACKUP_KEY"),
        ("connect", "anthropic", "--label", "Team", "--key-env", "TEAM_KEY"),
        ("connect", "anthropic", "--label", "Max", "--auth", "subscription", "--key-env", "MAX_TOKEN"),
        ("connect", "openai-compatible", "--label", "Gateway", "--auth", "local",
         "--base-url", "http://127.0.0.1:9/v1"),
        ("model", "add", "gpt", "--provider", "openai", "--upstream", "gpt-4o-2024-08-06",
         "--attach", "Work", "--attach", "Backup", "--default"),
        ("model", "add", "claude-api", "--provider", "anthropic", "--attach", "Team"),
        ("model", "add", "claude-max", "--provider", "anthropic", "--attach", "Max"),
        ("model", "add", "llama", "--provider", "openai-compatible", "--attach", "Gateway"),
        ("model", "add", "off", "--provider", "openai", "--attach", "Work"),
        ("model", "update", "off", "--disable"),
        ("model", "add", "empty", "--provider", "mistral"),
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    env = {"PATH": os.environ.get("PATH", os.defpath), "PROVCTL_DB": str(db_path),
           "PROVCTL_USER": "alice", "NO_COLOR": "1", **KEYS}
    if "SYSTEMROOT" in os.environ:  # pragma: no cover
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def provctl(world, *args, env=None, input=None, **kw):
    full = dict(world)
    for name, value in (env or {}).items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return subprocess.run([PY, "-m", "provctl", *args], env=full, input=input,
                          capture_output=True, timeout=TIMEOUT, **kw)


def start(world, *args, env=None, **kw):
    full = dict(world, **(env or {}))
    return subprocess.Popen([PY, "-m", "provctl", *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, **kw)


def py(code: str) -> list[str]:
    """A CMD: this Python running ``code``."""
    return [PY, "-c", textwrap.dedent(code)]


SHOW = py("""
    import os, sys
    print("|".join(os.environ.get(name, "-") for name in sys.argv[1:]))
""")


def read_line(stream, timeout: float = 20.0, fail=lambda: b"") -> bytes:
    """One line from a pipe within ``timeout`` seconds (it must not wait for the process)."""
    deadline = time.monotonic() + timeout
    data = b""
    fd = stream.fileno()
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        assert ready, f"no complete line within {timeout} s (got {data!r})"
        chunk = os.read(fd, 1)
        assert chunk, f"end of stream before a line (got {data!r}) {fail()!r}"
        data += chunk
    return data


# ---------------------------------------------------------------- what CMD gets


def test_cmd_gets_the_selected_key_and_the_family_variables(world):
    proc = provctl(world, "exec", "gpt", "--no-mask", "--", *SHOW, "OPENAI_API_KEY", "OPENAI_BASE_URL",
                   "PROVCTL_PROVIDER", "PROVCTL_MODEL", "PROVCTL_CONNECTION", "PROVCTL_API_KEY",
                   "PROVCTL_BASE_URL", env={"OPENAI_API_KEY": "sk-inherited"})
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == (f"{WORK}|https://api.openai.com/v1|openai|gpt-4o-2024-08-06|"
                                    f"openai/api_key/Work|{WORK}|https://api.openai.com/v1\n")


def test_fallback_to_the_next_connection_with_its_skip_line(world):
    proc = provctl(world, "exec", "gpt", "--no-mask", "--", *SHOW, "OPENAI_API_KEY",
                   env={"WORK_KEY": None})
    assert proc.returncode == 0 and proc.stdout.decode() == f"{BACKUP}\n"
    assert proc.stderr.decode().startswith("Skipped openai/api_key/Work (priority 1): no_key")
    quiet = provctl(world, "exec", "gpt", "--quiet", "--no-mask", "--", *SHOW, "OPENAI_API_KEY",
                    env={"WORK_KEY": None})
    assert (quiet.returncode, quiet.stdout.decode(), quiet.stderr) == (0, f"{BACKUP}\n", b"")


def test_anthropic_subscription_unsets_an_inherited_api_key(world):
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_BASE_URL")
    proc = provctl(world, "exec", "claude-max", "--no-mask", "--", *SHOW, *names,
                   env={"ANTHROPIC_API_KEY": "sk-ant-inherited"})
    assert proc.stdout.decode() == f"-|{MAX}|{MAX}|https://api.anthropic.com\n"
    api = provctl(world, "exec", "claude-api", "--no-mask", "--", *SHOW, *names,
                  env={"ANTHROPIC_AUTH_TOKEN": "inherited", "CLAUDE_CODE_OAUTH_TOKEN": "inherited"})
    assert api.stdout.decode() == f"{TEAM}|-|-|https://api.anthropic.com\n"


def test_a_local_gateway_gets_the_literal_local_key(world):
    proc = provctl(world, "exec", "llama", "--", *SHOW, "OPENAI_API_KEY", "PROVCTL_API_KEY",
                   "OPENAI_BASE_URL", env={"OPENAI_API_KEY": "sk-real-inherited"})
    assert proc.stdout.decode() == "local||http://127.0.0.1:9/v1\n"


def test_the_rest_of_the_environment_passes_through(world):
    proc = provctl(world, "exec", "--no-mask", "--", *SHOW, "MY_SETTING", "PROVCTL_MODEL",
                   env={"MY_SETTING": "kept as is"})
    assert proc.stdout.decode() == "kept as is|gpt-4o-2024-08-06\n"  # the default model


# ---------------------------------------------------------------- exit statuses


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_the_exit_status_is_cmd_s_own(world, mode):
    assert provctl(world, "exec", "gpt", mode, "--", *py("raise SystemExit(7)")).returncode == 7
    assert provctl(world, "exec", "gpt", mode, "--", "true").returncode == 0


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_a_cmd_killed_by_signal_n_gives_128_plus_n(world, mode):
    # as a shell sees it: --mask exits 128+N; with --no-mask provctl's process *is* CMD and is
    # ended by the signal itself, which the shell reports as 128+N too
    script = f'"$0" -m provctl exec gpt {mode} -- sh -c "kill -$1 \\$\\$"; echo "status=$?"'
    for sig in (9, 15):
        proc = subprocess.run(["sh", "-c", script, PY, str(sig)], env=world, capture_output=True,
                              timeout=TIMEOUT)
        assert proc.stdout.decode().splitlines()[-1] == f"status={128 + sig}", proc.stderr
    direct = provctl(world, "exec", "gpt", mode, "--", *py("import os; os.kill(os.getpid(), 9)"))
    assert direct.returncode == (128 + 9 if mode == "--mask" else -9)


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_a_missing_command_is_127(world, mode, tmp_path):
    proc = provctl(world, "exec", "gpt", mode, "--", "no-such-command-xyz", "arg")
    assert (proc.returncode, proc.stdout) == (127, b"")
    assert proc.stderr.decode().splitlines() == [
        "Error: command not found: no-such-command-xyz",
        "Hint: check the name, or give the program's path (PATH is searched as a shell does)"]
    path = provctl(world, "exec", "gpt", mode, "--", str(tmp_path / "nothing"))
    assert path.returncode == 127
    script = tmp_path / "script"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    missing = provctl(world, "exec", "gpt", mode, "--", str(script))
    assert missing.returncode == 127
    assert missing.stderr.decode().startswith(f"Error: cannot run {script}: No such file or directory\n")


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_a_command_that_cannot_run_is_126(world, mode, tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o644)
    proc = provctl(world, "exec", "gpt", mode, "--", str(script))
    assert (proc.returncode, proc.stdout) == (126, b"")
    assert proc.stderr.decode().splitlines() == [
        f"Error: cannot run {script}: permission denied (not executable)",
        f"Hint: make it executable (chmod +x), or run it through its interpreter (e.g. sh {script})"]
    directory = provctl(world, "exec", "gpt", mode, "--", str(tmp_path))
    assert directory.returncode == 126
    assert directory.stderr.decode().startswith(f"Error: cannot run {tmp_path}: is a directory\n")
    # found on PATH but not executable: 126, as `env` says
    in_path = provctl(world, "exec", "gpt", mode, "--", "not-executable",
                      env={"PATH": f"{tmp_path}:{world['PATH']}"})
    assert in_path.returncode == 126


def test_nothing_usable_is_exit_5_and_cmd_is_not_started(world, tmp_path):
    marker = tmp_path / "started"
    cmd = ["sh", "-c", f"touch {marker}"]
    for model, error in (("off", "Error: model off is disabled"),
                         ("empty", "Error: model empty has no connections attached")):
        proc = provctl(world, "exec", model, "--", *cmd)
        assert (proc.returncode, proc.stdout) == (5, b"")
        assert proc.stderr.decode().splitlines()[0] == error
    for quiet in ([], ["--quiet"]):  # the reasons are printed, quiet or not
        proc = provctl(world, "exec", "gpt", *quiet, "--", *cmd, env={"WORK_KEY": None, "BACKUP_KEY": " "})
        assert (proc.returncode, proc.stdout) == (5, b"")
        lines = proc.stderr.decode().splitlines()
        assert lines[0].startswith("Skipped openai/api_key/Work (priority 1): no_key")
        assert lines[1].startswith("Skipped openai/api_key/Backup (priority 2): no_key")
        assert lines[2] == "Error: no usable connection for model gpt (2 skipped)"
    assert not marker.exists()


def test_usage_errors_and_an_unknown_model(world, tmp_path):
    marker = tmp_path / "started"
    no_dashes = provctl(world, "exec", "gpt", "sh", "-c", f"touch {marker}")
    assert (no_dashes.returncode, no_dashes.stderr.decode().splitlines()) == (2, [
        "Error: exec needs `--` before the command to run",
        "Hint: provctl exec [MODEL] [OPTIONS] -- CMD [ARG ...]"])
    assert provctl(world, "exec", "gpt").returncode == 2
    empty = provctl(world, "exec", "gpt", "--")
    assert (empty.returncode, empty.stderr.decode().splitlines()[0]) == (2, "Error: no command after `--`")
    unknown = provctl(world, "exec", "nope", "--", "sh", "-c", f"touch {marker}")
    assert (unknown.returncode, unknown.stderr.decode().splitlines()[0]) == (3, "Error: no model named 'nope'")
    assert provctl(world, "exec", "gpt", "--bogus", "--", "true").returncode == 2
    assert not marker.exists()


# ---------------------------------------------------------------- masking


SPLIT = py("""
    import os, sys, time
    key = os.environ["PROVCTL_API_KEY"]
    half = len(key) // 2
    for fd in (1, 2):  # each half in its own write, some time apart
        os.write(fd, b"token=" + key[:half].encode())
        time.sleep(0.2)
        os.write(fd, key[half:].encode() + b" end\\n")
    os.write(1, ("again " + key + key + "\\n").encode())
""")


def test_mask_replaces_the_secret_split_across_writes_on_stdout_and_stderr(world):
    proc = provctl(world, "exec", "gpt", "--mask", "--", *SPLIT)
    assert proc.returncode == 0
    assert proc.stdout == b"token=<masked> end\nagain <masked><masked>\n"
    assert proc.stderr == b"token=<masked> end\n"
    default = provctl(world, "exec", "gpt", "--", *SPLIT)  # stdout and stderr are pipes: masked
    assert (default.stdout, default.stderr) == (proc.stdout, proc.stderr)


def test_no_mask_passes_the_output_through(world):
    proc = provctl(world, "exec", "gpt", "--no-mask", "--", *SPLIT)
    assert proc.stdout == f"token={WORK} end\nagain {WORK}{WORK}\n".encode()
    assert proc.stderr == f"token={WORK} end\n".encode()


def test_a_line_reaches_the_reader_at_once_and_stdin_is_cmd_s(world):
    cmd = py("""
        import os, sys
        key = os.environ["PROVCTL_API_KEY"]
        print("ready " + key, flush=True)
        line = sys.stdin.readline()  # blocks until the test answers: provctl must not buffer
        print("got " + line.strip(), flush=True)
        print("partial " + key[:5], end="", flush=True)
    """)
    proc = start(world, "exec", "gpt", "--mask", "--", *cmd, stdin=subprocess.PIPE)
    try:
        assert read_line(proc.stdout) == b"ready <masked>\n"
        proc.stdin.write(b"hello\n")
        proc.stdin.flush()
        assert read_line(proc.stdout) == b"got hello\n"
        proc.stdin.close()
        assert proc.stdout.read() == b"partial " + WORK[:5].encode()  # released at the end
        assert proc.wait(TIMEOUT) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_stdin_passes_untouched(world, mode):
    data = bytes(range(256)) * 64 + WORK.encode() + b"\r\n\x00 tail without newline"
    cmd = py("import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())")
    proc = provctl(world, "exec", "gpt", mode, "--", *cmd, input=data)
    assert proc.stdout.decode().strip() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
def test_argv_passes_untouched(world, mode):
    args = ["a b", "", "--", "--help", "-x", "$HOME", "x'y\"z", "gpt", "--no-mask", "é\u202e"]
    cmd = py("import json, sys; print(json.dumps(sys.argv[1:]))")
    proc = provctl(world, "exec", "gpt", mode, "--", *cmd, *args)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, args)


def test_the_key_is_not_in_provctl_s_own_argv(world):
    cmd = py("""
        import json, os
        argvs = []
        for pid in (os.getpid(), os.getppid()):  # CMD, and provctl that runs it (--mask)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argvs.append(f.read().decode())
        print(json.dumps(argvs))
    """)
    proc = provctl(world, "exec", "gpt", "--mask", "--", *cmd, env={"WORK_KEY": None})
    own, parent = json.loads(proc.stdout)
    assert "\0provctl\0exec\0gpt\0--mask\0--\0" in parent
    assert BACKUP not in own + parent and BACKUP not in proc.stderr.decode()


# ---------------------------------------------------------------- signals


HANDLER = py("""
    import os, signal, time
    def handle(signum, frame):  # os.write: a print() may be interrupted inside its own flush
        os.write(1, f"got {signum} in {os.getpid()}\\n".encode())
        os._exit(100 + signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handle)
    os.write(1, f"ready {os.getpid()}\\n".encode())
    time.sleep(30)
    os.write(1, b"not signalled\\n")
""")


@pytest.mark.parametrize("mode", ["--mask", "--no-mask"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_signals_sent_to_provctl_reach_cmd(world, mode, sig):
    proc = start(world, "exec", "gpt", mode, "--", *HANDLER, stdin=subprocess.DEVNULL)
    try:
        ready = read_line(proc.stdout).decode().split()
        cmd_pid = int(ready[1])
        # --no-mask: CMD *is* provctl's process (execve); --mask: CMD is its child
        assert (cmd_pid == proc.pid) == (mode == "--no-mask")
        os.kill(proc.pid, sig)
        got = read_line(proc.stdout, fail=lambda: proc.stderr.read()).decode()
        assert got == f"got {int(sig)} in {cmd_pid}\n"
        assert proc.wait(TIMEOUT) == 100 + sig
    finally:
        proc.kill()


def test_ctrl_c_at_a_terminal_reaches_cmd_once(world):
    """The terminal sends SIGINT to its whole foreground process group, CMD included: provctl
    (--mask) must not pass a second one on, or a CMD that cleans up on the first is cut short."""
    import fcntl
    import termios

    leader, follower = pty.openpty()

    def own_terminal():  # a new session whose controlling terminal is the pty
        os.setsid()
        fcntl.ioctl(follower, termios.TIOCSCTTY, 0)

    # CMD takes its SIGINTs one by one (blocked + sigtimedwait), so two deliveries a few
    # milliseconds apart count as two instead of merging into one pending signal
    cmd = py("""
        import os, signal
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        os.write(1, b"ready\\n")
        got = [signal.sigtimedwait({signal.SIGINT}, 20)]
        while got[-1] is not None:
            got.append(signal.sigtimedwait({signal.SIGINT}, 1.0))
        os.write(1, f"count {len(got) - 1}\\n".encode())
    """)
    proc = subprocess.Popen([PY, "-m", "provctl", "exec", "gpt", "--mask", "--", *cmd], env=world,
                            stdin=follower, stdout=subprocess.PIPE, stderr=follower,
                            preexec_fn=own_terminal)
    try:
        os.close(follower)
        assert read_line(proc.stdout) == b"ready\n"
        os.write(leader, b"\x03")  # Ctrl-C typed at the terminal
        assert read_line(proc.stdout) == b"count 1\n"
        assert proc.wait(TIMEOUT) == 0
    finally:
        proc.kill()
        os.close(leader)


def test_a_cmd_ended_by_a_forwarded_sigterm_gives_143(world):
    cmd = py("import os, time; os.write(1, b'ready\\n'); time.sleep(30)")
    proc = start(world, "exec", "gpt", "--mask", "--", *cmd, stdin=subprocess.DEVNULL)
    try:
        assert read_line(proc.stdout) == b"ready\n"
        proc.terminate()
        assert proc.wait(TIMEOUT) == 128 + 15
    finally:
        proc.kill()


# ---------------------------------------------------------------- the default mode


def test_the_default_is_execve_when_stdout_and_stderr_are_terminals(world):
    cmd = py("import os, sys; print('pid', os.getpid(), os.environ['PROVCTL_API_KEY'])")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([PY, "-m", "provctl", "exec", "gpt", "--", *cmd], env=world,
                                stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            out += chunk
        assert proc.wait(TIMEOUT) == 0
    finally:
        os.close(leader)
    # the same pid (provctl replaced itself) and the key unmasked: the tool owns its terminal
    assert out.decode().split() == ["pid", str(proc.pid), WORK]

    piped = provctl(world, "exec", "gpt", "--", *cmd)
    pid, key = piped.stdout.decode().split()[1:]
    assert key == "<masked>"


def test_probe_goes_through_the_typer_command_and_skips_a_failing_endpoint(world, cli, fake):
    from tests.support.fakeprovider import models_reply, status_reply

    fake.set("/bad/models", status_reply(401))
    fake.set("/good/models", models_reply("openai", "gpt-4o"))
    cli("connect", "openai", "--label", "Bad", "--key-env", "WORK_KEY", "--base-url", f"{fake.url}/bad")
    cli("connect", "openai", "--label", "Good", "--key-env", "BACKUP_KEY", "--base-url", f"{fake.url}/good")
    cli("model", "add", "probed", "--provider", "openai", "--attach", "Bad", "--attach", "Good")
    proc = provctl(world, "exec", "probed", "--probe", "--timeout", "5", "--no-mask", "--",
                   *SHOW, "PROVCTL_CONNECTION", "OPENAI_API_KEY", env={"NO_PROXY": "*"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"openai/api_key/Good|{BACKUP}\n"
    assert proc.stderr.decode() == ("Skipped openai/api_key/Bad (priority 1): probe_failed — "
                                    "unauthorized: HTTP 401\n")
    assert fake.requests[0].header("authorization") == f"Bearer {WORK}"


def test_agent_access_decides_what_cmd_is_handed(world, cli, tmp_path):
    """SPEC §10: `exec --agent` runs the same walk as `resolve --agent`: an unknown agent is
    exit 3 and a listed agent with nothing usable granted exit 5, CMD never started; a listed
    agent's CMD gets the granted connection, not the higher-priority denied one."""
    for args in (("agent", "add", "ci-bot", "--access", "listed"), ("agent", "grant", "ci-bot", "openai/Backup")):
        assert cli(*args).exit_code == 0
    marker = tmp_path / "started"
    unknown = provctl(world, "exec", "gpt", "--agent", "nobody", "--", "touch", str(marker))
    assert (unknown.returncode, unknown.stdout) == (3, b"")
    assert unknown.stderr.decode().splitlines()[0] == "Error: no agent named 'nobody'"
    assert cli("agent", "revoke", "ci-bot", "openai/Backup").exit_code == 0
    locked = provctl(world, "exec", "gpt", "--agent", "ci-bot", "--", "touch", str(marker))
    assert locked.returncode == 5 and locked.stderr.decode().count(": agent_denied") == 2
    assert not marker.exists()
    assert cli("agent", "grant", "ci-bot", "openai/Backup").exit_code == 0
    shown = provctl(world, "exec", "gpt", "--agent", "ci-bot", "--no-mask", "--",
                    "sh", "-c", 'printf "%s|%s" "$OPENAI_API_KEY" "$PROVCTL_CONNECTION"')
    assert (shown.returncode, shown.stdout.decode()) == (0, f"{BACKUP}|openai/api_key/Backup")
    assert "Skipped openai/api_key/Work (priority 1): agent_denied" in shown.stderr.decode()
