"""WSGI entry for a gunicorn command line: ``gunicorn -w 4 -b 0.0.0.0:8080 'api.wsgi:app()'``.

The app is made by calling the factory (in each worker), configured from the
environment: ``BACKSTORY_DB`` (else the default SQLite file), and optionally
``BACKSTORY_RATE_LIMIT``, ``BACKSTORY_RATE_BURST``, ``BACKSTORY_ACCOUNT_RATE_LIMIT``,
``BACKSTORY_ACCOUNT_RATE_BURST``, ``BACKSTORY_MAX_ACTIVE_DEVICES``, ``BACKSTORY_PAIRINGS_PER_HOUR``,
``BACKSTORY_READY_MAX_LAG``, ``BACKSTORY_REQUEST_CATCH_UP``, ``BACKSTORY_OPERATOR_TOKEN``
(``/readyz`` shows the lag to it), ``BACKSTORY_TRUSTED_PROXIES`` (the reverse proxies whose
``X-Forwarded-For`` is believed; give gunicorn the same ones as ``--forwarded-allow-ips``) and
``BACKSTORY_SECURE_COOKIE=1`` (the dashboard's cookies are ``Secure``, for a proxy that ends TLS).
"""

from __future__ import annotations

import os

from flask import Flask


def _yes(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    from api.serve import ServerConfigError

    raise ServerConfigError(f"BACKSTORY_SECURE_COOKIE: 1 or 0 (true or false), not {value!r}")


def config_from_env(environ: dict[str, str] | None = None) -> dict:
    from service.config import resolve_url

    environ = os.environ if environ is None else environ
    config: dict = {"DATABASE_URL": resolve_url(None, environ)}
    for key, cast in (("RATE_LIMIT", float), ("RATE_BURST", int), ("ACCOUNT_RATE_LIMIT", float),
                      ("ACCOUNT_RATE_BURST", int), ("MAX_ACTIVE_DEVICES", int), ("PAIRINGS_PER_HOUR", int),
                      ("READY_MAX_LAG", int), ("REQUEST_CATCH_UP", int), ("OPERATOR_TOKEN", str),
                      ("TRUSTED_PROXIES", str), ("SECURE_COOKIE", _yes)):
        value = environ.get(f"BACKSTORY_{key}")
        if value:
            config[key] = cast(value)
    return config


def create_app() -> Flask:
    from api.app import create_app as factory
    from api.serve import configure_logging

    configure_logging(os.environ.get("BACKSTORY_LOG_LEVEL", "info"))
    return factory(config_from_env())


app = create_app
