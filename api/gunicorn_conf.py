"""``backstory serve``'s gunicorn settings for a gunicorn command line.

``BACKSTORY_DB=... gunicorn -c python:api.gunicorn_conf -b 127.0.0.1:8080 -w 4 'api.wsgi:app()'``
gets the same worker (``api.worker.ThreadWorker``, 8 threads), timeouts, log
format without client text, request limits and workers that die with their
master as ``backstory serve``; options on the command line override them. Run
``backstory projections follow`` beside it on PostgreSQL.
"""

from api.serve import options as _options

globals().update({key: value for key, value in _options("127.0.0.1", 8080, 1).items()
                  if key not in ("bind", "workers")})
