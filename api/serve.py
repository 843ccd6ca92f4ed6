"""Run the API on gunicorn (a production WSGI server, not Flask's development server).

``serve(host, port, workers, db_url)`` is what ``backstory serve`` calls. Each
worker process builds its own app (``create_app``, not preloaded), so every
process has its own store connections; the master never opens the store.
More than one worker is for PostgreSQL; on SQLite they work but queue on the
file's write lock. From a shell, the same thing is::

    BACKSTORY_DB=postgresql://... gunicorn -w 4 -b 0.0.0.0:8080 'api.wsgi:app()'
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


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


def configure_logging(level: str = "info") -> None:
    """The API's own log (one line per request, nothing personal) on stderr."""
    logger = logging.getLogger("backstory")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def options(host: str, port: int, workers: int, **extra: Any) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        "preload_app": False,
        "accesslog": None,  # the app logs each request itself, without query strings
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": "api.serverlog.PrivateLogger",  # no request line, URI or header a client sent
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "worker_exit": _worker_exit,
        "proc_name": "backstory-api",
        "control_socket_disable": True,  # gunicorn >= 24: no shared control socket under the home directory
        **extra,
    }


def serve(host: str = "127.0.0.1", port: int = 8080, workers: int | None = None, db_url: str | None = None,
          config: dict[str, Any] | None = None, **gunicorn_options: Any) -> None:
    """Serve the API until stopped (SIGINT/SIGTERM); ``config`` goes to ``create_app``."""
    from service.config import resolve_url
    from service.store_check import check_store

    url = resolve_url(db_url)
    check_store(url)  # a bad URL or a foreign or newer store fails here, once, rather than in every worker
    from api.wsgi import config_from_env

    app_config = {**config_from_env(), **(config or {}), "DATABASE_URL": url}
    if workers is None:
        workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
    configure_logging(gunicorn_options.pop("log_level", "info"))

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


def _start_follower(url: str):
    """On PostgreSQL, ``backstory projections follow`` beside the workers: the read models follow live."""
    import subprocess

    from service.config import parse_store

    if parse_store(url).is_sqlite or os.environ.get("BACKSTORY_FOLLOW", "1") == "0":
        return None
    # The URL goes by the environment, not the command line, where `ps` would show a password.
    return subprocess.Popen([sys.executable, "-m", "cli", "projections", "follow"], stdin=subprocess.DEVNULL,
                            env={**os.environ, "BACKSTORY_DB": url}, preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the serving process dies, even by SIGKILL (Linux)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere a follower may outlive a killed server: it only catches up, which is harmless


if __name__ == "__main__":  # python -m api.serve [HOST] [PORT] [WORKERS]
    args = sys.argv[1:]
    serve(args[0] if args else "127.0.0.1", int(args[1]) if len(args) > 1 else 8080,
          int(args[2]) if len(args) > 2 else None)
