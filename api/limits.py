"""The API's caps, stated once: the defaults of ``create_app``'s config and of the OpenAPI document.

Every one can be changed through the config given to ``create_app`` (same
key, upper case), except the pull page size bounds, which are part of the
documented wire format.
"""

#: Whole request body (Flask's MAX_CONTENT_LENGTH): over it, 413.
MAX_BODY_BYTES = 1024 * 1024
#: Mutations in one push: over it, 413 naming ``mutations``.
MAX_BATCH = 500
#: One mutation's ``args``, as compact UTF-8 JSON: over it, 413 naming ``mutations.N.args``.
MAX_ARGS_BYTES = 64 * 1024
#: Nesting of a JSON body (objects and arrays); deeper is 400 (a real push needs about 6).
MAX_JSON_DEPTH = 32
#: The query string: over it, 414.
MAX_QUERY_BYTES = 4096
#: ``occurred_at`` may be at most this far ahead of the server's clock (SPEC 5, clock skew).
CLOCK_TOLERANCE_SECONDS = 600
#: Pull page size: 1..PULL_LIMIT_MAX, PULL_LIMIT_DEFAULT when absent.
PULL_LIMIT_MAX = 1000
PULL_LIMIT_DEFAULT = 500
#: Longest accepted cursor text (a real one is about 150 characters).
MAX_CURSOR_CHARS = 512
#: Requests per second and burst per device (token bucket, per server process).
RATE_LIMIT = 50.0
RATE_BURST = 200
#: Notifications one request applies to the read models before it reads; the rest is left to the
#: follower (PostgreSQL) or the next requests (SQLite), and a pull says how far behind it is.
REQUEST_CATCH_UP = 2000
#: Longest device name and exercise name accepted in a request.
MAX_NAME_CHARS = 200
