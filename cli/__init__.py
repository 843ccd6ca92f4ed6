"""The ``backstory`` command line: a thin layer of click over ``service``.

Only click is imported at start-up; the event store and the service load when
a command runs, so ``backstory --help`` stays fast and never imports Flask or
SQLAlchemy.
"""
