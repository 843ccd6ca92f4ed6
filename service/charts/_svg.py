"""SVG post-processing: tooltips and ids that matplotlib cannot write itself.

matplotlib writes an artist's ``gid`` as the ``id`` of its ``<g>`` group and
each marker of a line as a ``<use>`` inside that group. ``annotate`` adds a
``<title>`` (a browser's tooltip, a screen reader's name) to named groups, and
to each marker of a named series an ``id`` and a ``<title>``, in data order.
Pure text work on matplotlib's own output: no matplotlib import here.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

_TAG = re.compile(r"<(/?)(g|use)\b([^>]*?)(/?)>")


def _group_open(svg: str, gid: str) -> re.Match | None:
    return re.search(r'<g id="%s"[^>]*>' % re.escape(gid), svg)


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def annotate(svg: str, titles: dict[str, str], points: dict[str, list[tuple[str, str]]]) -> str:
    """``svg`` with a title on each group of ``titles`` and an id and title on each marker of ``points``.

    ``points`` maps a series' gid to ``(id, title)`` per marker, in the order
    the markers were drawn (NaN values draw nothing and must be left out).
    """
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the original text
    for gid, text in titles.items():
        found = _group_open(svg, gid)
        if found:
            edits.append((found.end(), found.end(), _title(text)))
    for gid, marks in points.items():
        found = _group_open(svg, gid)
        if not found:
            continue
        depth, i = 1, 0
        for tag in _TAG.finditer(svg, found.end()):
            closing, name, attrs, empty = tag.groups()
            if name == "g":
                depth += -1 if closing else 1
                if depth == 0:
                    break
            elif i < len(marks) and not closing:
                mark_id, text = marks[i]
                i += 1
                body = f"<use id={quoteattr(mark_id)}{attrs}>{_title(text)}</use>" if empty else None
                if body:
                    edits.append((tag.start(), tag.end(), body))
    out, last = [], 0
    for start, end, text in sorted(edits):
        out.append(svg[last:start])
        out.append(text)
        last = end
    out.append(svg[last:])
    # matplotlib opens every link in a new window; a link within the picture (#lane-...) stays in it.
    return re.sub(r'(<a xlink:href="#[^"]*") target="_blank"', r"\1", "".join(out))
