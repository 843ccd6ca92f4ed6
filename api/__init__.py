"""The Flask sync API (SPEC 5, 7.2; issue 3).

``api.app.create_app(config)`` is the application factory (nothing is built at
import time); ``api.serve.serve`` runs it on gunicorn; ``api.wsgi`` is the
entry point for a gunicorn command line (``gunicorn 'api.wsgi:app()'``).
"""
