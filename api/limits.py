"""The API's caps, stated once: the defaults of ``create_app``'s config and of the OpenAPI document.

Every one can be changed through the config given to ``create_app`` (same
key, upper case), except the page size bounds and request costs, which are
part of the documented wire format.
"""

#: Whole request body (Flask's MAX_CONTENT_LENGTH): over it, 413.
MAX_BODY_BYTES = 1024 * 1024
#: Mutations in one push: over it, 413 naming ``mutations``.
MAX_BATCH = 500
#: One mutation's ``args``, as compact UTF-8 JSON: over it, 413 naming ``mutations.N.args``.
MAX_ARGS_BYTES = 64 * 1024
#: Nesting of a JSON body (objects and arrays); deeper is 400 (a real push needs about 6).
MAX_JSON_DEPTH = 32
#: A problem's ``errors`` lists at most this many fields (``more_errors`` counts the rest), this many messages each.
MAX_LISTED_ERRORS = 50
MAX_LISTED_MESSAGES = 5
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
#: Requests per second and burst per account, all its devices together (token bucket, per server process):
#: unless configured, this many times the device's.
ACCOUNT_RATE_FACTOR = 2
#: Read pages (sessions, history, conflicts): 1..READ_LIMIT_MAX items, READ_LIMIT_DEFAULT when absent.
READ_LIMIT_MAX = 500
READ_LIMIT_DEFAULT = 100
#: What a request takes from the rate limits: 1 token, a read page 1 more per PAGE_COST_ITEMS items
#: it asks for beyond the first PAGE_COST_ITEMS, a recap RECAP_COST (it reads its whole range).
PAGE_COST_ITEMS = 100
RECAP_COST = 10
#: The longest range a recap covers (it aggregates every fact in it).
MAX_RECAP_DAYS = 366
#: Active (unrevoked) devices per account; pairing one more is 403. Counted in the store.
MAX_ACTIVE_DEVICES = 20
#: Pairings per account in any hour; one more is 429. Counted in the store.
PAIRINGS_PER_HOUR = 5
#: Notifications one request applies to the read models before it reads; the rest is left to the
#: follower (PostgreSQL) or the next requests (SQLite), and a pull says how far behind it is.
REQUEST_CATCH_UP = 2000
#: Longest device name and exercise name accepted in a request.
MAX_NAME_CHARS = 200
