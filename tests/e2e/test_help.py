"""Help and version: every command explains itself, and asking for help stays light.

These need no store, so they run once (not per backend), in an empty home.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

# Every command of SPEC 7.1 that needs no server.
REQUIRED = [
    "init", "add", "progress", "regress", "adapt", "deconstruct", "rebuild", "promote", "demote", "retire", "pause",
    "resume", "fitting open", "fitting close", "log", "next-day", "break", "checkin", "flare start", "flare end",
    "show", "history", "diff", "recap", "signature", "export", "import",
]


def command_paths() -> list[str]:
    """Every command and subcommand of the real click group, e.g. ``fitting open``."""
    from cli.main import cli

    paths = []
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            paths.append(" ".join(prefix + [name]))
            if isinstance(command, click.Group):
                walk(command, prefix + [name])

    walk(cli, [])
    return paths


def test_the_lazy_command_table_matches_the_modules():
    """cli.main names each command's module without importing it; the modules' COMMANDS are the truth."""
    import importlib

    from cli.main import COMMAND_MODULES

    for module, names in COMMAND_MODULES.items():
        assert tuple(c.name for c in importlib.import_module(module).COMMANDS) == names, module


@pytest.fixture
def run(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    env.update(BACKSTORY_HOME=str(tmp_path / "home"), TZ="UTC")

    def go(*args: str, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *python_flags, "-m", "cli", *args], capture_output=True, text=True,
                              env=env, timeout=60)

    go.home = tmp_path / "home"
    return go


def test_every_required_command_exists():
    assert set(REQUIRED) <= set(command_paths())


def test_root_help(run):
    r = run("--help")
    assert r.returncode == 0, r.stderr
    listed = set(re.findall(r"^\s{2}([a-z][a-z-]*)\s", r.stdout, re.M))
    assert {p.split()[0] for p in REQUIRED} <= listed
    r = run("-h")
    assert r.returncode == 0 and "Usage:" in r.stdout


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_help(run, path):
    r = run(*path.split(), "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Usage: backstory {path}")
    assert r.stderr == ""


def test_help_touches_no_store(run):
    for args in (("--help",), ("show", "--help"), ("log", "--help")):
        assert run(*args).returncode == 0
    assert not (run.home.exists() and any(run.home.glob("*.sqlite")))


def imported(r: subprocess.CompletedProcess) -> set[str]:
    """The modules a ``python -X importtime`` run imported."""
    modules = {line.split("|")[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert "click" in modules  # the import log was captured
    return modules


@pytest.mark.parametrize("args", [("--help",), ("show", "--help"), ("log", "--help"), ("chart", "--help"),
                                  ("report", "--help")])
def test_help_imports_neither_flask_nor_sqlalchemy_nor_matplotlib(run, args):
    r = run(*args, python_flags=("-X", "importtime"))
    assert r.returncode == 0
    heavy = sorted(m for m in imported(r) if m.split(".")[0] in ("flask", "werkzeug", "sqlalchemy", "matplotlib",
                                                                  "jinja2", "numpy"))
    assert heavy == []


def test_only_drawing_imports_matplotlib(run, tmp_path):
    """Commands that read the record load no matplotlib; ``chart`` does, when it draws."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert run("--db", db, "init", "--name", "Light").returncode == 0
    for args in (("show",), ("recap",), ("history",), ("outcomes",)):
        r = run("--db", db, *args, python_flags=("-X", "importtime"))
        assert r.returncode == 0, r.stderr
        assert not any(m.split(".")[0] in ("matplotlib", "numpy") for m in imported(r)), args
    r = run("--db", db, "chart", "timeline", "--out", str(tmp_path / "t.svg"), python_flags=("-X", "importtime"))
    assert r.returncode == 0, r.stderr
    assert "matplotlib" in imported(r)


def test_version(run):
    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert re.search(r"\b\d+\.\d+\.\d+\b", r.stdout)
    assert "backstory" in r.stdout
    script = Path(sys.executable).parent / "backstory"
    if script.exists():
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=env, timeout=60)
        assert (out.returncode, out.stdout) == (0, r.stdout)


def test_unknown_command_is_a_usage_error(run):
    r = run("frobnicate")
    assert r.returncode == 2
    assert "frobnicate" in r.stderr


def test_show_loads_only_its_read_path(run, tmp_path):
    """cli_show_ratio (issue 11 item 5): without a remote and an open fitting, ``show`` loads neither the
    account aggregates (~15 ms of event classes, needed only to read a remote's token) nor the insights,
    the evidence rule or the policies; an open fitting loads what ``fitting_due`` needs, not the lights."""
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    assert run("--db", db, "init", "--name", "Quick").returncode == 0
    assert run("--db", db, "add", "Dead bug", "--position", "1", "--sets", "3", "--reps", "8").returncode == 0
    r = run("--db", db, "show", python_flags=("-X", "importtime"))
    assert r.returncode == 0 and "Dead bug" in r.stdout, r.stderr
    loaded = imported(r)
    assert "domain.program" in loaded
    assert not {m for m in loaded if m in ("domain.accounts", "domain.evidence", "domain.policies")
                or m.startswith("service.insights")}
    assert run("--db", db, "fitting", "open").returncode == 0
    r = run("--db", db, "show", python_flags=("-X", "importtime"))
    assert r.returncode == 0, r.stderr
    assert "service.insights.fittings" in imported(r) and "service.insights.lights" not in imported(r)
