"""Health data is private whatever the umask: data directories 0700, store files 0600 (issue 10 item 9).

The server (``account create`` then ``serve`` on its own data directory) and a device (``remote set``,
``init``, ``sync``) run as real processes under ``umask 022``, from homes that do not exist yet. While
the server runs, its SQLite file and the ``-wal`` and ``-shm`` files beside it are checked too. A data
directory that is already readable by others is warned about, with the command that fixes it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_process import ROOT, ServerProcess, free_port, serve_command, server_env

pytestmark = pytest.mark.timeout(300)


def umask_022(command: list[str]) -> list[str]:
    return ["sh", "-c", 'umask 022 && exec "$@"', "sh", *command]


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(umask_022([sys.executable, "-m", "cli", *args]), cwd=ROOT, env=server_env(home),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (args, proc.stderr)
    return proc


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_the_server_and_a_device_keep_their_files_private_under_umask_022(tmp_path):
    server_home = tmp_path / "server" / "data"
    db = f"sqlite:///{server_home / 'backstory.sqlite'}"
    made = json.loads(run(server_home, "--db", db, "account", "create", "sam", "--json").stdout)
    port = free_port()
    server = ServerProcess(umask_022(serve_command(db, port)), port, server_env(server_home), tmp_path / "server.log",
                           ready="/readyz")
    try:
        device_home = tmp_path / "phone" / "backstory"
        run(device_home, "remote", "set", server.url, "--token", made["token"])
        run(device_home, "init", "--name", "Sam", "--timezone", "UTC")
        synced = run(device_home, "sync")
        assert "pushed 1" in synced.stdout, synced.stdout
        served = {p.name: mode(p) for p in server_home.iterdir()}
        assert {"backstory.sqlite-wal", "backstory.sqlite-shm"} <= set(served)  # open: SQLite made them
    finally:
        log = server.stop()
    assert mode(server_home) == "0o700", log
    assert set(served.values()) == {"0o600"}, served
    assert mode(device_home) == "0o700"
    device_files = {p.name: mode(p) for p in device_home.iterdir()}
    assert "backstory.sqlite" in device_files and "remote.json" in device_files
    assert set(device_files.values()) == {"0o600"}, device_files
    assert "chmod" not in synced.stderr and "warning" not in log


def test_a_data_directory_others_can_read_is_warned_about_with_the_fix(tmp_path):
    home = tmp_path / "loose"
    home.mkdir()
    os.chmod(home, 0o755)  # made by something else, or by an older backstory
    shown = run(home, "init", "--name", "Sam", "--timezone", "UTC")
    assert f"chmod 700 {home}" in shown.stderr, shown.stderr
    assert mode(home) == "0o755"  # a warning, never a silent change of someone's directory
    assert mode(home / "backstory.sqlite") == "0o600"
    os.chmod(home, 0o700)
    os.chmod(home / "backstory.sqlite", 0o644)
    shown = run(home, "show")
    assert f"chmod 600 {home / 'backstory.sqlite'}" in shown.stderr and "chmod 700" not in shown.stderr, shown.stderr
    os.chmod(home / "backstory.sqlite", 0o600)
    assert run(home, "show").stderr == ""
