"""The dashboard in a real browser: headless Chromium driven by selenium against a real ``backstory serve``.

One server per backend (SQLite, and PostgreSQL when configured) and one browser for the module. An account made with
the real ``backstory account create`` holds the Quick start's five weeks of
history (``service.demo``, pushed through sync). The browser signs in with its
token, travels to an earlier date with the date picker and sees the earlier
program, asks what was recorded by yesterday (nothing: it was all pushed today), reads an exercise's history with its reasons, opens a chart and finds
its lanes and markers, sees an exercise named ``<img src=x onerror=alert(1)>``
and a note with ``</script>`` as text (no dialog, nothing in the console), sees
nothing of the first account with a second account's token, and signs out.
Screenshots at 1280 and 375 px wide go to ``BACKSTORY_SCREENSHOTS`` when set
(the README's are made so: ``BACKSTORY_SCREENSHOTS=docs``), else to a temporary
directory. Skipped only where Chromium or its driver is not installed
(``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BACKENDS, _pg_drop
from tests.security._support import Device, Server
from tests.security.conftest import fresh_store
from tests.security._web import push_demo
from tests.server_process import ROOT, server_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed "
                                                                   "(apt-get install -y chromium chromium-driver)")]

ZONE = ZoneInfo("Europe/Paris")
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_NOTE = "</script><script>alert(2)</script> still a note"


def _create_account(db_url: str, home: Path, name: str) -> dict:
    """``backstory account create NAME --json`` on the server's store, as an operator does."""
    done = subprocess.run([sys.executable, "-m", "cli", "--db", db_url, "account", "create", name, "--json"],
                          cwd=ROOT, env=server_env(home), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    url, schema = fresh_store(request.param, tmp)
    server = Server(url, tmp, env={"BACKSTORY_RATE_LIMIT": "0"})
    try:
        made = _create_account(server.db_url, tmp, "Sam")
        sam = Device(server.url, made["token"], made["device_id"], made["account_id"])
        push_demo(sam, zone=ZONE.key)
        other = Device.new_account(server, "Other person")
        results = other.push_ok(other.m("init", 3, name="Other program"),
                                other.m("add", 2, name=HOSTILE_NAME, position="1:supine", sets=2, reps=5,
                                        reason=HOSTILE_NOTE),
                                other.m("log", 1, exercise=HOSTILE_NAME, pain_before=3, pain_after=2,
                                        note=HOSTILE_NOTE))
        assert {r["status"] for r in results} == {"applied"}, results
        yield server, sam, other
    finally:
        server.stop()
        if schema:
            _pg_drop(schema)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US",
                "--window-size=1280,900", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _by(css: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def _sign_in(driver, base: str, token: str) -> None:
    """Sign in from the form (a fresh browser state: each test stands alone)."""
    driver.get(base + "/")
    driver.delete_all_cookies()
    driver.get_log("browser")  # what earlier tests left in the console is theirs (an expected 404, say)
    driver.get(base + "/")
    field = driver.find_element(*_by("#token"))
    field.send_keys(token)
    driver.find_element(*_by("form.stack button[type=submit]")).click()
    _wait_for(driver, lambda d: d.current_url == base + "/program")
    assert token not in driver.current_url


def _wait_for(driver, condition, seconds: float = 15) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, seconds).until(condition, f"waited for {driver.current_url}")


def _submit(driver, form: str = "form.filters") -> None:
    """Send a form and wait for the page it leads to."""
    old = driver.find_element(*_by("html"))
    driver.find_element(*_by(f"{form} button[type=submit]")).click()
    _wait_for(driver, lambda d: _stale(old))


def _stale(element) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.tag_name  # noqa: B018
    except StaleElementReferenceException:
        return True
    return False


def _sign_out(driver) -> None:
    _submit(driver, "form.signout")


#: Every visible text's contrast against its background (WCAG 2 AA: 4.5:1, 3:1 for large text) and every
#: form control's label, computed by the browser on the page as drawn.
AUDIT = """
const lin = c => { const m = c.match(/[\\d.]+/g).map(Number);
  return [m.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }),
          m.length > 3 ? m[3] : 1]; };
const lum = rgb => 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
const back = el => { for (; el; el = el.parentElement) { const [rgb, a] = lin(getComputedStyle(el).backgroundColor);
  if (a > 0.5) return rgb; } return [1, 1, 1]; };
const low = [];
for (const el of document.querySelectorAll('body *')) {
  if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const st = getComputedStyle(el), box = el.getBoundingClientRect();
  if (st.visibility === 'hidden' || box.width === 0 || box.right < 0) continue;
  const a = lum(lin(st.color)[0]), b = lum(back(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const large = parseFloat(st.fontSize) >= 24 || (parseFloat(st.fontSize) >= 18.66 && parseInt(st.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) {
    low.push(el.tagName + ' ' + el.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  }
}
const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(c => !c.labels || !c.labels.length).map(c => c.id || c.name);
return {low, unlabelled};
"""


def _console_problems(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def _no_dialog(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 (reading it is the check)


def _pick_date(driver, css: str, day: str) -> None:
    """Type ``day`` (ISO) into a date picker as a person would (en-US: month, day, year)."""
    field = driver.find_element(*_by(css))
    year, month, dom = day.split("-")
    field.send_keys(month + dom + year)
    assert field.get_attribute("value") == day, (field.get_attribute("value"), day)


def _rows(driver) -> dict[str, str]:
    """The program table: exercise name -> status."""
    out = {}
    for row in driver.find_elements(*_by("#program-table tbody tr")):
        name = row.find_element(*_by("th a")).text
        out[name] = row.find_elements(*_by("td"))[1].text
    return out


def test_sign_in_then_travel_back_with_the_date_picker(site, browser):
    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    now = _rows(browser)
    assert now["Side plank"] == "deconstructed" and now["Short-lever side plank"] == "active", now
    earlier = (datetime.now(ZONE) - timedelta(days=30)).date().isoformat()  # after the adds, before the deconstruct
    _pick_date(browser, "#as_of", earlier)
    _submit(browser)
    assert f"as_of={earlier}" in browser.current_url
    then = _rows(browser)
    assert then["Side plank"] == "active" and "Short-lever side plank" not in then, then
    assert set(then) == {"Dead bug", "Bird dog", "Glute bridge", "Side plank"}
    assert earlier in browser.find_element(*_by("#as-of-line")).text
    assert _console_problems(browser) == []


def test_the_known_at_picker_shows_what_was_recorded_by_then(site, browser):
    """Everything was pushed today: as recorded by yesterday the record held nothing; by today, all of it."""
    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    now = _rows(browser)
    yesterday = (datetime.now(ZONE) - timedelta(days=1)).date().isoformat()
    _pick_date(browser, "#known_at", yesterday)
    _submit(browser)
    assert f"known_at={yesterday}" in browser.current_url
    assert "as recorded by" in browser.find_element(*_by("#as-of-line")).text
    assert _rows(browser) == {}
    assert "No exercise in the program on that date." in browser.find_element(*_by("main")).text
    today = datetime.now(ZONE).date().isoformat()
    browser.find_element(*_by("#known_at")).clear()
    _pick_date(browser, "#known_at", today)
    _submit(browser)
    assert f"known_at={today}" in browser.current_url
    assert _rows(browser) == now
    assert _console_problems(browser) == []


def test_the_history_of_an_exercise_gives_each_decisions_reason(site, browser):
    from selenium.webdriver.support.ui import Select

    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    browser.get(server.url + "/history")
    Select(browser.find_element(*_by("#exercise"))).select_by_visible_text("Bird dog")
    _submit(browser)
    assert browser.find_element(*_by("h1")).text == "History of Bird dog"
    table = browser.find_element(*_by("main table")).text
    assert "flare: reduce volume" in table and "flare over, back to full volume" in table
    assert "Glute bridge" not in table


def test_a_chart_opens_with_its_lanes_and_markers(site, browser):
    from selenium.webdriver.support.ui import Select

    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    browser.get(server.url + "/charts")
    Select(browser.find_element(*_by("#name"))).select_by_value("timeline")
    _pick_date(browser, "#since", (datetime.now(ZONE) - timedelta(days=40)).date().isoformat())
    _submit(browser)
    image = browser.find_element(*_by("figure.chart img"))
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
    browser.find_element(*_by("#open-chart")).click()
    assert "/charts/timeline.svg" in browser.current_url
    lanes = browser.find_elements(*_by("g[id^='lane-']"))
    titles = " ".join(t.get_attribute("textContent") for t in browser.find_elements(*_by("title")))
    assert len({lane.get_attribute("id").split("-")[1] for lane in lanes}) == 6  # 4 added, 2 components
    assert "flare: reduce volume" in titles and "calms the back every time" in titles
    assert _console_problems(browser) == []


def test_screenshots_at_1280_and_375_pixels_readable_and_labelled(site, browser, tmp_path):
    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    folder = Path(os.environ.get("BACKSTORY_SCREENSHOTS") or tmp_path)
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    shots = {("/program", 1280): "dashboard-program-1280.png", ("/program", 375): "dashboard-program-375.png",
             ("/history?exercise=Bird+dog", 1280): "dashboard-history-1280.png",
             ("/charts?name=pain", 1280): "dashboard-charts-1280.png"}
    pages = ["/program", "/history?exercise=Bird+dog", "/sessions", "/tension", "/recap", "/charts?name=pain",
             "/signature", "/kit", "/outcomes", "/conflicts", "/day", "/breaks", "/fitting", "/flares", "/pending",
             "/signature/explain?exercise=Bird+dog"]
    try:
        for target, width in [(p, w) for w in (1280, 375) for p in pages]:
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})
            browser.get(server.url + target)
            height = min(browser.execute_script("return document.documentElement.scrollHeight"), 4000)
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1,
                                     "mobile": width < 500})
            scroll = browser.execute_script("return document.documentElement.scrollWidth")
            assert scroll <= width, (target, width, scroll)  # nothing wider than the screen
            assert browser.execute_script(AUDIT) == {"low": [], "unlabelled": []}, (target, width)
            name = shots.get((target, width))
            if name:
                assert browser.save_screenshot(str(folder / name))
                png = (folder / name).read_bytes()
                assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", png[16:20])[0] == width
        assert _console_problems(browser) == []
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_hostile_names_and_notes_are_text_and_another_account_sees_nothing(site, browser):
    server, _, other = site
    _sign_in(browser, server.url, other.token)
    assert HOSTILE_NAME in _rows(browser)
    for target in ("/program", "/history", "/sessions"):
        browser.get(server.url + target)
        text = browser.find_element(*_by("main")).text
        assert HOSTILE_NAME in text and (target == "/program" or "</script><script>alert(2)</script>" in text)
        assert browser.find_elements(*_by("main img")) == []  # the name made no element
        _no_dialog(browser)
    for target in ("/program", "/history", "/sessions", "/tension", "/recap", "/signature", "/charts?name=timeline"):
        browser.get(server.url + target)
        page = browser.page_source
        assert not any(word in page for word in ("Dead bug", "Bird dog", "Glute bridge", "Demo program")), target
    assert _console_problems(browser) == []
    browser.get(server.url + "/history?exercise=Dead+bug")  # the first account's exercise: unknown here
    assert "Not found" in browser.find_element(*_by("h1")).text and "Bird dog" not in browser.page_source


def test_signing_out_ends_the_session(site, browser):
    server, sam, _ = site
    _sign_in(browser, server.url, sam.token)
    _sign_out(browser)
    assert browser.current_url == server.url + "/"
    assert browser.get_cookie("backstory_session") is None
    browser.get(server.url + "/program")
    assert browser.current_url == server.url + "/" and browser.find_elements(*_by("#token"))
    assert "Dead bug" not in browser.page_source
