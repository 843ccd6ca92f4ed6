"""Mutation arguments in their wire/CLI forms, and store URLs."""

import pytest

from domain.errors import InvalidValue
from service.args import parse
from service.config import StoreConfigError, parse_store, resolve_url


def test_string_forms_become_values():
    args = parse("add", {"name": "Row", "position": "supported:split", "load": "elastic:2:band",
                         "direction": "pull:horizontal", "sets": 3, "reps": 10})
    assert args["position"] == {"stage": 3, "posture": "split"}
    assert args["load"] == {"type": "elastic", "magnitude": 2, "unit": "band"}
    assert args["direction"] == {"pattern": "pull", "plane": "horizontal"}


def test_tension_strings_and_objects():
    args = parse("log", {"exercise": "x", "tension": ["paraspinals:left:overactive:6",
                                                      {"muscle": "glutes", "side": "both"}]})
    assert args["tension"][0] == {"muscle": "paraspinals", "side": "left", "kind": "overactive", "intensity": 6}
    assert args["tension"][1]["muscle"] == "glutes"


@pytest.mark.parametrize("mutation_type, args, field", [
    ("add", {"name": "x", "position": "seven", "sets": 3, "reps": 1}, "position"),
    ("add", {"name": "x", "position": "1", "sets": "3", "reps": 1}, "sets"),
    ("log", {"exercise": "x", "surprise": 1}, "surprise"),
    ("log", {}, "exercise"),
    ("init", {"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
    ("init", {"name": "x", "timezone": "A" * 300}, "timezone"),  # too long for a file name: an OSError traceback
    ("nope", {}, "type"),
    ("add", {"name": "x", "position": "1", "sets": 3, "reps": True}, "reps"),
])
def test_bad_arguments_name_the_field(mutation_type, args, field):
    with pytest.raises(InvalidValue) as e:
        parse(mutation_type, args)
    assert e.value.field == field


def test_store_urls(tmp_path):
    env = parse_store(f"sqlite:///{tmp_path}/a/b.sqlite").env
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite" and env["SQLITE_DBNAME"].endswith("/a/b.sqlite")
    pg = parse_store("postgresql+psycopg://u:p%40ss@db.example:6543/prod?schema=s1").env
    assert (pg["POSTGRES_HOST"], pg["POSTGRES_PORT"], pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DBNAME"], pg["POSTGRES_SCHEMA"]) == ("db.example", "6543", "u", "p@ss", "prod", "s1")
    with pytest.raises(StoreConfigError):
        parse_store("mysql://x/y")
    assert resolve_url(None, {"BACKSTORY_HOME": str(tmp_path)}) == f"sqlite:///{tmp_path}/backstory.sqlite"
    assert resolve_url("sqlite:///x.db", {"BACKSTORY_DB": "sqlite:///y.db"}) == "sqlite:///x.db"
    assert resolve_url(None, {"BACKSTORY_DB": "sqlite:///y.db"}) == "sqlite:///y.db"
