"""Where the data lives: from ``--db``/``BACKSTORY_DB``/``BACKSTORY_HOME`` to an eventsourcing environment.

``BACKSTORY_DB`` (or ``--db``) takes a SQLAlchemy-style URL: ``sqlite:///path``
or ``postgresql://user:password@host:port/dbname``; a ``schema`` query parameter
selects a PostgreSQL schema. Without one, the store is a SQLite file in the
platform's user data directory, or in ``BACKSTORY_HOME`` when that is set.

Health data stays private whatever the umask: a directory made for the store
(or the data directory) is created 0700 and a new SQLite file 0600 before
SQLite opens it (SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file). Existing ones are left as they are; ``permission_warnings``
names each that other users can read, and the fix.
"""

from __future__ import annotations

import os
import stat
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


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) if missing, the directory itself 0700; an existing one is left alone."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    return path


def _private_file(path: Path) -> None:
    """Create an empty ``path`` 0600 unless it exists (SQLite then writes its database into it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _others_can(path: Path) -> int | None:
    """The mode of ``path`` when its group or other users have any access to it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def permission_warnings(url: str, environ: dict[str, str] | None = None) -> list[str]:
    """One line per store file or data directory other users may read, naming the fix (SQLite only)."""
    store = parse_store(url)
    if not store.is_sqlite:
        return []
    db = Path(store.env["SQLITE_DBNAME"])
    out = []
    home = home_dir(environ)
    mode = _others_can(home) if db.parent == home else None  # a --db elsewhere: only its files are ours
    if mode is not None:
        out.append(f"the data directory {home} can be read by other users (mode {mode:o}): run chmod 700 {home}")
    loose = {path: mode for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
             if (mode := _others_can(path)) is not None}
    if loose:
        modes = ", ".join(f"{p} (mode {m:o})" for p, m in loose.items())
        out.append(f"the store can be read by other users: {modes}: run chmod 600 {' '.join(map(str, loose))}")
    return out


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
        try:
            private_dir(path.parent)
            _private_file(path)
        except OSError as e:  # a file where the directory should be, no permission, a full disk: a bad setting
            reason = f"{e.filename} is a file, not a directory" if isinstance(e, FileExistsError) else e.strerror or e
            raise StoreConfigError(f"the SQLite store {path} cannot be made or opened: {reason}; "
                                   "check BACKSTORY_HOME, BACKSTORY_DB or --db") from None
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
