"""The runner: cases × adapters × dtypes × devices → one :class:`Record` per cell.

This is the middle of the one-directional flow. It asks the oracle for the truth of
each (case, dtype, profile, device), asks an adapter for its outcome on the very same
materialized inputs, lets :mod:`conformance.compare` decide the verdict, and collects
records. It never prints results (reporters do) and never gates (the gate does).

A cell's verdict is one of ``pass``, ``fail`` (a wrong number, or no error where one
was required), ``error`` (an exception that was not expected, or the wrong category),
``crash`` (the worker process died or timed out) and ``skip`` (the adapter cannot
express the case, or the behaviour is implementation-defined under the profile).
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from conformance.adapters.base import Adapter, Crash, PortableError, as_output_array
from conformance.case import Case, Inputs, Step, case_args
from conformance.compare import Comparison, check_documented, judge, tolerance_for
from conformance.oracle import Truth, truth as oracle_truth
from conformance.profiles import get_profile
from conformance.results import Record, Results, base_environment

#: Significant digits of the truth written into each record.
TRUTH_DIGITS = 40

TruthFn = Callable[[Case, str, str, str], Truth]


@dataclass(frozen=True)
class Cell:
    """One unit of work: a case, run by an adapter, in a dtype, on a device."""

    case: Case
    adapter: Adapter
    dtype: str
    device: str


@dataclass
class RunOptions:
    """What to run. ``dtypes``/``devices`` of None mean "each case's own dtypes" and
    "each adapter's first device"; ``profile`` overrides the profile the adapter claims."""

    dtypes: Sequence[str] | None = None
    devices: Sequence[str] | None = None
    profile: str | None = None


def plan(cases: Sequence[Case], adapters: Sequence[Adapter], options: RunOptions) -> list[Cell]:
    """Every cell of the run, in a stable order (adapter, case file order, dtype, device).

    A case is only run in the dtypes it lists: ``--dtype float16`` does not invent
    half-precision variants of cases written for float32 and float64.
    """
    cells: list[Cell] = []
    for adapter in adapters:
        devices = list(options.devices) if options.devices else [adapter.devices[0]]
        for case in cases:
            dtypes = [d for d in case.dtypes if options.dtypes is None or d in options.dtypes]
            for dtype in dtypes:
                for device in devices:
                    cells.append(Cell(case, adapter, dtype, device))
    return cells


class TruthCache:
    """Truths are pure functions of (case, dtype, profile, device): compute each once,
    even when several adapters share a profile. ``source`` may be a reference store that
    answers from committed data before falling back to the oracle."""

    def __init__(self, source: TruthFn | None = None) -> None:
        self._source: TruthFn = source or oracle_truth
        self._cache: dict[tuple[int, str, str, str], Truth] = {}

    def __call__(self, case: Case, dtype: str, profile: str, device: str) -> Truth:
        key = (id(case), dtype, profile, device)
        if key not in self._cache:
            self._cache[key] = self._source(case, dtype, profile, device)
        return self._cache[key]


# --------------------------------------------------------------------------- one cell
def _inputs_dict(case: Case, dtype: str) -> dict[str, Any]:
    """The materialized inputs as JSON-able data, exact: floats as shortest round-trip
    decimals of their dtype (they convert back to the very same binary value). Inputs
    the case writes as a generator (50 000 classes, say) are recorded as that generator
    spec, which regenerates them, rather than as megabytes of numbers in every record."""

    def arr(a: np.ndarray | None, raw: Any) -> Any:
        if a is None:
            return None
        if isinstance(raw, Mapping) and "generator" in raw:
            return {**raw, "dtype": str(a.dtype)}
        if a.dtype.kind in "iu":
            return a.tolist()
        return np.vectorize(lambda v: str(v), otypes=[object])(a).tolist() if a.size else []

    def inputs(x: Inputs, raw: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("y_true", "y_pred", "sample_weight"):
            a = getattr(x, name)
            out[name] = arr(a, raw.get(name))
            if a is not None:
                out[f"{name}_shape"] = list(a.shape)
        out["y_true_dtype"], out["y_pred_dtype"] = str(x.y_true.dtype), str(x.y_pred.dtype)
        return out

    m = case.materialize(dtype)
    form = {"input_form": case.input_form}
    if isinstance(m, Inputs):
        assert case.inputs is not None
        return {**inputs(m, case.inputs), **form}
    raw_steps = [s["update_state"] for s in (case.steps or ()) if isinstance(s, Mapping)]
    steps: list[Any] = []
    updates = iter(raw_steps)
    for step in m:
        assert isinstance(step, Step)
        steps.append({"update_state": inputs(step.inputs, next(updates))} if step.inputs is not None else step.op)
    return {"steps": steps, **form}


def _check_config(case: Case, profile: str, output: Any) -> Comparison:
    """Verdict of a ``check: config`` case: the round trip reproduces the config, the
    case's arguments are in it, and (when the case lists them) the keys are exactly
    the expected ones for the profile."""
    if not isinstance(output, Mapping) or "config" not in output or "roundtrip" not in output:
        return Comparison("fail", "a config case must return {'config': ..., 'roundtrip': ...}")
    config, roundtrip = output["config"], output["roundtrip"]
    problems: list[str] = []
    if config != roundtrip:
        changed = sorted(k for k in set(config) | set(roundtrip) if config.get(k) != roundtrip.get(k))
        problems.append(f"from_config(get_config()) changes {', '.join(changed)}")
    for key, value in case.args.items():
        if key in config and config[key] != value and not (value is None and config[key] in (None, "none")):
            problems.append(f"config[{key!r}] is {config[key]!r}, constructed with {value!r}")
    lookup = getattr(case, "expected_config_keys", None)
    if lookup is not None:
        wanted = lookup(profile)
        if wanted is not None:
            missing = sorted(set(wanted) - set(config))
            extra = sorted(set(config) - set(wanted))
            if missing:
                problems.append(f"missing config keys {missing}")
            if extra:
                problems.append(f"unexpected config keys {extra}")
    shown = [f"{k}={config[k]!r}" for k in sorted(config)]
    if problems:
        return Comparison("fail", "; ".join(problems), output=shown)
    return Comparison("pass", "config round trip holds", output=shown)


def _adapter_bug(exc: BaseException) -> dict[str, Any]:
    """An exception that is neither a PortableError nor a Crash: a bug in the adapter
    itself. It is reported as an ``other`` error with where it happened."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
    return {
        "category": "other",
        "type": type(exc).__name__,
        "message": f"the adapter itself raised{where}: {exc}",
    }


def run_cell(cell: Cell, truths: TruthFn, profile: str | None = None) -> Record:
    """Evaluate one cell. Never raises for anything the implementation or the adapter
    does; only KeyboardInterrupt escapes."""
    case, adapter, dtype, device = cell.case, cell.adapter, cell.dtype, cell.device
    prof = profile or adapter.profile
    rec = Record(
        case=case.id, family=case.family, api=case.api, title=case.title, tags=list(case.tags),
        adapter=adapter.name, profile=prof, dtype=dtype, device=device, verdict="skip",
        location=case.location, args=dict(case_args(case)),
    )
    try:
        rec.inputs = _inputs_dict(case, dtype) if (case.inputs is not None or case.steps is not None) else None
    except ValueError as exc:  # a bad literal for this dtype; validate catches most
        rec.verdict, rec.message = "error", f"cannot materialize the inputs in {dtype}: {exc}"
        return rec

    reason = adapter.skip_reason(case, dtype, device)
    if reason:
        rec.message = reason
        return rec

    t = truths(case, dtype, prof, device)
    tol = tolerance_for(case, dtype)
    rec.tolerance = tol.to_dict()
    if t.kind == "value":
        rec.truth = t.decimal(TRUTH_DIGITS)
        rec.truth_rounded = [str(v) for v in t.rounded().ravel()]
    elif t.kind == "error":
        rec.expected_error = t.error
    if t.kind == "undefined" and case.check != "config":
        rec.message = f"implementation-defined under {prof}: {t.reason}"
        return rec

    output: Any = None
    error: dict[str, Any] | None = None
    try:
        output = adapter.run(case, dtype, device)
    except PortableError as exc:
        error = exc.to_dict()
    except Crash as exc:
        rec.verdict, rec.message = "crash", exc.cause
        return rec
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - a third-party adapter's bug is a result too
        error = _adapter_bug(exc)
    rec.error = error

    if case.check == "config":
        cmp = _check_config(case, prof, output) if error is None else Comparison(
            "error", f"{error['category']}: {error.get('type')}: {error.get('message')}")
    else:
        try:
            arr = None if error is not None else as_output_array(output)
        except (TypeError, ValueError) as exc:
            arr, cmp = None, Comparison("fail", f"the adapter returned something that is not an array: {exc}")
        else:
            cmp = judge(t, tol, arr, error)
    rec.verdict, rec.message = cmp.verdict, cmp.message
    if (error is not None and error.get("category") == "invalid_input_type" and case.input_form == "python_list"
            and not get_profile(prof).accepts_python_lists):
        # The documented value stands; the documented *snippet* does not run here. That is
        # a finding about the docs or the implementation, reported as such, never hidden.
        rec.message = (f"finding: the documented snippet passes plain Python lists, which {prof} rejects; "
                       + rec.message)
    rec.output, rec.output_dtype, rec.shape = cmp.output, cmp.output_dtype, cmp.shape
    rec.abs_error, rec.rel_error, rec.ulp_error = (_finite_or_none(cmp.abs_error), _finite_or_none(cmp.rel_error),
                                                   _finite_or_none(cmp.ulp_error))
    if case.check != "config":
        rec.documented = check_documented(case, dtype, cmp.output if error is None else None, t, tol)
    return rec


def _finite_or_none(x: float | None) -> float | None:
    """JSON has no infinity: an infinite error (a NaN where a number was due) is None,
    and the message says what happened."""
    return None if x is None or not math.isfinite(x) else x


# --------------------------------------------------------------------------- a whole run
class Progress:
    """Progress on stderr: a tqdm bar on a terminal; on a pipe (CI logs) one line every
    ``interval`` seconds, so long runs show they are alive without flooding the log."""

    def __init__(self, total: int, *, enabled: bool = True, interval: float = 20.0) -> None:
        self.total, self.done, self.interval = total, 0, interval
        self._bar: Any = None
        self._last = time.monotonic()
        self._enabled = enabled and total > 0
        if self._enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="cell", file=sys.stderr, leave=False, dynamic_ncols=True)
            except ImportError:  # tqdm is a core dependency; degrade rather than fail
                self._bar = None

    def update(self, label: str) -> None:
        self.done += 1
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.set_description_str(label[:40], refresh=False)
            self._bar.update(1)
        elif time.monotonic() - self._last >= self.interval:
            self._last = time.monotonic()
            print(f"  ... {self.done}/{self.total} cells ({100 * self.done // self.total}%), at {label}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def iter_records(cells: Sequence[Cell], truths: TruthFn, options: RunOptions,
                 progress: Progress | None = None) -> Iterator[Record]:
    """Evaluate ``cells`` one by one, yielding each record as soon as it is known."""
    for cell in cells:
        rec = run_cell(cell, truths, options.profile)
        if progress is not None:
            progress.update(f"{cell.adapter.name} {cell.case.id}")
        yield rec


def run(cases: Sequence[Case], adapters: Sequence[Adapter], options: RunOptions | None = None, *,
        truths: TruthFn | None = None, show_progress: bool = True) -> Results:
    """Run every cell and return the results.

    On Ctrl-C the records completed so far are returned, with
    ``environment["interrupted"] = True``, so that the caller can still write them.
    """
    options = options or RunOptions()
    truths = truths or TruthCache()
    env = base_environment()
    for adapter in adapters:
        try:
            versions = adapter.versions()
        except Exception as exc:  # noqa: BLE001 - third-party code; a report still needs writing
            versions = {"error": f"versions() raised {type(exc).__name__}: {exc}"}
        env["adapters"][adapter.name] = {"profile": options.profile or adapter.profile, "versions": versions,
                                         "description": adapter.description}
    cells = plan(cases, adapters, options)
    progress = Progress(len(cells), enabled=show_progress)
    records: list[Record] = []
    try:
        for rec in iter_records(cells, truths, options, progress):
            records.append(rec)
    except KeyboardInterrupt:
        env["interrupted"] = True
        env["interrupted_after"] = f"{len(records)} of {len(cells)} cells"
    finally:
        progress.close()
    env["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return Results(environment=env, records=records)


def summarize_verdicts(records: Iterable[Record]) -> dict[str, int]:
    """Count of each verdict."""
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec.verdict] = counts.get(rec.verdict, 0) + 1
    return counts
