"""The SVG post-processing: titles and marker ids land where matplotlib put the groups, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from service.charts._svg import annotate

SVG = "{http://www.w3.org/2000/svg}"
DOC = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
 <g id="lane-a"><path d="M 0 0"/></g>
 <g id="marks"><defs><path id="m1" d="M 0 0"/></defs><g clip-path="url(#p1)">
   <use xlink:href="#m1" x="1" y="2"/><use xlink:href="#m1" x="3" y="4"/></g></g>
 <g id="after"><use xlink:href="#m1" x="9" y="9"/></g>
 <a xlink:href="#lane-a" target="_blank"><path d="M 1 1"/></a>
 <a xlink:href="https://example.org/" target="_blank"><path d="M 1 1"/></a>
</svg>"""


def test_titles_and_marker_ids_are_added_in_order_and_escaped():
    out = annotate(DOC, {"lane-a": "<img src=x onerror=alert(1)> & co"},
                   {"marks": [("point-1", "first </script>"), ("point-2", "second")]})
    root = ET.fromstring(out)
    found = {e.get("id"): e for e in root.iter() if e.get("id")}
    assert found["lane-a"].find(f"{SVG}title").text == "<img src=x onerror=alert(1)> & co"
    assert found["point-1"].find(f"{SVG}title").text == "first </script>"
    assert found["point-2"].get("x") == "3" and found["point-2"].find(f"{SVG}title").text == "second"
    assert found["after"].find(f"{SVG}use").get("id") is None  # markers of another group are left alone
    links = [(a.get("{http://www.w3.org/1999/xlink}href"), a.get("target")) for a in root.iter(f"{SVG}a")]
    assert links == [("#lane-a", None), ("https://example.org/", "_blank")]
