"""``backstory chart`` and ``backstory report`` as a user runs them, and the report opened offline in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from service.charts import names
from tests.e2e.conftest import day

HOSTILE = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def recorded(module_cli):
    """One history per module (and backend): the commands below only read it."""
    cli = module_cli
    cli.ok("init", "--name", "Pictures", "--timezone", "Europe/Paris", "--at", "40 days ago")
    cli.ok("add", HOSTILE, "--position", "1:supine", "--sets", "2", "--reps", "10", "--reason", "start",
           "--at", "39 days ago")
    cli.ok("add", "Dead bug", "--position", "1:supine", "--sets", "2", "--reps", "8", "--at", "39 days ago")
    cli.ok("log", HOSTILE, "--pain-before", "4", "--pain-after", "3", "--note", "it </script> hurt",
           "--tension", "paraspinals:left:guarding:4", "--at", "10 days ago")
    cli.ok("progress", "Dead bug", "--sets", "3", "--reason", "easy </script> now", "--at", "5 days ago")
    cli.ok("break", "--kind", "walk", "--at", "3 days ago")
    cli.ok("checkin", "--pain", "4", "--at", "2 days ago")
    return cli


def ids(path: Path) -> dict[str, ET.Element]:
    return {e.get("id"): e for e in ET.parse(path).getroot().iter() if e.get("id")}


def test_chart_writes_svg_with_lanes_and_reasons_and_png(recorded, tmp_path):
    out = tmp_path / "timeline.svg"
    r = recorded.ok("chart", "timeline", "--out", str(out))
    assert "timeline chart written to" in r.out
    found = ids(out)
    lanes = [k for k in found if k.startswith("lane-")]
    assert len(lanes) == 2
    (progress,) = found["marks-progress"].iter(f"{SVG}use")
    assert "reason: easy </script> now" in progress.find(f"{SVG}title").text
    png = tmp_path / "pain.png"
    recorded.ok("chart", "pain", "--since", day(20), "--out", str(png))
    assert png.read_bytes().startswith(b"\x89PNG")


def test_lights_chart_from_the_command_line(recorded, tmp_path):
    out = tmp_path / "lights.svg"
    r = recorded.ok("chart", "lights", "--out", str(out))
    assert "lights chart written to" in r.out
    found = ids(out)
    assert len([k for k in found if k.startswith("lane-")]) == 1  # Dead bug has no session
    (point,) = found["lights-amber"].iter(f"{SVG}use")  # pain after 3: amber
    assert point.get("id").startswith("point-")
    assert f"· {HOSTILE} · amber · pain after 3" in point.find(f"{SVG}title").text


@pytest.mark.parametrize("args, message", [
    (("chart", "heatmap", "--out", "x.svg"), f"'heatmap' is not a chart; allowed: {', '.join(names())}"),
    (("chart", "pain", "--out", "x.pdf"), "has no chart suffix; allowed: .svg, .png"),
    (("chart", "pain", "--since", "2 days ago", "--until", "5 days ago", "--out", "x.svg"), "--since"),
    (("report", "--since", "nonsense", "--out", "r.html"), "--since"),
])
def test_bad_input_is_a_usage_error_and_writes_nothing(recorded, tmp_path, args, message):
    r = recorded(*[str(tmp_path / a) if a.endswith((".svg", ".pdf", ".html")) else a for a in args])
    assert r.code == 2, r.err
    assert message in r.err
    assert list(tmp_path.glob("x.*")) == [] and list(tmp_path.glob("r.*")) == []


def test_no_program_or_no_place_to_write_is_a_refusal(recorded, fresh_cli, tmp_path):
    r = fresh_cli("chart", "pain", "--out", str(tmp_path / "p.svg"))
    assert r.code == 1 and "there is no program yet" in r.err
    r = recorded("report", "--out", str(tmp_path / "missing" / "r.html"))
    assert r.code == 1 and "r.html" in r.err and "No such file or directory" in r.err
    assert not (tmp_path / "missing").exists()


def test_report_is_one_file_that_opens_offline_with_names_as_text(recorded, tmp_path):
    out = tmp_path / "report.html"
    recorded.ok("report", "--since", day(45), "--out", str(out))
    html = out.read_text("utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "it &lt;/script&gt; hurt" in html
    assert html.count("<svg ") == len(names())
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    # Every network request fails (a proxy nobody listens on): what renders comes from the file alone.
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
         f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg ") == len(names())
    assert "<img" not in dom.stdout and "&lt;img src=x onerror=alert(1)&gt;" in dom.stdout
    assert 'id="lane-' in dom.stdout and 'id="series-before"' in dom.stdout


@pytest.mark.parametrize("period", [("--until", "9999-12-31"), ("--since", "1900-01-01", "--until", "9999-12-31")])
def test_every_chart_and_the_report_draw_up_to_the_end_of_the_accepted_range(recorded, tmp_path, period):
    """Issue 9 item 13: a period ending 9999-12-31 is accepted, so it is drawn; the timeline's margins went past the
    years matplotlib can name (a ValueError traceback)."""
    for name in names():
        r = recorded(*("chart", name, *period, "--out", str(tmp_path / f"{name}.svg")))
        assert r.code == 0 and "Traceback" not in r.err, (name, r.err[-500:])
    r = recorded("report", *period, "--out", str(tmp_path / "report.html"))
    assert r.code == 0 and "Traceback" not in r.err, r.err[-500:]
