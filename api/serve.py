"""Run the API on gunicorn (a production WSGI server, not Flask's development server).

``serve(host, port, workers, db_url)`` is what ``backstory serve`` calls. Each
worker process builds its own app (``create_app``, not preloaded), so every
process has its own store connections; the master never opens the store.
More than one worker is for PostgreSQL; on SQLite they work but queue on the
file's write lock (one thread each, see ``default_threads``). Each worker serves ``threads`` requests at once
(``api.worker.ThreadWorker``), so idle or slow connections do not stop it.

A worker dies with its master, even when the master is killed with SIGKILL
(Linux), so its listening socket is closed at once and a new server can bind
the port; a new server also waits a while for a port still held. From a
shell, the same thing is::

    BACKSTORY_DB=postgresql://... gunicorn -c python:api.gunicorn_conf -w 4 -b 127.0.0.1:8080 'api.wsgi:app()'

(``api.gunicorn_conf`` holds these settings), with ``backstory projections follow`` beside it.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger("backstory.serve")

#: Request threads per worker process (each store's connection pool holds 15).
THREADS = 8
#: Seconds a new server waits for its port while an old server's processes still hold it.
BIND_WAIT = 30.0


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.factory()


def _worker_exit(server, worker) -> None:
    app = getattr(worker, "wsgi", None)
    backend = getattr(app, "extensions", {}).get("backstory") if app is not None else None
    if backend is not None:
        backend.close()


class ServerConfigError(ValueError):
    """A server option or ``BACKSTORY_`` setting that cannot be used (the message names it)."""


def _checked(app_config: dict[str, Any]) -> None:
    from api.forwarded import parse_networks
    from api.health import MIN_OPERATOR_TOKEN

    try:
        parse_networks(app_config.get("TRUSTED_PROXIES"))
    except ValueError as e:
        raise ServerConfigError(f"--proxy (BACKSTORY_TRUSTED_PROXIES): {e}") from None
    for name in ("BACKSTORY_READ_TIMEOUT", "BACKSTORY_REQUEST_DEADLINE"):  # read by api.worker
        value = os.environ.get(name)
        try:
            if value is not None and not float(value) > 0:
                raise ValueError(value)
        except ValueError:
            raise ServerConfigError(f"{name}: a positive number of seconds, not {value!r}") from None
    token = app_config.get("OPERATOR_TOKEN")
    if token is not None and len(token) < MIN_OPERATOR_TOKEN:
        raise ServerConfigError(f"BACKSTORY_OPERATOR_TOKEN: at least {MIN_OPERATOR_TOKEN} characters "
                                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')")


def default_threads(url: str, workers: int) -> int:
    """``THREADS``, except on SQLite with several processes: one each.

    SQLite takes one writer at a time for the whole file. eventsourcing's pool
    lends one writing connection per process and queues every other request
    for a connection, readers too, behind a writer that waits; a writer
    waiting for the file lock another process holds so held up every thread
    of its process (the load test saw 6 to 11 s stalls and pool timeouts with
    two processes of eight threads). One process with threads, or PostgreSQL,
    is the layout for concurrency; idle connections hold no thread either way.
    """
    from service.config import parse_store

    return 1 if workers > 1 and parse_store(url).is_sqlite else THREADS


def _post_fork(server, worker) -> None:
    """In a new worker: die with the master (its listening socket with it), even if the master is SIGKILLed."""
    _die_with_parent(signal.SIGKILL)
    if os.getppid() != server.pid:  # the master died before the line above
        os._exit(1)


def configure_logging(level: str = "info") -> None:
    """The API's own log (one line per request, nothing personal) on stderr, in the common format."""
    from service.logs import configure

    configure(level)


def options(host: str, port: int, workers: int, threads: int = THREADS, **extra: Any) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "api.worker.ThreadWorker",
        "threads": threads,
        "timeout": 120,  # a worker's main loop answers every second; only a hung process misses this
        "graceful_timeout": 30,  # on SIGTERM, requests in flight get this long to finish
        "keepalive": 5,  # an idle connection (kept alive, or new and silent) is closed after this
        "preload_app": False,
        "accesslog": None,  # the app logs each request itself, without query strings
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": "api.serverlog.PrivateLogger",  # no request line, URI or header a client sent
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "worker_exit": _worker_exit,
        "post_fork": _post_fork,
        "proc_name": "backstory-api",
        "control_socket_disable": True,  # gunicorn >= 24: no shared control socket under the home directory
        **extra,
    }


def serve(host: str = "127.0.0.1", port: int = 8080, workers: int | None = None, db_url: str | None = None,
          config: dict[str, Any] | None = None, proxies: str | None = None, **gunicorn_options: Any) -> None:
    """Serve the API until stopped (SIGINT/SIGTERM); ``config`` goes to ``create_app``.

    ``proxies``: the addresses (or networks) of the reverse proxies in front,
    comma separated; ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are
    believed only from them (see ``api.forwarded``).
    """
    from service.config import resolve_url
    from service.store_check import check_store

    url = resolve_url(db_url)
    check_store(url)  # a bad URL or a foreign or newer store fails here, once, rather than in every worker
    from api.wsgi import config_from_env

    app_config = {**config_from_env(), **(config or {}), "DATABASE_URL": url}
    if proxies is not None:
        app_config["TRUSTED_PROXIES"] = proxies
    _checked(app_config)  # a bad setting fails here, once, naming it
    if app_config.get("TRUSTED_PROXIES"):
        gunicorn_options.setdefault("forwarded_allow_ips", app_config["TRUSTED_PROXIES"])
    if workers is None:
        workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    if gunicorn_options.get("threads") is None:
        gunicorn_options["threads"] = default_threads(url, workers)
    configure_logging(gunicorn_options.pop("log_level", "info"))
    _wait_for_port(host, port, BIND_WAIT)

    def factory():
        from api.app import create_app

        return create_app(app_config)

    follower = _start_follower(url)
    try:
        _Gunicorn(factory, options(host, port, max(1, workers), **gunicorn_options)).run()
    finally:
        if follower is not None:
            follower.terminate()
            follower.wait(10)


def _wait_for_port(host: str, port: int, seconds: float) -> None:
    """Wait (at most ``seconds``) while another process still listens on the port, e.g. an old server stopping.

    gunicorn itself tries five times a second apart and then exits, leaving
    nothing listening; after this wait it reports the port in use as before.
    """
    deadline = time.monotonic() + seconds
    waited = False
    while True:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
                probe.bind(address)
            if waited:
                log.info("port %s is free now", port)
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                return  # gunicorn reports it
            if not waited:
                log.warning("port %s is in use; waiting up to %.0f s for it to be free", port, seconds)
                waited = True
            time.sleep(0.2)


def _start_follower(url: str):
    """On PostgreSQL, ``backstory projections follow`` beside the workers: the read models follow live."""
    import subprocess

    from service.config import parse_store

    if parse_store(url).is_sqlite or os.environ.get("BACKSTORY_FOLLOW", "1") == "0":
        return None
    # The URL goes by the environment, not the command line, where `ps` would show a password.
    return subprocess.Popen([sys.executable, "-m", "cli", "projections", "follow"], stdin=subprocess.DEVNULL,
                            env={**os.environ, "BACKSTORY_DB": url}, preexec_fn=lambda: _die_with_parent(signal.SIGTERM))


def _die_with_parent(signum: int) -> None:
    """In a child: be sent ``signum`` when the parent process dies, even by SIGKILL (Linux)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere a child may outlive a killed server: the follower only catches up, and a new
        # server waits for the port a worker still holds (``_wait_for_port``)


if __name__ == "__main__":  # python -m api.serve [HOST] [PORT] [WORKERS]
    args = sys.argv[1:]
    serve(args[0] if args else "127.0.0.1", int(args[1]) if len(args) > 1 else 8080,
          int(args[2]) if len(args) > 2 else None)
