"""The real CLI on a terminal (a pseudo-terminal): a rich table; with NO_COLOR, the plain text a pipe gets."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def on_pty(cli, *args: str, **extra: str) -> str:
    leader, follower = pty.openpty()
    env = {k: v for k, v in cli.env().items() if k != "NO_COLOR"}
    env.update(TERM="xterm", COLUMNS="120", **extra)
    done = subprocess.run([sys.executable, "-m", "cli", *args], stdout=follower, stderr=subprocess.PIPE,
                          env=env, timeout=60)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side is closed: all was read
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert done.returncode == 0, done.stderr
    return out.decode().replace("\r\n", "\n")


def test_show_is_a_table_on_a_terminal_and_plain_with_no_color(cli):
    cli.ok("init", "--name", "Sam")
    cli.ok("add", "Dead bug", "--position", "1", "--sets", "3", "--reps", "8")
    cli.ok("add", "Short-lever side plank", "--position", "1:side_lying", "--sets", "2", "--hold", "20")
    table = on_pty(cli, "show")
    assert "\x1b[" in table and "───" in table
    assert "exercise" in table and "dose" in table and "2x20s hold" in table
    piped = cli.ok("show").out
    assert "\x1b[" not in piped and "───" not in piped
    plain = on_pty(cli, "show", NO_COLOR="1")
    # the minute can turn between the two runs; everything after the heading is the same
    assert plain.splitlines()[1:] == piped.splitlines()[1:]
    assert "   Dead bug                1 lying, bodyweight, 3x8" in plain
