"""The terminal report: a summary table per adapter, API and dtype, then the details of
every cell that did not pass, then any documented value the run could not reproduce.

Plain text that reads well in a CI log; colour only on a terminal (and never when
``NO_COLOR`` is set, per no-color.org).
"""

from __future__ import annotations

import os
import statistics
import sys
from collections import defaultdict
from typing import Iterable, Sequence, TextIO

from conformance.results import Record, Results

_COLUMNS = ("pass", "fail", "error", "crash", "skip", "xfail", "xpass")
_BAD = ("fail", "error", "crash", "xpass")
_COLOURS = {"pass": "32", "fail": "31", "error": "31", "crash": "35", "skip": "33", "xfail": "36", "xpass": "33"}
#: Details printed per verdict before "... and N more".
MAX_DETAILS = 40


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _paint(text: str, verdict: str, colour: bool) -> str:
    return f"\033[{_COLOURS[verdict]}m{text}\033[0m" if colour and verdict in _COLOURS else text


def format_ulp(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if x < 10:
        return f"{x:.2f}"
    return f"{x:.3g}"


def on_absolute_floor(rec: Record) -> bool:
    """A passing cell whose ULP error is above its bound: it passed on the absolute floor."""
    return (rec.verdict == "pass" and rec.ulp_error is not None and bool(rec.tolerance)
            and rec.ulp_error > rec.tolerance.get("ulp", float("inf")))  # type: ignore[union-attr]


def summary_rows(records: Sequence[Record]) -> list[dict[str, object]]:
    """One row per (adapter, device, API, dtype): verdict counts, max and median ULP."""
    groups: dict[tuple[str, str, str, str], list[Record]] = defaultdict(list)
    for rec in records:
        groups[(rec.adapter, rec.device, rec.api, rec.dtype)].append(rec)
    rows = []
    for (adapter, device, api, dtype), recs in sorted(groups.items()):
        floor = [r for r in recs if on_absolute_floor(r)]
        ulps = [r.ulp_error for r in recs if r.ulp_error is not None and r.verdict != "skip" and r not in floor]
        row: dict[str, object] = {"adapter": adapter, "device": device, "api": api, "dtype": dtype}
        for v in _COLUMNS:
            row[v] = sum(1 for r in recs if r.verdict == v)
        row["floor"] = len(floor)
        row["max_ulp"] = max(ulps) if ulps else None
        row["median_ulp"] = statistics.median(ulps) if ulps else None
        rows.append(row)
    return rows


def _table(rows: list[dict[str, object]], colour: bool) -> list[str]:
    shown = [c for c in _COLUMNS if any(r[c] for r in rows) or c in ("pass", "fail", "error")]
    floor = any(r["floor"] for r in rows)
    head = ["adapter", "device", "api", "dtype", *shown, "max ULP", "median ULP", *(["abs floor"] if floor else [])]
    body = [[str(r["adapter"]), str(r["device"]), str(r["api"]), str(r["dtype"]), *[str(r[c]) for c in shown],
             format_ulp(r["max_ulp"]), format_ulp(r["median_ulp"]),  # type: ignore[arg-type]
             *([str(r["floor"])] if floor else [])] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i < 4 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        cells = []
        for i, (text, w) in enumerate(zip(b, widths)):
            cell = text.ljust(w) if i < 4 else text.rjust(w)
            if 4 <= i < 4 + len(shown) and text != "0":
                cell = _paint(cell, shown[i - 4], colour)
            cells.append(cell)
        lines.append("  ".join(cells))
    return lines


def _detail(rec: Record) -> list[str]:
    lines = [f"{rec.verdict.upper()} {rec.case} [{rec.adapter} {rec.dtype} {rec.device}] ({rec.location})",
             f"    {rec.title}"]
    if rec.message:
        for part in rec.message.splitlines()[:6]:
            lines.append(f"    {part}")
    if rec.truth and rec.output and rec.verdict in ("fail",):
        n = min(len(rec.truth), len(rec.output), 4)
        for i in range(n):
            lines.append(f"    [{i}] output {rec.output[i]}  truth {rec.truth[i][:24]}")
    if rec.baseline_reason:
        lines.append(f"    baseline: {rec.baseline_reason.splitlines()[0]}")
    return lines


def documented_mismatches(records: Iterable[Record]) -> list[Record]:
    """Records whose output did not reproduce the value a seed document printed."""
    return [r for r in records if r.documented and r.documented.get("check") == "fail"]


def render(results: Results, *, colour: bool = False, verbose: bool = False) -> str:
    """The whole terminal report as text."""
    recs = sorted(results.records, key=lambda r: (r.adapter, r.device, r.case, r.dtype))
    lines: list[str] = []
    if not recs:
        return "no cells were run (check --case / --api / --dtype filters)\n"
    lines += _table(summary_rows(recs), colour)

    bad = [r for r in recs if r.verdict in _BAD]
    if bad:
        lines += ["", f"{len(bad)} cell(s) need attention:"]
        for rec in bad[:MAX_DETAILS]:
            lines += _detail(rec)
        if len(bad) > MAX_DETAILS:
            lines.append(f"... and {len(bad) - MAX_DETAILS} more (see the JSON or HTML report)")
    if verbose:
        skipped = [r for r in recs if r.verdict == "skip"]
        if skipped:
            lines += ["", f"{len(skipped)} skipped cell(s):"]
            lines += [f"  SKIP {r.case} [{r.adapter} {r.dtype} {r.device}]: {r.message}" for r in skipped]
        xfails = [r for r in recs if r.verdict == "xfail"]
        if xfails:
            lines += ["", f"{len(xfails)} expected failure(s):"]
            lines += [f"  XFAIL {r.case} [{r.adapter} {r.dtype} {r.device}]: {r.baseline_reason}" for r in xfails]

    mism = documented_mismatches(recs)
    if mism:
        lines += ["", "documented values not reproduced:"]
        for r in mism:
            doc = r.documented or {}
            lines.append(f"  {r.case} [{r.adapter} {r.dtype}]: printed {doc.get('printed')} in "
                         f"{doc.get('seed')} ({doc.get('section')}), got {r.output}")

    counts: dict[str, int] = defaultdict(int)
    for r in recs:
        counts[r.verdict] += 1
    total = ", ".join(_paint(f"{counts[v]} {v}", v, colour) for v in _COLUMNS if counts[v])
    passing = [r for r in recs if r.ulp_error is not None and r.verdict == "pass"]
    floor = [r for r in passing if on_absolute_floor(r)]
    ulps = [r.ulp_error for r in passing if r not in floor]
    worst = f"; max ULP error of passing cells {format_ulp(max(ulps))}" if ulps else ""
    if floor:
        # A tiny result (a near-perfect prediction) is judged by its absolute error: its
        # ULP error says more about the result's size than about the implementation.
        worst += f" ({len(floor)} more pass on the absolute floor, see docs/tolerances.md)"
    lines += ["", f"{len(recs)} cells: {total}{worst}"]
    if results.environment.get("interrupted"):
        lines.append(f"interrupted after {results.environment.get('interrupted_after')}: the results are partial")
    return "\n".join(lines) + "\n"


def print_report(results: Results, stream: TextIO | None = None, *, verbose: bool = False) -> None:
    stream = stream or sys.stdout
    stream.write(render(results, colour=use_colour(stream), verbose=verbose))
