"""Jinja2 filters of the report: times in the program's zone, values and changes in words."""

from __future__ import annotations

from datetime import datetime, tzinfo

from service.wording import changes, prescription, words


def local(iso: str | None, zone: tzinfo, width: int = 16) -> str:
    """An ISO time in ``zone``, to the minute (``width`` 16) or the day (10); space between date and time."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(zone).isoformat()[:width].replace("T", " ")


def label(code: str | None) -> str:
    return (code or "").replace("_", " ").replace("-", " ")


FILTERS = {"local": local, "rx": prescription, "changes": changes, "words": words, "label": label}
