"""The HTML report in a real headless Chromium (Playwright): it loads without console
errors, shows the numbers of the JSON, filters really hide rows, the drill-down shows the
truth in full, and hostile strings stay text.

The browser is Debian's chromium (or chromium-browser, google-chrome) when installed,
else Playwright's own. Without one these tests skip, except under CI=true, where a missing
browser is a failure: CI must really run them (scripts/install-browser.sh installs one).
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conformance.reporters.html import format_ulp, write_html

try:
    from playwright.sync_api import expect
except ImportError:  # checked by the html_browser fixture, which skips (or fails under CI=true)
    expect = None
from conformance.results import VERDICTS, Results

from test_html import EVIL, evil_results

pytestmark = pytest.mark.browser

IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def find_chromium() -> tuple[str | None, str]:
    """(executable or None for Playwright's own, how it was found); raises LookupError
    with the reason when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path, f"{name} on PATH ({path})"
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
        if path and Path(path).exists():
            return None, f"Playwright's chromium ({path})"
    except Exception as exc:  # playwright missing, or its driver cannot start
        raise LookupError(f"no chromium, chromium-browser or google-chrome on PATH, and Playwright's own: {exc}") from exc
    raise LookupError("no chromium, chromium-browser or google-chrome on PATH, and Playwright has no chromium installed")


def _unavailable(reason: str) -> None:
    message = f"browser tests need a headless Chromium: {reason}. Install one with scripts/install-browser.sh"
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def html_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the browser extra is not installed
        _unavailable(f"playwright is not installed ({exc}; pip install -e '.[browser]')")
    try:
        executable, _how = find_chromium()
    except LookupError as exc:
        _unavailable(str(exc))
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [],
        )
    except Exception as exc:
        pw.stop()
        _unavailable(f"{executable or 'playwright chromium'} does not start: {exc}")
    yield browser
    browser.close()
    pw.stop()


class Loaded:
    """A report page open in the browser, with what it logged."""

    def __init__(self, browser, path: Path) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))

        def on_dialog(d) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def visible_cases(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "#matrix tr.case", "rows => rows.filter(r => r.offsetParent !== null).map(r => r.dataset.case)"
        )


def _screenshot(page, tmp_path: Path, name: str, *, full_page: bool = True) -> None:
    """Save a screenshot under the test's tmp path, and under $CONFORMANCE_SCREENSHOT_DIR when set."""
    page.screenshot(path=str(tmp_path / name), full_page=full_page)
    assert (tmp_path / name).stat().st_size > 1000
    folder = os.environ.get("CONFORMANCE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=full_page)


@pytest.fixture
def html_page(html_browser, html_results: Results, tmp_path: Path):
    path = write_html(html_results, tmp_path / "report.html", title="Browser test")
    loaded = Loaded(html_browser, path)
    yield loaded
    loaded.page.close()


def test_page_loads_without_errors_and_counts_match_the_json(html_page: Loaded, html_results: Results, tmp_path: Path) -> None:
    page = html_page.page
    assert page.title() == "Browser test"
    assert html_page.errors == []
    # the header and the legend
    assert page.inner_text('[data-stat="cells"]') == str(len(html_results.records))
    assert page.inner_text('[data-stat="cases"]') == str(len({r.case for r in html_results.records}))
    totals = Counter(r.verdict for r in html_results.records)
    for v in VERDICTS:
        assert page.inner_text(f'[data-total="{v}"] .num') == str(totals[v])
    # every summary row
    rows = page.eval_on_selector_all(
        "#summary-table tbody tr",
        """rows => rows.map(r => ({key: [r.dataset.adapter, r.dataset.dtype, r.dataset.device],
             cells: Object.fromEntries([...r.querySelectorAll('[data-count],[data-ulp]')]
                    .map(td => [td.dataset.count || 'ulp-' + td.dataset.ulp, td.textContent.trim()]))}))""",
    )
    assert len(rows) == len({(r.adapter, r.dtype, r.device) for r in html_results.records})
    for row in rows:
        recs = [r for r in html_results.records if [r.adapter, r.dtype, r.device] == row["key"]]
        assert int(row["cells"]["total"]) == len(recs)
        for v in VERDICTS:
            assert int(row["cells"][v]) == sum(r.verdict == v for r in recs)
        ulps = [float(r.ulp_error) for r in recs if r.ulp_error is not None]
        assert row["cells"]["ulp-max"] == (format_ulp(max(ulps)) if ulps else "—")
    # a sample of cells: verdict and ULP as in the JSON
    for r in html_results.records:
        td = page.locator(f'#matrix tr.case[data-case="{r.case}"] td[data-v]').evaluate_all(
            "tds => tds.map(td => [td.title, td.dataset.v, td.querySelector('.cu').textContent])")
        assert any(t.startswith(f"{r.adapter} · {r.dtype} · {r.device}:") and v == r.verdict
                   and u == (format_ulp(r.ulp_error) if r.ulp_error is not None else "") for t, v, u in td), r.key
    # the histograms: one per column, bar counts summing to the cells with a ULP error
    bars = page.eval_on_selector_all("svg.hist .bar", "gs => gs.map(g => +g.dataset.count)")
    assert sum(bars) == sum(r.ulp_error is not None for r in html_results.records)
    _screenshot(page, tmp_path, "report.png")


def test_filters_really_hide_rows(html_page: Loaded, html_results: Results) -> None:
    page = html_page.page
    all_cases = sorted({r.case for r in html_results.records})
    assert sorted(html_page.visible_cases()) == all_cases
    page.select_option("#f-verdict", "crash")
    crashed = sorted({r.case for r in html_results.records if r.verdict == "crash"})
    assert sorted(html_page.visible_cases()) == crashed
    assert page.inner_text("#f-count") == f"{len(crashed)} of {len(all_cases)} cases"
    page.select_option("#f-verdict", "")
    page.select_option("#f-tag", "metric-state")
    assert html_page.visible_cases() == ["scce-metric-steps"]
    page.select_option("#f-tag", "")
    page.fill("#f-search", "logits")
    assert html_page.visible_cases() == ["scce-fn-logits"]
    page.fill("#f-search", "")
    # implementation and dtype hide columns, and rows with no cell left
    page.select_option("#f-adapter", "tensorflow")
    page.select_option("#f-dtype", "float64")
    assert html_page.visible_cases() == ["scce-doc-basic"]
    shown_cols = page.eval_on_selector_all("#matrix th.sub-h", "ths => ths.filter(t => t.offsetParent !== null).length")
    assert shown_cols == 1
    assert page.locator("#summary-table tbody tr:visible").count() == 1
    page.click("#f-reset")
    # (the page's CSP forbids eval, so wait_for_function cannot run: expect() polls instead)
    expect(page.locator("#f-count")).to_have_text(f"{len(all_cases)} of {len(all_cases)} cases")
    assert sorted(html_page.visible_cases()) == all_cases
    assert html_page.errors == []


def test_drilldown_shows_truth_in_full_and_a_repro(html_page: Loaded, html_results: Results, tmp_path: Path) -> None:
    page = html_page.page
    rec = next(r for r in html_results.records if r.verdict == "fail" and r.adapter == "tensorflow")
    page.click(f'#matrix tr.case[data-case="{rec.case}"] td[data-v="fail"]')
    dialog = page.locator("dialog#drill")
    dialog.wait_for(state="visible")
    truth = page.inner_text("#drill-body td.truth")
    assert truth == rec.truth[0]
    assert len(re.sub(r"\D", "", truth)) >= 30
    body = page.inner_text("#drill-body")
    for text in (rec.output[0], "536870912.0", "1.19e-07", "keras3-tensorflow", "sum_over_batch_size", rec.message):
        assert text in body, text
    repro = page.inner_text("#drill-body pre.repro")
    assert "tf.keras.losses.SparseCategoricalCrossentropy(" in repro and rec.truth[0] in repro
    _screenshot(page, tmp_path, "drilldown.png", full_page=False)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # documented value and its source
    page.click('#matrix tr.case[data-case="scce-doc-basic"] td[data-col="1"]')
    body = page.inner_text("#drill-body")
    assert "keras-docs/losses.md" in body and "SparseCategoricalCrossentropy / Standalone usage" in body
    page.click("#drill-close")
    # an error cell: the exception
    page.click('#matrix tr.case[data-case="scce-label-oob"] td[data-v="error"]')
    body = page.inner_text("#drill-body")
    assert "IndexError" in body and "index 3 is out of bounds" in body and "invalid_label" in body
    assert html_page.errors == []


def test_hostile_strings_stay_text(html_browser, tmp_path: Path) -> None:
    results = evil_results()
    path = write_html(results, tmp_path / "evil.html", title=EVIL)
    loaded = Loaded(html_browser, path)
    page = loaded.page
    literal = EVIL.split("\u2028")[0]
    assert page.title().startswith('<script>alert("x")</script>')
    assert literal in page.inner_text("h1")
    text = page.inner_text("body")
    assert text.count(literal) >= 5  # title, case, tags, environment, ...
    assert page.locator("img").count() == 0
    assert page.eval_on_selector_all("script", "s => s.length") == 2
    page.click('#matrix td[data-v="error"]')
    page.locator("dialog#drill").wait_for(state="visible")
    body = page.inner_text("#drill-body")
    assert body.count(literal) >= 8  # message, error, inputs, args, documented, tolerance, ...
    assert page.locator("#drill-body img, #drill-body script").count() == 0
    page.select_option("#f-tag", EVIL)
    page.fill("#f-search", "<script>")
    assert len(loaded.visible_cases()) == 1
    _screenshot(page, tmp_path, "escaping.png")
    assert loaded.dialogs == []
    assert loaded.errors == []
    loaded.page.close()


PUBLISHED = Path(__file__).resolve().parent.parent / "reports" / "index.html"


def test_the_committed_published_report_opens_and_drills_down(html_browser, tmp_path: Path) -> None:
    """reports/index.html as committed: the matrix is there and a cell's drill-down
    shows the truth to at least 30 digits, with no console error."""
    assert PUBLISHED.exists(), "reports/index.html is missing: run 'make reports'"
    published = Results.read(PUBLISHED.with_suffix(".json"))
    loaded = Loaded(html_browser, PUBLISHED)
    try:
        page = loaded.page
        assert page.locator("#matrix tr.case").count() == len({r.case for r in published.records})
        rec = next(r for r in sorted(published.records, key=lambda r: r.key)
                   if r.verdict == "pass" and r.truth and len(r.truth[0]) > 30 and r.adapter == "tensorflow")
        cells = page.locator(f'#matrix tr.case[data-case="{rec.case}"] td[data-v="pass"]')
        assert cells.count() >= 1
        cells.first.click()
        page.locator("dialog#drill").wait_for(state="visible")
        truth = page.inner_text("#drill-body td.truth")
        assert len(re.sub(r"\D", "", truth.split("\n")[0])) >= 30, truth
        _screenshot(page, tmp_path, "published-drilldown.png", full_page=False)
        assert loaded.errors == []
    finally:
        loaded.page.close()
