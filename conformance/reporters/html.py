"""The HTML report: one self-contained page, a view of (possibly merged) results.

The page has five parts, all rendered from :class:`~conformance.results.Results`:

1. a summary per implementation × dtype × device (verdict counts, max and median ULP
   error, Zimmermann-style: the largest error per API and implementation), and the
   environment of every merged run;
2. the case matrix: cases (grouped by API and family, then by the tag that says what
   they test: :func:`primary_tag`) × implementations, one coloured cell per verdict, with
   filters (tag, verdict, dtype, implementation, device, search);
3. a drill-down per cell (inputs, the truth in full digits, output, errors, tolerance,
   documented value, error, location);
4. a standalone Python snippet that reproduces every fail, error, crash, xfail or xpass
   cell (numpy adapters: ``conformance.numpy_impl``; tensorflow: ``tf.keras``; tf-keras;
   keras-BACKEND: Keras 3 with ``KERAS_BACKEND`` set);
5. histograms of ULP errors (log2 buckets) as inline SVG, drawn here in Python.

The page needs no network: CSS, JavaScript and SVG are inline, and a Content Security
Policy forbids everything else. Every string from a results file is untrusted (case
titles, third-party exception messages): Jinja2 escapes it in HTML, the per-cell data
for the drill-down is embedded as JSON with ``<``, ``>`` and ``&`` escaped, and the
page's JavaScript only ever inserts it with ``textContent``. A reporter never computes
a verdict; it only shows the ones in the records.
"""

from __future__ import annotations

import base64
import hashlib
import json
import keyword
import math
import os
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import jinja2
from markupsafe import Markup, escape

from conformance.case import nested_shape
from conformance.results import VERDICTS, Record, Results, environments, write_text_atomic
from conformance.vocabulary import APIS, DEVICES, DTYPES, FAMILIES, FAMILY_CLASS, FAMILY_SHORT, PROFILES, TAGS

__all__ = [
    "render_html",
    "write_html",
    "repro_snippet",
    "ulp_bucket",
    "BUCKET_LABELS",
    "format_ulp",
    "summarize",
]

TEMPLATES = Path(__file__).parent / "templates"

#: What each verdict means, for the legend.
VERDICT_HELP: dict[str, str] = {
    "pass": "within tolerance of the truth, or raised the expected error",
    "fail": "a wrong number: outside the tolerance",
    "error": "a wrong or unexpected exception",
    "crash": "the process died or timed out",
    "skip": "not applicable (capability, dtype or device missing)",
    "xfail": "fails as the baseline expects (an accepted divergence)",
    "xpass": "passes although the baseline expects it to fail",
}

#: Short text shown in a matrix cell.
VERDICT_SHORT: dict[str, str] = {
    "pass": "pass",
    "fail": "FAIL",
    "error": "ERROR",
    "crash": "CRASH",
    "skip": "skip",
    "xfail": "xfail",
    "xpass": "XPASS",
}

#: Verdicts whose cells get a repro snippet.
REPRO_VERDICTS = ("fail", "error", "crash", "xfail", "xpass")

#: Upper edges of the ULP histogram's log2 buckets: 0, <=2^-1, <=2^0, ..., <=2^20.
_EDGES: tuple[float, ...] = (0.0,) + tuple(2.0**k for k in range(-1, 21))
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _edge_label(k: int) -> str:
    if k == -1:
        return "≤0.5"
    if k <= 9:
        return f"≤{2 ** k}"
    return "≤2" + str(k).translate(_SUP)


#: Labels of the histogram buckets, in order: ``0``, ``≤0.5``, ``≤1``, ``≤2``, ... ``≤2²⁰``,
#: ``>2²⁰`` and ``non-finite``.
BUCKET_LABELS: tuple[str, ...] = (
    ("0",) + tuple(_edge_label(k) for k in range(-1, 21)) + (">2" + "20".translate(_SUP), "non-finite")
)


# --------------------------------------------------------------------------- numbers
def as_float(value: Any) -> float | None:
    """A record's error field as a float: numbers pass, decimal strings (``inf``, ``nan``
    included, as JSON cannot hold them) are parsed, anything else is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def ulp_bucket(ulp: Any) -> int | None:
    """The histogram bucket index (into :data:`BUCKET_LABELS`) of a ULP error, or None
    when the record has none."""
    x = as_float(ulp)
    if x is None:
        return None
    if not math.isfinite(x):
        return len(BUCKET_LABELS) - 1
    x = abs(x)
    for i, edge in enumerate(_EDGES):
        if x <= edge:
            return i
    return len(BUCKET_LABELS) - 2


def format_ulp(value: Any) -> str:
    """A ULP error for tables: three significant digits, ``∞``/``NaN`` for non-finite,
    ``—`` when there is none."""
    x = as_float(value)
    if x is None:
        return "—"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    return f"{x:.3g}"


def _exact(value: Any) -> str:
    """A number exactly as the results file holds it (Python's round-trip repr)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _max_ulp(values: Sequence[float]) -> float | None:
    if not values:
        return None
    if any(math.isnan(v) for v in values):
        return math.inf
    return max(values)


def _median_ulp(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return statistics.median(math.inf if math.isnan(v) else v for v in values)


def _ulp_band(x: float | None) -> str:
    """A colour band for the accuracy table."""
    if x is None:
        return "none"
    if not math.isfinite(x):
        return "nf"
    if x <= 0.5:
        return "cr"
    if x <= 2:
        return "b1"
    if x <= 16:
        return "b2"
    if x <= 1024:
        return "b3"
    return "b4"


# --------------------------------------------------------------------------- ordering
def _ordered(values: Iterable[str], preferred: Sequence[str] = ()) -> list[str]:
    rank = {v: i for i, v in enumerate(preferred)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), str(v)))


def _location_key(location: str) -> tuple[str, int]:
    file, _, line = (location or "").rpartition(":")
    if file and line.isdigit():
        return (file, int(line))
    return (location or "", 0)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _tags(rec: Record) -> list[str]:
    tags = rec.tags if isinstance(rec.tags, (list, tuple)) else []
    return [_text(t) for t in tags]


#: Tags that say where a case comes from, not what it tests; rows are grouped by another.
PROVENANCE_TAGS = ("documented", "derived", "keras-test", "doc-not-runnable")


def primary_tag(rec: Record) -> str:
    """The tag a case's matrix row is grouped under: its first tag that says what it tests
    (not where it comes from), else its first tag, else ``untagged``."""
    tags = _tags(rec)
    for t in tags:
        if t not in PROVENANCE_TAGS:
            return t
    return tags[0] if tags else "untagged"


@dataclass(frozen=True)
class Column:
    """One matrix column: an implementation in a dtype on a device."""

    adapter: str
    dtype: str
    device: str

    @property
    def label(self) -> str:
        return f"{self.adapter} · {self.dtype} · {self.device}"


def _columns(records: Sequence[Record], adapter_order: Sequence[str]) -> list[Column]:
    keys = {(_text(r.adapter), _text(r.dtype), _text(r.device)) for r in records}
    adapters = _ordered((k[0] for k in keys), adapter_order)
    dtypes = _ordered((k[1] for k in keys), DTYPES)
    devices = _ordered((k[2] for k in keys), DEVICES)
    a_rank = {a: i for i, a in enumerate(adapters)}
    d_rank = {d: i for i, d in enumerate(dtypes)}
    v_rank = {d: i for i, d in enumerate(devices)}
    ordered = sorted(keys, key=lambda k: (a_rank[k[0]], v_rank[k[2]], d_rank[k[1]]))
    return [Column(*k) for k in ordered]


# --------------------------------------------------------------------------- summary
@dataclass
class SummaryRow:
    column: Column
    profiles: list[str]
    counts: dict[str, int]
    total: int
    ulps: list[float] = field(default_factory=list)

    @property
    def max_ulp(self) -> float | None:
        return _max_ulp(self.ulps)

    @property
    def median_ulp(self) -> float | None:
        return _median_ulp(self.ulps)

    @property
    def max_ulp_text(self) -> str:
        return format_ulp(self.max_ulp)

    @property
    def median_ulp_text(self) -> str:
        return format_ulp(self.median_ulp)

    @property
    def histogram(self) -> list[int]:
        counts = [0] * len(BUCKET_LABELS)
        for u in self.ulps:
            b = ulp_bucket(u)
            if b is not None:
                counts[b] += 1
        return counts


def summarize(records: Sequence[Record], columns: Sequence[Column] | None = None) -> list[SummaryRow]:
    """Verdict counts and ULP statistics per (implementation, dtype, device)."""
    if columns is None:
        columns = _columns(records, ())
    by_col: dict[Column, list[Record]] = defaultdict(list)
    for r in records:
        by_col[Column(_text(r.adapter), _text(r.dtype), _text(r.device))].append(r)
    rows = []
    for col in columns:
        recs = by_col.get(col, [])
        counts = Counter(_text(r.verdict) for r in recs)
        ulps = [u for u in (as_float(r.ulp_error) for r in recs) if u is not None]
        rows.append(
            SummaryRow(
                column=col,
                profiles=_ordered(_text(r.profile) for r in recs),
                counts={v: counts.get(v, 0) for v in VERDICTS},
                total=len(recs),
                ulps=ulps,
            )
        )
    return rows


# --------------------------------------------------------------------------- SVG
def histogram_svg(counts: Sequence[int], title: str) -> Markup:
    """A bar chart of ULP-error bucket counts as inline SVG (every text escaped)."""
    n = len(counts)
    bar_w, gap = 15, 2
    left, right, top, bottom = 34, 8, 16, 62
    plot_h = 100
    width = left + n * (bar_w + gap) + right
    height = top + plot_h + bottom
    peak = max(counts) if counts and max(counts) > 0 else 1
    total = sum(counts)
    parts = [
        f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 4}" y="{top + plot_h + 3}" text-anchor="end">0</text>',
        f'<text class="tick" x="{left - 4}" y="{top + 4}" text-anchor="end">{peak}</text>',
        f'<line class="grid" x1="{left}" y1="{top}" x2="{width - right}" y2="{top}"/>',
    ]
    for i, c in enumerate(counts):
        x = left + gap + i * (bar_w + gap)
        h = 0 if c == 0 else max(1.5, plot_h * c / peak)
        y = top + plot_h - h
        kind = "nf" if i == n - 1 else ("cr" if i <= 1 else ("ok" if i <= 4 else ("mid" if i <= 12 else "far")))
        label = BUCKET_LABELS[i] if i < len(BUCKET_LABELS) else str(i)
        tip = f"{label} ULP: {c} cell{'s' if c != 1 else ''}" if i != n - 1 else f"non-finite ULP error: {c}"
        parts.append(
            f'<g class="bar {kind}" data-bucket="{i}" data-count="{c}"><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}"/>'
        )
        if c:
            parts.append(f'<text class="cnt" x="{x + bar_w / 2}" y="{y - 3:.1f}" text-anchor="middle">{c}</text>')
        parts.append("</g>")
        lx = x + bar_w / 2 + 3
        ly = top + plot_h + 6
        parts.append(
            f'<text class="xl" x="{lx}" y="{ly}" text-anchor="end" '
            f'transform="rotate(-60 {lx} {ly})">{escape(label)}</text>'
        )
    parts.append(
        f'<text class="tick" x="{width - right}" y="{height - 4}" text-anchor="end">'
        f"{total} cell{'s' if total != 1 else ''} with a ULP error</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))


# --------------------------------------------------------------------------- display
_MAX_TEXT = 4000
_MAX_VALUES = 500


def _count_leaves(value: Any) -> int:
    if isinstance(value, list):
        return sum(_count_leaves(v) for v in value)
    return 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _display(value: Any) -> str:
    """Any field value as plain text for the drill-down (truncated when very long)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = repr(value)
    elif value is None or isinstance(value, (int, bool)):
        text = repr(value) if value is not None else "None"
    else:
        text = json.dumps(_jsonable(value), ensure_ascii=False, separators=(", ", ": "))
    if len(text) > _MAX_TEXT:
        extra = ""
        if isinstance(value, list):
            extra = f", {_count_leaves(value)} values in all"
        text = text[:_MAX_TEXT] + f" … (truncated{extra}; the repro snippet has them all)"
    return text


def _array_label(name: str, value: Any) -> str:
    if isinstance(value, Mapping) and "generator" in value:
        return f"{name} (generator)"
    if isinstance(value, Mapping) and ("values" in value or "data" in value):
        shape = value.get("shape")
        dtype = value.get("dtype")
        bits = [b for b in (("×".join(map(str, shape)) if isinstance(shape, list) else None), dtype) if b]
        return f"{name} ({', '.join(map(str, bits))})" if bits else name
    if isinstance(value, list):
        return f"{name} (shape {'×'.join(map(str, nested_shape(value))) or '0'})"
    return name


def _input_pairs(inputs: Any) -> list[list[str]]:
    if inputs is None:
        return []
    if not isinstance(inputs, Mapping):
        return [["inputs", _display(inputs)]]
    pairs: list[list[str]] = []
    for key, value in inputs.items():
        key = _text(key)
        if key == "steps" and isinstance(value, list):
            for j, step in enumerate(value, 1):
                op, step_inputs = _step(step)
                pairs.append([f"step {j}", op])
                if isinstance(step_inputs, Mapping):
                    for k, v in step_inputs.items():
                        pairs.append([f"  {_array_label(_text(k), v)}", _display(v)])
        else:
            pairs.append([_array_label(key, value), _display(value)])
    return pairs


def _pairs(mapping: Any) -> list[list[str]]:
    if mapping is None:
        return []
    if not isinstance(mapping, Mapping):
        return [["value", _display(mapping)]]
    return [[_text(k), _display(v)] for k, v in mapping.items()]


def _step(step: Any) -> tuple[str, Any]:
    """A metric step as (op, inputs): accepts ``"result"``, ``{"update_state": {...}}`` and
    ``{"op": "update_state", "inputs": {...}}``."""
    if isinstance(step, str):
        return ("reset_state" if step == "reset_states" else step), None
    if isinstance(step, Mapping):
        if "op" in step:
            op = _text(step["op"])
            return ("reset_state" if op == "reset_states" else op), step.get("inputs")
        if len(step) == 1:
            (op, inputs), = step.items()
            return _text(op), inputs
        if "y_pred" in step:
            return "update_state", step
    return _text(step), None


def _value_rows(rec: Record) -> tuple[list[list[str]], int]:
    truth = rec.truth if isinstance(rec.truth, list) else ([] if rec.truth is None else [rec.truth])
    rounded = rec.truth_rounded if isinstance(rec.truth_rounded, list) else ([] if rec.truth_rounded is None else [rec.truth_rounded])
    output = rec.output if isinstance(rec.output, list) else ([] if rec.output is None else [rec.output])
    n = max(len(truth), len(rounded), len(output))
    rows = []
    for i in range(min(n, _MAX_VALUES)):
        rows.append(
            [
                str(i),
                _exact(truth[i]) if i < len(truth) else "",
                _exact(rounded[i]) if i < len(rounded) else "",
                _exact(output[i]) if i < len(output) else "",
            ]
        )
    return rows, max(0, n - _MAX_VALUES)


def _cell_payload(rec: Record) -> dict[str, Any]:
    values, more = _value_rows(rec)
    errors = [
        [label, _exact(v)]
        for label, v in (("absolute", rec.abs_error), ("relative", rec.rel_error), ("ULP", rec.ulp_error))
        if v is not None
    ]
    shape = rec.shape if isinstance(rec.shape, list) else None
    return {
        "case": _text(rec.case),
        "title": _text(rec.title),
        "api": _text(rec.api),
        "family": _text(rec.family),
        "tags": _tags(rec),
        "adapter": _text(rec.adapter),
        "profile": _text(rec.profile),
        "dtype": _text(rec.dtype),
        "device": _text(rec.device),
        "verdict": _text(rec.verdict),
        "original_verdict": _text(getattr(rec, "original_verdict", None)),
        "output_dtype": _text(rec.output_dtype),
        "shape": "[" + ", ".join(map(str, shape)) + "]" if shape is not None else "",
        "values": values,
        "values_more": more,
        "errors": errors,
        "tolerance": _pairs(rec.tolerance),
        "documented": _pairs(rec.documented),
        "expected_error": _text(rec.expected_error),
        "error": _pairs(rec.error),
        "message": _text(rec.message),
        "baseline_reason": _text(rec.baseline_reason),
        "location": _text(rec.location),
        "args": _pairs(rec.args),
        "inputs": _input_pairs(rec.inputs),
        "repro": repro_snippet(rec),
    }


def json_for_script(data: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and
    ``&`` are written as ``\\u003c``, ``\\u003e`` and ``\\u0026``, so no string in it can
    close the element or open a comment."""
    text = json.dumps(_jsonable(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


# --------------------------------------------------------------------------- repro snippets
_DTYPE_RE = re.compile(r"^(u?int(8|16|32|64)|float(16|32|64)|bfloat16|bool)$")
_KERAS_BACKENDS = (("keras-jax", "jax"), ("keras-torch", "torch"), ("keras-numpy", "numpy"), ("keras-tensorflow", "tensorflow"))


def _flavour(adapter: str) -> tuple[str, str | None]:
    a = adapter.lower()
    if a.startswith("numpy"):
        return "numpy", None
    if a.startswith(("tf-keras", "tf_keras")):
        return "tf-keras", None
    if a.startswith("tensorflow"):
        return "tensorflow", None
    for prefix, backend in _KERAS_BACKENDS:
        if a.startswith(prefix):
            return "keras", backend
    return "generic", None


def _comment(text: Any, limit: int = 300) -> str:
    """Text made safe for a single ``#`` comment line: no line breaks, no control characters."""
    out = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in _text(text))
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def _float_literal(x: float) -> str:
    if math.isnan(x):
        return "np.nan"
    if math.isinf(x):
        return "np.inf" if x > 0 else "-np.inf"
    return repr(x)


def _parse_number(v: Any) -> int | float | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        t = v.strip()
        try:
            return int(t)
        except ValueError:
            pass
        try:
            return float.fromhex(t) if t.lower().lstrip("+-").startswith("0x") else float(t)
        except ValueError:
            return None
    return None


def _short_float(x: float, dtype: str | None) -> str:
    """The shortest decimal that converts to the same value in ``dtype`` (``0.05`` rather
    than ``0.05000000074505806`` for a float32), else Python's repr of the float64."""
    if dtype in ("float16", "float32", "bfloat16") and math.isfinite(x):
        try:
            import numpy as np

            from conformance.case import numpy_dtype

            t = numpy_dtype(dtype).type
            v = t(x)
            if float(v) == x:
                short = str(v)
                if float(t(float(short))) == x:
                    return short if any(c in short for c in ".en") else short + ".0"
        except Exception:  # pragma: no cover - ml_dtypes missing or an odd value
            pass
    return _float_literal(x)


def _number_literal(v: Any, integer: bool, dtype: str | None = None) -> str:
    x = _parse_number(v)
    if x is None:
        return repr(_text(v))
    if integer and isinstance(x, float) and x.is_integer():
        return repr(int(x))
    if isinstance(x, float):
        return _short_float(x, dtype)
    return repr(x) if integer else repr(float(x)) if abs(x) < 2**53 else repr(x)


def _nested_literal(value: Any, integer: bool, dtype: str | None = None) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested_literal(v, integer, dtype) for v in value) + "]"
    return _number_literal(value, integer, dtype)


def _flat_len(value: Any) -> int:
    if isinstance(value, list):
        return sum(_flat_len(v) for v in value)
    return 1


def _all_integral(value: Any) -> bool:
    if isinstance(value, list):
        return all(_all_integral(v) for v in value)
    x = _parse_number(value)
    return x is not None and (isinstance(x, int) or (math.isfinite(x) and float(x).is_integer()))


def _py_value(v: Any) -> str:
    """A Python literal for an argument value (strings quoted, so nothing can inject code)."""
    if v is None or isinstance(v, (bool, int)):
        return repr(v)
    if isinstance(v, float):
        return _float_literal(v)
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_py_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{repr(_text(k))}: {_py_value(x)}" for k, x in v.items()) + "}"
    return repr(str(v))


def _kwargs(args: Any) -> str:
    if not isinstance(args, Mapping):
        return ""
    plain, odd = [], []
    for k, v in args.items():
        if isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) and k.isascii():
            plain.append(f"{k}={_py_value(v)}")
        else:
            odd.append(f"{repr(_text(k))}: {_py_value(v)}")
    if odd:
        plain.append("**{" + ", ".join(odd) + "}")
    return ", ".join(plain)


def _generator_expr(spec: Mapping[str, Any]) -> str | None:
    """numpy code that expands a case generator exactly as :func:`conformance.case.generate`."""
    try:
        kind = spec["generator"]
        shape = tuple(int(s) for s in spec.get("shape", ()))

        def f(key: str, default: float) -> str:
            x = _parse_number(spec.get(key, default))
            return _float_literal(float(x if x is not None else default))

        rng = "np.random.Generator(np.random.PCG64({}))".format(int(spec.get("seed", 0)))
        if kind == "full":
            return f"np.full({shape!r}, {f('value', 0.0)}, dtype=np.float64)"
        if kind == "arange":
            n = math.prod(shape) if shape else 1
            return f"({f('start', 0.0)} + {f('step', 1.0)} * np.arange({n}, dtype=np.float64)).reshape({shape!r})"
        if kind == "eye":
            return f"np.eye({int(spec['n'])}, dtype=np.float64)"
        if kind == "random_normal":
            return f"{rng}.normal({f('loc', 0.0)}, {f('scale', 1.0)}, {shape!r})"
        if kind == "random_uniform":
            return f"{rng}.uniform({f('low', 0.0)}, {f('high', 1.0)}, {shape!r})"
        if kind == "random_integers":
            return f"{rng}.integers({int(spec['low'])}, {int(spec['high'])}, {shape!r}, dtype=np.int64)"
    except (KeyError, TypeError, ValueError):
        return None
    return None


class _Snippet:
    """Builds the repro snippet of one record."""

    def __init__(self, rec: Record) -> None:
        self.rec = rec
        self.flavour, self.backend = _flavour(_text(rec.adapter))
        inputs = rec.inputs if isinstance(rec.inputs, Mapping) else {}
        self.inputs = inputs
        self.python_list = inputs.get("input_form") == "python_list"
        self.float_dtype = _text(inputs.get("input_dtype") or rec.dtype or "float32")
        self.label_dtype = inputs.get("label_dtype")
        self.sparse = _text(rec.family).startswith("sparse")
        self.needs_ml_dtypes = False

    # -- arrays
    def _dtype_expr(self, dtype: str) -> str:
        if dtype == "bfloat16":
            self.needs_ml_dtypes = True
            return "ml_dtypes.bfloat16"
        return repr(dtype)

    def array(self, name: str, value: Any, dtypes: Mapping[str, Any] | None = None) -> str:
        """A numpy expression for one input. ``dtypes`` is the mapping the input came from:
        the runner records ``y_true_dtype`` / ``y_pred_dtype`` next to the arrays."""
        dtypes = dtypes or {}
        integer = False
        dtype = _text(dtypes.get("y_pred_dtype") or self.float_dtype)
        if name == "y_true":
            label = _text(dtypes.get("y_true_dtype") or (self.label_dtype if self.sparse else "") or "")
            if label == "float":
                label = dtype
            if label:
                dtype, integer = label, label.startswith(("int", "uint"))
            elif self.sparse and _all_integral(value if not isinstance(value, Mapping) else value.get("values", value.get("data", [])) or []):
                dtype, integer = "int64", True
        if not _DTYPE_RE.match(dtype):
            dtype = "float32"
        if isinstance(value, Mapping) and "generator" in value:
            expr = _generator_expr(value)
            if expr is None:
                return f"None  # cannot expand generator {_comment(json.dumps(_jsonable(value)))}"
            return f"{expr}.astype({self._dtype_expr(dtype)})"
        shape = None
        if isinstance(value, Mapping):
            dtype = _text(value.get("dtype") or dtype)
            dtype = dtype if _DTYPE_RE.match(dtype) else "float32"
            integer = integer or dtype.startswith(("int", "uint"))
            shape = value.get("shape")
            value = value.get("values", value.get("data"))
        if shape is None:  # the runner may record the shape of an empty array as NAME_shape
            shape = dtypes.get(f"{name}_shape")
        literal = _nested_literal(value, integer, dtype)
        if self.python_list:
            return literal
        expr = f"np.array({literal}, dtype={self._dtype_expr(dtype)})"
        if isinstance(shape, list) and isinstance(value, list) and not _flat_len(value):
            expr += f".reshape({tuple(int(s) for s in shape)!r})"
        return expr

    def call_args(self, inputs: Any, lines: list[str], suffix: str = "") -> str:
        """Assign y_true / y_pred / sample_weight and return the call's argument list."""
        if not isinstance(inputs, Mapping):
            lines.append(f"# inputs not recorded as arrays: {_comment(_display(inputs))}")
            return "y_true, y_pred"
        names = []
        for key in ("y_true", "y_pred", "sample_weight"):
            if key in inputs and inputs[key] is not None:
                lines.append(f"{key}{suffix} = {self.array(key, inputs[key], inputs)}")
                names.append(key)
        call = f"y_true{suffix}, y_pred{suffix}"
        if "sample_weight" in names:
            call += f", sample_weight=sample_weight{suffix}"
        return call

    # -- whole snippet
    def build(self) -> str:
        rec = self.rec
        family = _text(rec.family)
        # Only names from the vocabulary go into code; anything else gets a placeholder,
        # so that a crafted results file cannot put code into the snippet.
        known = family in FAMILY_CLASS
        cls = FAMILY_CLASS[family] if known else "LossClass"
        fn = family if known else "loss_function"
        head = [
            f"# Repro: {_comment(rec.case)} on {_comment(rec.adapter)} ({_comment(rec.dtype)}, {_comment(rec.device)}): "
            f"{_comment(rec.verdict)} in the conformance report",
            f"# Case {_comment(rec.location) or '(location unknown)'}: {_comment(rec.title)}",
            f"# Profile {_comment(rec.profile)}; API {_comment(rec.api)}.",
        ]
        if rec.expected_error:
            head.append(f"# Expected: raises {_comment(rec.expected_error)}")
        if isinstance(rec.error, Mapping) and rec.error:
            err = rec.error
            head.append(
                f"# Seen: {_comment(err.get('category'))} {_comment(err.get('type'))}: {_comment(err.get('message'), 200)}"
            )
        elif rec.message:
            head.append(f"# Report: {_comment(rec.message, 200)}")
        imports: list[str] = []
        env: list[str] = []
        convert = "np.asarray({})"
        device_scope: str | None = None
        if not known:
            head.append(f"# Unknown family {_comment(family)}: replace {cls} / {fn} with the API under test.")
        if self.flavour == "numpy":
            imports += ["import numpy as np", "from conformance import numpy_impl"]
            lmod, mmod = "numpy_impl", "numpy_impl.metrics"
            profile = _text(rec.profile)
            if profile in PROFILES and profile != PROFILES[0]:
                # numpy_impl's names follow keras3-tensorflow; api_for binds another profile
                imports += ["", f"numpy_impl = numpy_impl.api_for({profile!r})  # the profile of {_comment(rec.adapter)}"]
        elif self.flavour == "tensorflow":
            imports += ["import numpy as np", "import tensorflow as tf"]
            lmod, mmod = "tf.keras.losses", "tf.keras.metrics"
            device_scope = f'tf.device("/{_text(rec.device).upper()}:0")' if rec.device in ("cpu", "gpu") else None
        elif self.flavour == "tf-keras":
            imports += ["import numpy as np", "import tensorflow as tf", "import tf_keras"]
            lmod, mmod = "tf_keras.losses", "tf_keras.metrics"
            device_scope = f'tf.device("/{_text(rec.device).upper()}:0")' if rec.device in ("cpu", "gpu") else None
        elif self.flavour == "keras":
            env += ["import os", "", f'os.environ["KERAS_BACKEND"] = "{self.backend}"']
            if rec.device == "cpu" and self.backend == "jax":
                env.append('os.environ["JAX_PLATFORMS"] = "cpu"')
            elif rec.device == "cpu" and self.backend in ("torch", "tensorflow"):
                env.append('os.environ["CUDA_VISIBLE_DEVICES"] = ""')
            imports += ["import numpy as np", "import keras"]
            lmod, mmod = "keras.losses", "keras.metrics"
            convert = "keras.ops.convert_to_numpy({})"
        else:
            head.append(f"# No repro template for adapter {_comment(rec.adapter)}: call it on the inputs below.")
            imports += ["import numpy as np"]
            lmod, mmod = "your_library.losses", "your_library.metrics"

        body: list[str] = []
        calls: list[str] = []
        kwargs = _kwargs(rec.args)
        api = _text(rec.api)
        steps = self.inputs.get("steps") if isinstance(self.inputs, Mapping) else None
        is_config = "config" in _tags(rec) or (
            isinstance(self.inputs, Mapping) and "y_pred" not in self.inputs and not isinstance(steps, list)
        )
        if is_config:
            owner = mmod if api in ("metric", "compile_metric") else lmod
            calls.append(f"obj = {owner}.{cls}({kwargs})")
            calls.append("config = obj.get_config()")
            calls.append("roundtrip = type(obj).from_config(config).get_config()")
            calls.append('print("round trip equal:", config == roundtrip)')
            calls.append("result = sorted(f'{k}={v!r}' for k, v in config.items())")
            result_name = "result"
        elif api in ("metric", "compile_metric") or isinstance(steps, list):
            if api == "compile_metric":
                head.append("# The suite runs this metric through model.compile + model.evaluate; this is the standalone object.")
            calls.append(f"metric = {mmod}.{cls}({kwargs})")
            calls.append("results = []")
            if isinstance(steps, list):
                for j, step in enumerate(steps, 1):
                    op, step_inputs = _step(step)
                    if op == "update_state":
                        args_text = self.call_args(step_inputs, body, suffix=f"_{j}")
                        calls.append(f"metric.update_state({args_text})")
                    elif op == "result":
                        calls.append(f"results.append({convert.format('metric.result()')})")
                    elif op in ("reset_state", "reset_states"):
                        calls.append("metric.reset_state()")
                    else:
                        calls.append(f"# unknown step {_comment(op)}")
            else:
                args_text = self.call_args(self.inputs, body)
                calls.append(f"metric.update_state({args_text})")
                calls.append(f"results.append({convert.format('metric.result()')})")
            result_name = "results"
        elif api == "loss_function":
            args_text = self.call_args(self.inputs, body)
            sep = ", " if kwargs else ""
            calls.append(f"result = {convert.format(f'{lmod}.{fn}({args_text}{sep}{kwargs})')}")
            result_name = "result"
        else:
            if api == "compile_loss":
                head.append("# The suite runs this loss through model.compile + model.evaluate; this is the standalone object.")
            args_text = self.call_args(self.inputs, body)
            calls.append(f"loss = {lmod}.{cls}({kwargs})")
            calls.append(f"result = {convert.format(f'loss({args_text})')}")
            result_name = "result"

        if self.flavour == "generic":
            calls = ["# " + c for c in calls]
            calls.append(f"{result_name} = None  # the output of your implementation")
        if device_scope:
            calls = [f"with {device_scope}:"] + ["    " + c for c in calls]

        truth = rec.truth if isinstance(rec.truth, list) else ([] if rec.truth is None else [rec.truth])
        if self.needs_ml_dtypes:
            imports.append("import ml_dtypes")
        out = head + [""] + env + imports + [""] + body + calls + [""]
        if is_config:
            recorded = rec.output if isinstance(rec.output, list) else []
            out.append(f"truth = {_py_value([_text(v) for v in recorded])}  # the config the run recorded")
        elif truth:
            out.append(f"truth = {_py_value([_exact(t) for t in truth])}  # the oracle's exact value(s)")
        elif rec.expected_error:
            out.append(f"truth = [{_py_value('raises ' + _text(rec.expected_error))}]  # the case expects an error")
        else:
            out.append("truth = ['(no truth recorded)']")
        if result_name == "results":
            out.append('print("output:", *[np.asarray(r) for r in results])')
        else:
            out.append(f'print("output:", {result_name})')
        out.append('print("truth: ", *truth)')
        return "\n".join(out) + "\n"


def repro_snippet(rec: Record) -> str | None:
    """A standalone Python snippet that calls the record's implementation on its inputs and
    prints the result next to the truth; None for verdicts that need none (pass, skip)."""
    if rec.verdict not in REPRO_VERDICTS:
        return None
    try:
        return _Snippet(rec).build()
    except Exception as exc:  # malformed inputs in a results file must not break the page
        return (f"# No repro snippet for {_comment(rec.case)} on {_comment(rec.adapter)}: the recorded "
                f"inputs could not be turned into code ({_comment(type(exc).__name__)}: {_comment(exc, 200)}).\n")


# --------------------------------------------------------------------------- environments
_ENV_ORDER = (
    "conformance", "python", "platform", "machine", "device", "devices", "gpu",
    "numpy", "mpmath", "started", "finished", "command",
)


def _env_view(env: Mapping[str, Any], index: int) -> dict[str, Any]:
    if not isinstance(env, Mapping):
        env = {"environment": env}
    keys = [k for k in _ENV_ORDER if k in env] + sorted(k for k in env if k not in _ENV_ORDER and k != "adapters")
    fields = [(k, _display(env[k])) for k in keys]
    adapters = []
    raw = env.get("adapters")
    if isinstance(raw, Mapping):
        for name, info in raw.items():
            info = info if isinstance(info, Mapping) else {"info": info}
            versions = info.get("versions")
            vtext = (
                [f"{k} {_display(v)}" for k, v in versions.items()] if isinstance(versions, Mapping)
                else ([_display(versions)] if versions else [])
            )
            other = [(k, _display(v)) for k, v in info.items() if k not in ("profile", "versions")]
            adapters.append({"name": _text(name), "profile": _display(info.get("profile", "")), "versions": vtext, "other": other})
    title = f"Run {index}"
    if adapters:
        title += " · " + ", ".join(a["name"] for a in adapters)
    when = env.get("started")
    return {"title": title, "when": _text(when) if when else "", "fields": fields, "adapters": adapters}


def _flat_environments(results: Results) -> list[Any]:
    """Every run's environment, also when a merged file was merged again."""
    out: list[Any] = []

    def walk(env: Any) -> None:
        if isinstance(env, Mapping) and isinstance(env.get("merged"), list):
            for e in env["merged"]:
                walk(e)
        else:
            out.append(env)

    for env in environments(results):
        walk(env)
    return out


# --------------------------------------------------------------------------- page
@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _static(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def render_html(results: Results, *, title: str | None = None) -> str:
    """The whole report page for ``results`` (a single run or a merge), as one string.

    The output is deterministic for given results: nothing time- or machine-dependent is
    added beyond what the results' environments hold.
    """
    records = sorted(
        results.records,
        key=lambda r: (_text(r.case), _text(r.adapter), _text(r.dtype), _text(r.device)),
    )
    envs = _flat_environments(results)
    adapter_order: list[str] = []
    for env in envs:
        if isinstance(env, Mapping) and isinstance(env.get("adapters"), Mapping):
            adapter_order += [a for a in env["adapters"] if a not in adapter_order]
    columns = _columns(records, adapter_order)
    col_index = {c: i for i, c in enumerate(columns)}
    summary = summarize(records, columns)

    # verdict totals
    totals = Counter(_text(r.verdict) for r in records)
    verdict_list = list(VERDICTS) + sorted(v for v in totals if v not in VERDICTS)
    legend = [
        {"verdict": v, "count": totals.get(v, 0), "help": VERDICT_HELP.get(v, "not a known verdict")}
        for v in verdict_list
    ]

    # matrix rows grouped by API and family
    by_case: dict[str, list[tuple[int, Record]]] = defaultdict(list)
    for i, r in enumerate(records):
        by_case[_text(r.case)].append((i, r))
    api_rank = {a: i for i, a in enumerate(APIS)}
    fam_rank = {f: i for i, f in enumerate(FAMILIES)}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    row_data: list[dict[str, Any]] = []
    case_meta = []
    for case_id, items in by_case.items():
        first = items[0][1]
        case_meta.append((case_id, first, items))
    tag_rank = {t: i for i, t in enumerate(TAGS)}
    primary = {case_id: primary_tag(first) for case_id, first, _ in case_meta}
    case_meta.sort(
        key=lambda t: (
            api_rank.get(_text(t[1].api), len(api_rank)), _text(t[1].api),
            fam_rank.get(_text(t[1].family), len(fam_rank)), _text(t[1].family),
            tag_rank.get(primary[t[0]], len(tag_rank)), primary[t[0]],
            _location_key(_text(t[1].location)), t[0],
        )
    )
    for case_id, first, items in case_meta:
        cells: list[dict[str, Any] | None] = [None] * len(columns)
        for i, r in items:
            u = as_float(r.ulp_error)
            cells[col_index[Column(_text(r.adapter), _text(r.dtype), _text(r.device))]] = {
                "i": i,
                "verdict": _text(r.verdict),
                "short": VERDICT_SHORT.get(_text(r.verdict), _text(r.verdict)),
                "ulp": format_ulp(u) if u is not None else "",
                "tip": f"{_text(r.adapter)} · {_text(r.dtype)} · {_text(r.device)}: {_text(r.verdict)}"
                + (f", {format_ulp(u)} ULP" if u is not None else ""),
            }
        tags = sorted({t for _, r in items for t in _tags(r)})
        row_index = len(row_data)
        search = " ".join([case_id, _text(first.title), _text(first.api), _text(first.family), *tags]).lower()
        row_data.append({"case": case_id, "tags": tags, "search": search})
        groups[(_text(first.api), _text(first.family))].append(
            {"row": row_index, "case": case_id, "title": _text(first.title), "tags": tags,
             "location": _text(first.location), "cells": cells, "primary": primary[case_id]}
        )
    group_list = []
    for gi, ((api, family), rows) in enumerate(groups.items()):
        # Within an API group, rows come in runs of the same primary tag: one sub-heading each.
        subgroups: list[dict[str, Any]] = []
        for row in rows:
            if not subgroups or subgroups[-1]["tag"] != row["primary"]:
                subgroups.append({"tag": row["primary"], "id": f"{gi}-{len(subgroups)}", "rows": [],
                                  "help": TAGS.get(row["primary"], "")})
            row["sub"] = subgroups[-1]["id"]
            subgroups[-1]["rows"].append(row)
        group_list.append(
            {
                "api": api, "family": family,
                "label": f"{api} · {FAMILY_SHORT.get(family, family)}",
                "class_name": FAMILY_CLASS.get(family, family),
                "rows": rows,
                "subgroups": subgroups,
            }
        )

    # Zimmermann-style accuracy table: largest ULP error per API × family × column
    acc_rows = []
    for g in group_list:
        cells_acc = []
        for ci, _ in enumerate(columns):
            vals = [
                u for row in g["rows"] if row["cells"][ci] is not None
                for u in [as_float(records[row["cells"][ci]["i"]].ulp_error)] if u is not None
            ]
            m = _max_ulp(vals)
            cells_acc.append({"text": format_ulp(m), "band": _ulp_band(m), "n": len(vals)})
        acc_rows.append({"label": g["label"], "cells": cells_acc})

    # adapter header spans
    spans: list[dict[str, Any]] = []
    for i, c in enumerate(columns):
        if spans and spans[-1]["adapter"] == c.adapter:
            spans[-1]["cols"].append(i)
        else:
            spans.append({"adapter": c.adapter, "cols": [i]})
    profiles_by_adapter: dict[str, set[str]] = defaultdict(set)
    for r in records:
        profiles_by_adapter[_text(r.adapter)].add(_text(r.profile))
    for s in spans:
        s["profile"] = ", ".join(sorted(profiles_by_adapter[s["adapter"]]))

    histograms = [
        {
            "row": row,
            "svg": histogram_svg(row.histogram, f"ULP errors of {row.column.label}"),
        }
        for row in summary
    ]

    payload = {
        "columns": [{"adapter": c.adapter, "dtype": c.dtype, "device": c.device} for c in columns],
        "rows": row_data,
        "cells": [_cell_payload(r) for r in records],
        "verdicts": verdict_list,
    }
    script = _static("report.js")
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    all_tags = sorted({t for r in records for t in _tags(r)})
    cases_n = len(by_case)
    page = _environment().get_template("report.html.j2").render(
        title=title or "Crossentropy conformance report",
        css=Markup(_static("report.css")),
        script=Markup(script),
        script_hash=script_hash,
        data_json=json_for_script(payload),
        stats={
            "cases": cases_n, "cells": len(records), "implementations": len({c.adapter for c in columns}),
            "columns": len(columns), "runs": len(envs),
        },
        legend=legend,
        summary=summary,
        verdicts=verdict_list,
        columns=columns,
        spans=spans,
        groups=group_list,
        acc_rows=acc_rows,
        histograms=histograms,
        envs=[_env_view(e, i + 1) for i, e in enumerate(envs)],
        filters={
            "tags": all_tags,
            "dtypes": _ordered((c.dtype for c in columns), DTYPES),
            "adapters": [s["adapter"] for s in spans],
            "devices": _ordered((c.device for c in columns), DEVICES),
        },
        bucket_labels=BUCKET_LABELS,
        version=_version(),
    )
    return page


def _version() -> str:
    try:
        from conformance import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "?"


def write_html(results: Results, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Render and write the report atomically: the file is complete or not there at all."""
    return write_text_atomic(path, render_html(results, title=title))
