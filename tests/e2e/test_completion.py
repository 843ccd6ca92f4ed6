"""Shell completion (issue 11 item 6): commands, options and the program's exercise names, from the real CLI.

Each case runs ``backstory`` as bash runs it on TAB (``_BACKSTORY_COMPLETE=bash_complete`` with
``COMP_WORDS``/``COMP_CWORD``) and reads the ``type,value`` lines it prints.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Cli


def complete(cli, words: str, *, home=None) -> subprocess.CompletedProcess:
    env = cli.env()
    if home is not None:
        env["BACKSTORY_HOME"] = str(home)
    env.update(_BACKSTORY_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD=str(len(words.split(" ")) - 1))
    return subprocess.run([sys.executable, "-m", "cli"], capture_output=True, text=True, env=env, timeout=60)


def values(done: subprocess.CompletedProcess) -> list[str]:
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]  # no items: one empty line


def test_exercise_names_commands_and_options_complete(cli):
    cli.ok("init", "--name", "Sam")
    for name in ("Dead bug", "Bird dog", "Deadlift"):
        cli.ok("add", name, "--position", "1", "--sets", "3", "--reps", "8")
    cli.ok("retire", "Bird dog", "--reason", "not for now")
    cli.ok("retire", "Deadlift", "--reason", "not for now")
    cli.ok("add", "Bird dog", "--position", "2", "--sets", "3", "--reps", "6")  # a retired name taken again

    assert values(complete(cli, "backstory log de")) == ["Dead bug", "Deadlift"]  # any case; retired last
    assert values(complete(cli, "backstory history ")) == ["Bird dog", "Dead bug", "Deadlift"]
    assert values(complete(cli, "backstory deconstruct x --into B")) == ["Bird dog"]
    assert values(complete(cli, "backstory hi")) == ["history"]
    assert {"--as-of", "--known-at", "--json"} <= set(values(complete(cli, "backstory show --")))


def test_completion_without_a_store_offers_nothing_and_creates_nothing(tmp_path):
    """The default store (a SQLite file in the home) is what is tested: no --db, on any backend's run."""
    home = tmp_path / "empty-home"
    assert values(complete(Cli(home, None), "backstory log de")) == []
    assert not home.exists()
