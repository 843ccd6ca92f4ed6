"""Where the data lives: from ``--db``/``BACKSTORY_DB``/``BACKSTORY_HOME`` to an eventsourcing environment.

``BACKSTORY_DB`` (or ``--db``) takes a SQLAlchemy-style URL: ``sqlite:///path``
or ``postgresql://user:password@host:port/dbname``; a ``schema`` query parameter
selects a PostgreSQL schema. Without one, the store is a SQLite file in the
platform's user data directory, or in ``BACKSTORY_HOME`` when that is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class StoreConfigError(ValueError):
    """The configured database URL cannot be used."""


def home_dir(environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get("BACKSTORY_HOME"):
        return Path(environ["BACKSTORY_HOME"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("backstory", appauthor=False))


def resolve_url(db: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The store's URL: ``--db``, else ``BACKSTORY_DB``, else the default SQLite file."""
    environ = os.environ if environ is None else environ
    url = db or environ.get("BACKSTORY_DB")
    if url:
        return url
    return f"sqlite:///{home_dir(environ) / 'backstory.sqlite'}"


@dataclass(frozen=True)
class Store:
    """A parsed store URL and the eventsourcing environment that opens it."""

    url: str
    env: dict[str, str]

    @property
    def is_sqlite(self) -> bool:
        return self.env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"

    def describe(self) -> str:
        if self.is_sqlite:
            return f"SQLite file {self.env['SQLITE_DBNAME']}"
        return f"PostgreSQL database {self.env['POSTGRES_DBNAME']} on {self.env['POSTGRES_HOST']}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (not created), or None for another kind of store."""
    if urlsplit(url).scheme.split("+")[0] != "sqlite":
        return None
    path = unquote(url.split("://", 1)[1])
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:":
        raise StoreConfigError("sqlite URL needs a file path, e.g. sqlite:////home/me/backstory.sqlite")
    return Path(path).expanduser()


def parse_store(url: str) -> Store:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        env = {"SQLITE_DBNAME": str(path), "SQLITE_LOCK_TIMEOUT": "30"}
        return Store(url, {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "CREATE_TABLE": "y", **env})
    if scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }
        if query.get("schema"):
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return Store(url, env)
    raise StoreConfigError(f"unsupported database URL scheme {parts.scheme!r}; use sqlite:///PATH or postgresql://...")
