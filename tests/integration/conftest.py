"""Fixtures shared by the integration tests: ``api``, a Flask app (``create_app``) on a fresh store of each backend."""

from __future__ import annotations

import pytest

from tests.integration.test_api_support import fresh_app


@pytest.fixture
def api(store_url):
    flask_app = fresh_app(store_url)
    yield flask_app
    flask_app.extensions["backstory"].close()
