"""Tests of the HTML report (conformance.reporters.html) and ``conformance report``, without a
browser: the page's content, its numbers, escaping, histograms and repro snippets (executed
for real). tests/test_html_browser.py checks the page in a real Chromium."""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import hashlib
import importlib
import io
import json
import math
import re
import statistics
import sys
import types
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conformance.reporters.html import (
    BUCKET_LABELS,
    format_ulp,
    histogram_svg,
    render_html,
    repro_snippet,
    summarize,
    ulp_bucket,
    write_html,
)
from conformance.results import VERDICTS, Record, Results, merge

from conftest import html_record

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&amp;</textarea>\u2028<!--'


# --------------------------------------------------------------------------- helpers
class _Page(HTMLParser):
    """Collects the summary table (by data-* attributes), the JSON block and every text node."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[tuple[str, str, str], dict[str, str]] = {}
        self.texts: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._row: tuple[str, str, str] | None = None
        self._cell: str | None = None
        self._script: dict[str, str | None] | None = None
        self.attrs: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.attrs.append((tag, a))
        if tag == "tr" and "data-adapter" in a and "data-dtype" in a:
            self._row = (a["data-adapter"] or "", a["data-dtype"] or "", a["data-device"] or "")
            self.rows[self._row] = {}
        elif tag == "td" and self._row is not None and ("data-count" in a or "data-ulp" in a):
            self._cell = a.get("data-count") or ("ulp-" + (a.get("data-ulp") or ""))
            self.rows[self._row][self._cell] = ""
        elif tag == "script":
            self._script = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        elif tag == "td":
            self._cell = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data))
            return
        self.texts.append(data)
        if self._row is not None and self._cell is not None:
            self.rows[self._row][self._cell] += data.strip()

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def data(self) -> dict:
        return json.loads(next(body for a, body in self.scripts if a.get("id") == "report-data"))


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def every_verdict_results() -> Results:
    return Results(environment={"python": "3.11"}, records=[html_record(f"case-{v}", v) for v in VERDICTS])


# --------------------------------------------------------------------------- the page
def test_summary_counts_equal_record_counts(html_results: Results) -> None:
    page = parse(render_html(html_results))
    expected: dict[tuple[str, str, str], Counter] = {}
    for r in html_results.records:
        expected.setdefault((r.adapter, r.dtype, r.device), Counter())[r.verdict] += 1
    assert set(page.rows) == set(expected)
    for key, counts in expected.items():
        row = page.rows[key]
        assert int(row["total"]) == sum(counts.values())
        for v in VERDICTS:
            assert int(row[v]) == counts.get(v, 0), (key, v)
    # the legend's totals
    totals = Counter(r.verdict for r in html_results.records)
    assert sum(totals.values()) == len(html_results.records)
    assert set(totals) == set(VERDICTS)  # the fixture covers every verdict


def test_summary_max_and_median_ulp(html_results: Results) -> None:
    page = parse(render_html(html_results))
    for key in page.rows:
        ulps = [float(r.ulp_error) for r in html_results.records
                if (r.adapter, r.dtype, r.device) == key and r.ulp_error is not None]
        row = page.rows[key]
        if not ulps:
            assert row["ulp-max"] == row["ulp-median"] == "—"
            continue
        assert row["ulp-max"] == format_ulp(max(ulps))
        assert row["ulp-median"] == format_ulp(statistics.median(ulps))
    numpy32 = page.rows[("numpy", "float32", "cpu")]
    assert numpy32["ulp-max"] == "∞"  # the non-finite ULP error of scce-fn-logits
    assert page.rows[("tensorflow", "float64", "cpu")]["ulp-max"] == "5.37e+08"


def test_every_verdict_renders_with_a_cell_and_a_repro_where_it_fails() -> None:
    results = every_verdict_results()
    page = parse(render_html(results))
    data = page.data()
    assert sorted(c["verdict"] for c in data["cells"]) == sorted(VERDICTS)
    for cell in data["cells"]:
        has_repro = cell["repro"] is not None
        assert has_repro == (cell["verdict"] in ("fail", "error", "crash", "xfail", "xpass")), cell["verdict"]
    tds = [a for tag, a in page.attrs if tag == "td" and "data-i" in a]
    assert sorted(a["data-v"] for a in tds) == sorted(VERDICTS)


def test_drilldown_data_holds_full_truth_documented_source_and_errors(html_results: Results) -> None:
    data = parse(render_html(html_results)).data()
    records = sorted(html_results.records, key=lambda r: r.key)
    assert len(data["cells"]) == len(records)
    by_key = {(c["case"], c["adapter"], c["dtype"], c["device"]): c for c in data["cells"]}
    for r in records:
        cell = by_key[r.key]
        if r.truth:
            assert [row[1] for row in cell["values"]] == r.truth  # every digit, unrounded
            assert len(re.sub(r"[^0-9]", "", cell["values"][0][1])) >= 40
        if r.output:
            assert [row[3] for row in cell["values"]] == r.output
    doc = by_key[("scce-doc-basic", "numpy", "float32", "cpu")]
    assert ["seed", "keras-docs/losses.md"] in doc["documented"]
    assert ["section", "SparseCategoricalCrossentropy / Standalone usage"] in doc["documented"]
    assert ["printed", '["1.177"]'] in doc["documented"]
    assert ["source", "default"] in doc["tolerance"]
    assert doc["profile"] == "keras3-tensorflow"
    err = by_key[("scce-label-oob", "numpy", "float32", "cpu")]
    assert ["type", "IndexError"] in err["error"] and err["expected_error"] == "invalid_label"
    fail = by_key[("scce-doc-basic", "tensorflow", "float64", "cpu")]
    assert ["ULP", "536870912.0"] in fail["errors"] and ["absolute", "1.19e-07"] in fail["errors"]
    xfail = by_key[("scce-weighted", "tensorflow", "float32", "cpu")]
    assert xfail["original_verdict"] == "fail" and xfail["baseline_reason"].startswith("TF computes")
    metric = by_key[("scce-metric-steps", "numpy", "float32", "cpu")]
    labels = [k for k, _ in metric["inputs"]]
    assert labels[0] == "step 1" and "step 2" in labels and any(k.strip().startswith("sample_weight") for k in labels)


def test_matrix_groups_by_api_and_tag(html_results: Results) -> None:
    html = render_html(html_results)
    page = parse(html)
    groups = [a["data-group"] for tag, a in page.attrs if tag == "tbody" and "data-group" in a]
    assert groups == ["loss_class · scce", "loss_function · scce", "metric · scce"]
    subs = [a["data-sub"] for tag, a in page.attrs if tag == "tr" and "tag-row" in (a.get("class") or "")]
    assert len(subs) == len(set(subs)) >= 4  # probabilities, out-of-range-label, sample-weight, ...
    rows = [a["data-case"] for tag, a in page.attrs if tag == "tr" and "data-case" in a]
    assert sorted(rows) == sorted({r.case for r in html_results.records})
    # filters offer every tag, verdict, dtype and implementation
    options = {a.get("value") for tag, a in page.attrs if tag == "option"}
    for r in html_results.records:
        assert {r.adapter, r.dtype, r.verdict, *r.tags} <= options


def test_merged_runs_list_every_environment(html_results: Results, tmp_path: Path) -> None:
    page = parse(render_html(html_results))
    text = page.text
    for value in ("3.11.9", "3.12.1", "Linux-6.1-x86_64", "macOS-14-arm64", "2026-01-01T00:00:00+00:00",
                  "2026-01-02T00:00:00+00:00", "tensorflow 2.21.0", "keras 3.15.1", "numpy 2.4.6"):
        assert value in text, value
    assert "Run 1 · numpy" in text and "Run 2 · tensorflow" in text
    # a merged file merged again with a third run: three environments, not a nested blob
    third = Results(environment={"python": "3.13.0", "started": "2026-02-03T00:00:00+00:00"},
                    records=[html_record("scce-extra", "pass", adapter="tf-keras")])
    again = merge([html_results, third])
    page = parse(render_html(again))
    assert "Run 3" in page.text and "3.13.0" in page.text and "merged" not in {k for k in page.rows}
    assert sum(1 for tag, a in page.attrs if tag == "article" and "env" in (a.get("class") or "")) == 3


def test_page_is_self_contained_and_script_matches_its_csp_hash(html_results: Results) -> None:
    html = render_html(html_results, title="Nightly")
    page = parse(html)
    for tag, attrs in page.attrs:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag, name, value)
        assert tag not in ("link",) or attrs.get("href", "").startswith("data:")
    assert "<svg" in html and "<style>" in html
    csp = next(a["content"] for tag, a in page.attrs if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    script = next(body for a, body in page.scripts if not a.get("type"))
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    assert "<title>Nightly</title>" in html and "<h1>Nightly</h1>" in html


def test_render_is_deterministic_and_write_is_atomic(html_results: Results, tmp_path: Path) -> None:
    assert render_html(html_results) == render_html(html_results)
    out = write_html(html_results, tmp_path / "sub" / "report.html")
    assert out.read_text(encoding="utf-8") == render_html(html_results)
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_empty_results_render() -> None:
    html = render_html(Results(environment={}, records=[]))
    assert "The results hold no records." in html


# --------------------------------------------------------------------------- escaping
def evil_results() -> Results:
    """``EVIL`` in every text field a results file can carry."""
    rec = html_record(
        "case" + EVIL, "error", title=EVIL, message=EVIL, tags=[EVIL, "documented"], adapter="numpy" + EVIL,
        profile=EVIL, api=EVIL, family=EVIL, location=EVIL, device=EVIL, expected_error=EVIL,
        error={"category": EVIL, "type": EVIL, "message": EVIL},
        inputs={"y_true": [EVIL], "y_pred": [[EVIL, "0.5"]], "y_pred_dtype": EVIL, EVIL: EVIL},
        args={EVIL: EVIL, "from_logits": EVIL}, documented={"seed": EVIL, "section": EVIL},
        tolerance={"source": EVIL}, output=[EVIL], truth=[EVIL], ulp_error=EVIL, baseline_reason=EVIL,
    )
    env = {"python": EVIL, "platform": EVIL, EVIL: EVIL, "adapters": {EVIL: {"profile": EVIL, "versions": {EVIL: EVIL}}}}
    return Results(environment=env, records=[rec, html_record("plain", "fail", adapter="numpy" + EVIL)])


def test_every_field_is_escaped() -> None:
    html = render_html(evil_results(), title=EVIL)
    # the markup never contains the raw strings: only the page's own two script elements
    assert html.count("<script") == 2 and "<img" not in html and "<!--" not in html
    assert "</textarea>" not in html
    page = parse(html)
    assert len(page.scripts) == 2
    # and the text shows them literally, in the title, matrix, filters and environment
    assert page.text.count(EVIL.split("\u2028")[0]) >= 6
    assert all("onerror" not in k for _, a in page.attrs for k in a)
    # the drill-down data survives the JSON round trip exactly
    data = page.data()
    cell = next(c for c in data["cells"] if c["verdict"] == "error")
    assert cell["title"] == cell["message"] == EVIL
    assert [EVIL, EVIL] in cell["args"] and ["seed", EVIL] in cell["documented"]


def test_snippet_of_evil_record_is_inert_code() -> None:
    rec = evil_results().records[0]
    snippet = repro_snippet(rec)
    assert snippet is not None
    tree = ast.parse(snippet)  # valid Python, with the strings only in comments and literals
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert names <= {"np", "numpy_impl", "y_true", "y_pred", "sample_weight", "loss", "result", "truth", "print"}, names
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert attrs <= {"array", "asarray", "LossClass", "nan", "inf"}, attrs
    for line in snippet.splitlines():
        assert "\u2028" not in line


# --------------------------------------------------------------------------- histograms
def test_ulp_buckets() -> None:
    assert len(BUCKET_LABELS) == 25  # 0, ≤0.5, ≤1 … ≤2²⁰, >2²⁰, non-finite
    assert ulp_bucket(None) is None and ulp_bucket("not a number") is None
    assert BUCKET_LABELS[ulp_bucket(0.0)] == "0"
    assert BUCKET_LABELS[ulp_bucket(0.5)] == "≤0.5"
    assert BUCKET_LABELS[ulp_bucket(0.51)] == "≤1"
    assert BUCKET_LABELS[ulp_bucket(3)] == "≤4"
    assert BUCKET_LABELS[ulp_bucket("512")] == "≤512"
    assert BUCKET_LABELS[ulp_bucket(1000)] == "≤2¹⁰"
    assert BUCKET_LABELS[ulp_bucket(2.0**20)] == "≤2²⁰"
    assert BUCKET_LABELS[ulp_bucket(2.0**20 + 1)] == ">2²⁰"
    for nf in ("inf", "nan", math.inf, "-inf"):
        assert BUCKET_LABELS[ulp_bucket(nf)] == "non-finite"


def test_histogram_svg_counts(html_results: Results) -> None:
    rows = {r.column: r for r in summarize(html_results.records)}
    row = next(r for c, r in rows.items() if (c.adapter, c.dtype) == ("numpy", "float32"))
    ulps = [r.ulp_error for r in html_results.records if (r.adapter, r.dtype) == ("numpy", "float32") and r.ulp_error is not None]
    assert sum(row.histogram) == len(ulps)
    svg = str(histogram_svg(row.histogram, "ULP errors of " + EVIL))
    counts = [int(c) for c in re.findall(r'data-count="(\d+)"', svg)]
    assert counts == row.histogram and len(counts) == len(BUCKET_LABELS)
    assert counts[-1] == 1  # the infinite ULP error
    assert "<script" not in svg and svg.startswith("<svg") and svg.endswith("</svg>")
    html = render_html(html_results)
    assert html.count('<svg class="hist"') == len(rows)


# --------------------------------------------------------------------------- repro snippets
def _printed(snippet: str) -> tuple[list[float], list[str]]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(snippet, "<repro>", "exec"), {"__name__": "__repro__"})
    out = buf.getvalue().splitlines()
    output = next(line for line in out if line.startswith("output:"))
    truth = next(line for line in out if line.startswith("truth:"))
    values = [float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)", output[len("output:"):])]
    return values, truth[len("truth:"):].split()


def _stub_numpy_impl() -> types.ModuleType:
    """A stand-in for conformance.numpy_impl while it is not there: Keras' sparse
    crossentropy on probabilities, under the names the snippets call."""
    import numpy as np

    def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
        p = np.asarray(y_pred)
        p = p / p.sum(axis=axis, keepdims=True)
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return -np.log(np.take_along_axis(p, np.asarray(y_true)[..., None], axis=-1)[..., 0]).astype(p.dtype)

    class SparseCategoricalCrossentropy:
        def __init__(self, from_logits=False, axis=-1, ignore_class=None, reduction="sum_over_batch_size", **kw):
            self.kw = dict(from_logits=from_logits, axis=axis, ignore_class=ignore_class)

        def __call__(self, y_true, y_pred, sample_weight=None):
            v = sparse_categorical_crossentropy(y_true, y_pred, **self.kw)
            w = np.ones_like(v) if sample_weight is None else np.asarray(sample_weight, v.dtype)
            return np.asarray((v * w).sum() / v.size, dtype=v.dtype)

    class SparseCategoricalCrossentropyMetric:
        def __init__(self, from_logits=False, axis=-1, ignore_class=None, **kw):
            self.kw = dict(from_logits=from_logits, axis=axis, ignore_class=ignore_class)
            self.reset_state()

        def reset_state(self):
            self.total, self.count = 0.0, 0.0

        def update_state(self, y_true, y_pred, sample_weight=None):
            v = sparse_categorical_crossentropy(y_true, y_pred, **self.kw)
            w = np.ones_like(v) if sample_weight is None else np.asarray(sample_weight, v.dtype)
            self.total += float((v * w).sum())
            self.count += float(w.sum())

        def result(self):
            return np.float32(self.total / self.count)

    mod = types.ModuleType("conformance.numpy_impl")
    mod.sparse_categorical_crossentropy = sparse_categorical_crossentropy
    mod.SparseCategoricalCrossentropy = SparseCategoricalCrossentropy
    mod.metrics = types.SimpleNamespace(SparseCategoricalCrossentropy=SparseCategoricalCrossentropyMetric)
    return mod


@pytest.fixture
def html_numpy_impl(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The real conformance.numpy_impl once it offers the names the snippets call, else a stub."""
    try:
        real = importlib.import_module("conformance.numpy_impl")
        if all(hasattr(real, n) for n in ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", "metrics")):
            return real
        raise ImportError("conformance.numpy_impl is incomplete")
    except ImportError:
        import conformance

        stub = _stub_numpy_impl()
        monkeypatch.setitem(sys.modules, "conformance.numpy_impl", stub)
        monkeypatch.setattr(conformance, "numpy_impl", stub, raising=False)
        return stub


@pytest.mark.parametrize("api", ["loss_class", "loss_function", "metric"])
def test_numpy_snippet_runs_and_prints_the_value_next_to_the_truth(api: str, html_numpy_impl) -> None:
    import numpy as np

    from conftest import html_inputs

    P = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    inputs = html_inputs([1, 2], P, "float32")
    args = {"from_logits": False, "axis": -1, "ignore_class": None}
    if api == "loss_class":
        args["reduction"] = "sum_over_batch_size"
    if api == "metric":
        inputs = {"steps": [{"update_state": inputs}, "result"]}
    rec = html_record("scce-doc-basic", "fail", api=api, args=args, inputs=inputs)
    snippet = repro_snippet(rec)
    assert snippet is not None and "from conformance import numpy_impl" in snippet
    assert {"loss_class": "numpy_impl.SparseCategoricalCrossentropy(", "loss_function": "numpy_impl.sparse_categorical_crossentropy(",
            "metric": "numpy_impl.metrics.SparseCategoricalCrossentropy("}[api] in snippet
    values, truth = _printed(snippet)
    assert truth == rec.truth
    expected = float(rec.truth[0])
    if api == "loss_function":  # per-sample losses; their mean is the truth
        assert len(values) == 2
        assert float(np.mean(np.asarray(values, dtype=np.float32))) == pytest.approx(expected, rel=1e-6)
    else:
        assert values == [pytest.approx(expected, rel=1e-6)]


@pytest.mark.tensorflow
@pytest.mark.parametrize("api", ["loss_class", "metric"])
def test_tensorflow_snippet_runs_and_prints_the_value(api: str) -> None:
    pytest.importorskip("tensorflow")
    from conftest import html_inputs

    P = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    inputs = html_inputs([1, 2], P, "float32", [0.25, 0.75])
    args = {"from_logits": False, "axis": -1, "ignore_class": None}
    if api == "loss_class":
        args["reduction"] = "sum"
    else:
        inputs = {"steps": [{"update_state": inputs}, "result"]}
    rec = html_record("scce-weighted", "fail", api=api, adapter="tensorflow", args=args, inputs=inputs)
    snippet = repro_snippet(rec)
    assert snippet is not None and "import tensorflow as tf" in snippet and 'tf.device("/CPU:0")' in snippet
    values, _ = _printed(snippet)
    l1, l2 = -math.log(0.95), -math.log(0.1)  # per-sample losses of the inputs (float32-rounded)
    expected = 0.25 * l1 + 0.75 * l2 if api == "loss_class" else (0.25 * l1 + 0.75 * l2) / 1.0
    assert values == [pytest.approx(expected, rel=1e-5)]


def test_snippet_keeps_dtypes_and_short_literals() -> None:
    from conftest import html_inputs

    rec = html_record("c", "fail", dtype="bfloat16", inputs=html_inputs([1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], "bfloat16"))
    snippet = repro_snippet(rec)
    assert "import ml_dtypes" in snippet and "dtype=ml_dtypes.bfloat16" in snippet
    assert "y_true = np.array([1, 2], dtype='int64')" in snippet
    assert "0.0500488" in snippet  # the shortest bfloat16 decimal, not 0.050048828125
    for verdict in ("pass", "skip"):
        assert repro_snippet(html_record("c", verdict)) is None


def test_snippet_survives_malformed_inputs() -> None:
    rec = html_record("c", "fail", inputs={"y_true": {"generator": "eye", "n": "x"}, "y_pred": {"values": [], "shape": ["x"]}})
    snippet = repro_snippet(rec)
    assert snippet is not None
    ast.parse(snippet)


# --------------------------------------------------------------------------- the command
def _report_main(argv: list[str]) -> int:
    """``conformance report ARGV`` through the report module's own parser."""
    from conformance.cli import _Parser
    from conformance.commands import report

    parser = _Parser(prog="conformance")
    report.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def _write(results: Results, path: Path) -> Path:
    results.write(path)
    return path


def test_report_command_merges_files(html_results: Results, tmp_path: Path, capsys) -> None:
    runs = html_results.environment["merged"]
    a = _write(Results(environment=runs[0], records=[r for r in html_results.records if r.adapter == "numpy"]), tmp_path / "a.json")
    b = _write(Results(environment=runs[1], records=[r for r in html_results.records if r.adapter == "tensorflow"]), tmp_path / "b.json")
    out = tmp_path / "out" / "report.html"
    assert _report_main([str(a), str(b), "--html", str(out), "--title", "Two runs"]) == 0
    assert str(out) in capsys.readouterr().out
    page = parse(out.read_text(encoding="utf-8"))
    assert len(page.data()["cells"]) == len(html_results.records)
    assert "Two runs" in page.text and "Run 2 · tensorflow" in page.text


def test_report_command_writes_the_merged_json_beside_the_page(html_results: Results, tmp_path: Path, capsys) -> None:
    runs = html_results.environment["merged"]
    a = _write(Results(environment=runs[0], records=[r for r in html_results.records if r.adapter == "numpy"]), tmp_path / "a.json")
    b = _write(Results(environment=runs[1], records=[r for r in html_results.records if r.adapter == "tensorflow"]), tmp_path / "b.json")
    merged = tmp_path / "index.json"
    assert _report_main([str(a), str(b), "--html", str(tmp_path / "index.html"), "--json", str(merged)]) == 0
    back = Results.read(merged)
    assert sorted(r.key for r in back.records) == sorted(r.key for r in html_results.records)
    assert len(back.environment["merged"]) == 2


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "no such results file"),
        ("{not json", "not valid JSON"),
        ('{"schema_version": 1}', "not a results file"),
        ('{"schema_version": 99, "records": []}', "schema_version 99"),
        ('{"schema_version": 1, "records": [{"case": "x"}]}', "not a results file"),
    ],
)
def test_report_command_bad_results_file_exits_2_naming_it(tmp_path: Path, capsys, content, expected) -> None:
    bad = tmp_path / "bad-results.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    good = _write(every_verdict_results(), tmp_path / "good.json")
    out = tmp_path / "report.html"
    assert _report_main([str(good), str(bad), "--html", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad-results.json" in err and expected in err
    assert not out.exists()


def test_report_command_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    good = _write(every_verdict_results(), tmp_path / "good.json")
    with pytest.raises(SystemExit) as exc:
        _report_main([str(good)])  # no --html
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        _report_main(["--html", str(tmp_path / "r.html")])  # no results file
    assert exc.value.code == 2
    assert _report_main([str(good), "--html", str(tmp_path / "r.html"), "--title", "  "]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert _report_main([str(good), "--html", str(blocker / "r.html")]) == 2
    assert "cannot write the report" in capsys.readouterr().err


def test_report_through_the_cli(tmp_path: Path) -> None:
    try:
        from conformance.cli import main
        from conformance.cli import build_parser

        build_parser()
    except ImportError as exc:  # another command module is not written yet
        pytest.skip(f"the cli cannot load every command yet: {exc}")
    good = _write(every_verdict_results(), tmp_path / "good.json")
    assert main(["report", str(good), "--html", str(tmp_path / "r.html")]) == 0
    assert main(["report", str(tmp_path / "missing.json"), "--html", str(tmp_path / "r2.html")]) == 2
    assert (tmp_path / "r.html").exists() and not (tmp_path / "r2.html").exists()
