"""Compare an implementation's outcome with the truth: errors three ways, one verdict.

Errors are measured as absolute error, relative error, and ULPs of the output dtype at
the truth. A value passes when it is within ``ulp`` ULPs *or* within ``abs`` of the
truth: the absolute floor is there because a crossentropy is a difference of O(1)
terms (log-sum-exp minus a logit), so near zero its rounding error is a fraction of the
dtype's epsilon, not of the tiny result's ULP. Per-case overrides carry a reason.

NaN and infinity rules: a NaN truth is matched only by NaN (any payload), an infinite
truth only by the same infinity, and a finite truth never by a non-finite output.

The documented value (what a doc page printed) is checked separately at its printed
precision: ``|output - printed| <= half a unit in the last printed digit`` plus the
dtype tolerance, because documentation prints a real implementation's rounded output.
A page that cut the digits instead (provenance ``printing: truncated``) must hold a
value in ``[printed, printed + one unit)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

import mpmath
import numpy as np

from conformance.case import Case
from conformance.oracle import Truth, ulp

#: Default bounds per dtype. Measured, not guessed: TensorFlow 2.21 on CPU passes every
#: case of its own profile within these (see docs/tolerances.md and `make tolerances`),
#: while a float64 API that computes in float32 fails them by orders of magnitude.
DEFAULT_TOLERANCES: dict[str, dict[str, float]] = {
    "bfloat16": {"ulp": 4.0, "abs": 2.0**-8},
    "float16": {"ulp": 4.0, "abs": 2.0**-11},
    "float32": {"ulp": 16.0, "abs": 2.0**-24},
    "float64": {"ulp": 16.0, "abs": 2.0**-53},
}


@dataclass(frozen=True)
class Tolerance:
    """Bounds for one cell and where they come from."""

    ulp: float
    abs: float
    source: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {"ulp": self.ulp, "abs": self.abs, "source": self.source}


def tolerance_for(case: Case, dtype: str) -> Tolerance:
    """The dtype default, or the case's override for ``dtype`` (with its reason)."""
    base = DEFAULT_TOLERANCES[dtype]
    if case.tolerance and dtype in case.tolerance.bounds:
        override = case.tolerance.bounds[dtype]
        return Tolerance(
            ulp=float(override.get("ulp", base["ulp"])),
            abs=float(override.get("abs", base["abs"])),
            source=f"case: {case.tolerance.reason}",
        )
    return Tolerance(ulp=base["ulp"], abs=base["abs"])


@dataclass
class Comparison:
    """The verdict for one cell and the evidence for it."""

    verdict: str
    message: str = ""
    abs_error: float | None = None
    rel_error: float | None = None
    ulp_error: float | None = None
    output: list[str] | None = None
    output_dtype: str | None = None
    shape: list[int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def format_value(x: Any) -> str:
    """An output element as its shortest round-trip decimal (``nan``/``inf`` spelled out)."""
    f = float(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    # str() of a numpy scalar is the shortest decimal that round-trips in its own dtype.
    return str(np.asarray(x)[()])


def _elem_errors(out: float, t: Any, dtype: str) -> tuple[float, float, float, str | None]:
    """(abs, rel, ulp) of one element, or a reason when the non-finite rules fail it."""
    t_nan, t_inf = bool(mpmath.isnan(t)), bool(mpmath.isinf(t))
    if math.isnan(out) or math.isinf(out) or t_nan or t_inf:
        if t_nan and math.isnan(out):
            return 0.0, 0.0, 0.0, None
        if t_inf and math.isinf(out) and (out > 0) == (t > 0):
            return 0.0, 0.0, 0.0, None
        return math.inf, math.inf, math.inf, f"expected {'nan' if t_nan else ('inf' if t > 0 else '-inf') if t_inf else 'a finite value'}, got {out!r}"
    diff = abs(mpmath.mpf(out) - t)
    abs_err = float(diff)
    rel_err = 0.0 if diff == 0 else (math.inf if t == 0 else float(diff / abs(t)))
    ulp_err = float(diff / ulp(t, dtype))
    return abs_err, rel_err, ulp_err, None


def compare_values(truth: Truth, output: np.ndarray, tol: Tolerance) -> Comparison:
    """Compare a numeric output with a ``value`` truth."""
    out = np.asarray(output)
    shown = [format_value(v) for v in out.ravel()]
    base = dict(output=shown, output_dtype=str(out.dtype), shape=list(out.shape))
    if out.dtype.kind not in "fiu" and str(out.dtype) != "bfloat16":
        return Comparison("fail", f"output is not numeric (dtype {out.dtype})", **base)
    if tuple(out.shape) != truth.shape:
        return Comparison("fail", f"output shape {tuple(out.shape)} differs from the expected {truth.shape}", **base)
    worst = (0.0, 0.0, 0.0)
    failures: list[str] = []
    flat = out.astype(np.float64).ravel() if out.size else np.zeros(0)
    for i, (o, t) in enumerate(zip(flat, truth.values)):
        a, r, u, why = _elem_errors(float(o), t, truth.dtype)
        worst = (max(worst[0], a), max(worst[1], r), max(worst[2], u))
        where = f"[{i}] " if len(truth.values) > 1 else ""
        if why:
            failures.append(f"{where}{why}")
        elif not (u <= tol.ulp or a <= tol.abs):
            failures.append(f"{where}{u:.3g} ULP (abs {a:.3g}) exceeds {tol.ulp:g} ULP / abs {tol.abs:.3g}")
    notes = []
    if str(out.dtype) != truth.dtype:
        notes.append(f"output dtype {out.dtype}, expected {truth.dtype}")
    verdict = "fail" if failures else "pass"
    message = "; ".join(failures[:5] + (["..."] if len(failures) > 5 else []) + notes)
    return Comparison(verdict, message, abs_error=worst[0], rel_error=worst[1], ulp_error=worst[2], **base)


def judge(truth: Truth, tol: Tolerance, output: Any = None, error: Mapping[str, Any] | None = None) -> Comparison:
    """The verdict for a cell from the truth and what the implementation did: returned
    ``output``, or raised ``error`` (a portable error dict with category/type/message)."""
    if truth.kind == "undefined":
        return Comparison("skip", f"implementation-defined: {truth.reason}")
    if truth.kind == "error":
        if error is not None:
            if error.get("category") == truth.error:
                return Comparison("pass", f"raised {truth.error} as expected")
            return Comparison("error", f"expected {truth.error}, got {error.get('category')}: {error.get('type')}: {error.get('message')}")
        shown = [format_value(v) for v in np.asarray(output).ravel()] if output is not None else None
        return Comparison("fail", f"expected a {truth.error} error ({truth.reason}); the implementation returned a value", output=shown)
    if error is not None:
        return Comparison("error", f"{error.get('category')}: {error.get('type')}: {error.get('message')}")
    return compare_values(truth, np.asarray(output), tol)


def _half_unit(printed: str) -> Decimal:
    d = Decimal(printed)
    return Decimal(1).scaleb(d.as_tuple().exponent) / 2  # type: ignore[arg-type]


def check_documented(case: Case, dtype: str, output: list[str] | None, truth: Truth | None, tol: Tolerance) -> dict[str, Any] | None:
    """Check the printed value(s) of a documented case against an output.

    Returns None for a case without printed values; otherwise a dict for the record:
    the provenance, ``check`` (``pass``/``fail``/``not-run``/``other-dtype``) and the
    largest difference found.
    """
    prov = case.provenance
    if prov is None:
        return None
    info: dict[str, Any] = {"seed": prov.seed, "section": prov.section, "dtype": prov.dtype}
    if prov.api_as_written:
        info["as_written"] = prov.api_as_written
    if prov.printing != "rounded":
        info["printing"] = prov.printing
    printed = prov.printed_values()
    if not printed:
        info["check"] = "no-value"
        return info
    info.update(printed=printed, digits=prov.printed_digits())
    if dtype != prov.dtype:
        info["check"] = "other-dtype"
        return info
    if output is None or len(output) != len(printed):
        info["check"] = "not-run"
        return info
    worst = Decimal(0)
    ok = True
    for shown, text in zip(output, printed):
        try:
            value = Decimal(shown)
        except ArithmeticError:
            ok = False
            continue
        if not value.is_finite():
            ok = False
            continue
        slack = Decimal(max(tol.ulp * float(ulp(mpmath.mpf(shown), dtype)), tol.abs))
        if prov.printing == "truncated":
            # The page cut the digits: the value lies in [printed, printed + 1 unit) away from zero.
            unit = 2 * _half_unit(text)
            excess = abs(value) - abs(Decimal(text))
            diff = max(-excess, excess - unit, Decimal(0)) if value * Decimal(text) >= 0 else abs(value - Decimal(text))
            allowed = slack
        else:
            diff = abs(value - Decimal(text))
            allowed = _half_unit(text) + slack
        worst = max(worst, diff)
        ok = ok and diff <= allowed
    info["check"] = "pass" if ok else "fail"
    info["max_diff"] = float(worst)
    return info
