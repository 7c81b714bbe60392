"""Regression gating: compare a run against a committed baseline of accepted failures.

A team that depends on an implementation wants CI to fail only on *unexpected* results: a
new failure, a fixed bug (strict mode), an error that grew. Divergences already accepted
live in a **baseline**, reviewed like code, each with a reason (glibc's rule that every
``xfail`` flag names a bug; array-api-tests' xfails file with a comment per id).

The baseline file
-----------------
A baseline is an ordinary results JSON (:mod:`conformance.results`, ``schema_version`` 1)
whose ``fail``/``error``/``crash`` records are the accepted failures. Every record that is
not ``pass`` must carry ``baseline_reason``, a non-empty string (a bug link, an issue number,
"TF computes in float32, see keras-semantics.md §3"). ``pass`` and ``skip`` records may be
present but set no expectation; :func:`update_baseline` writes only the failing ones, so a
baseline's diff shows exactly what was accepted or fixed. Records are compacted
(:func:`compact_record`): ``inputs`` is dropped (regenerable from ``cases/``), and
``output``/``truth``/``truth_rounded`` are kept only when they hold at most
:data:`MAX_BASELINE_VALUES` values (a per-element loss of a large batch would swamp the
review; the run's own results file and ``reference/`` keep them). The environment block is
kept, minus its timestamps, so the baseline says which versions it was recorded on without
churning on every update.

How a cell is gated (:func:`apply_baseline`)
--------------------------------------------
Cells are matched on :attr:`Record.key` = (case, adapter, dtype, device).

============================  =======================  ==================================
run                           baseline                 gated verdict
============================  =======================  ==================================
fail / error / crash          same verdict             ``xfail``
fail                          fail, ULP error more     ``fail`` (new: "error grew from X
                              than 2x smaller            to Y ULP")
error                         error, other category    ``error`` (new: category changed)
fail / error / crash          another failing verdict  unchanged (new: "expected fail,
                                                         got crash")
pass                          fail / error / crash     ``xpass`` (a failure with --strict)
skip                          fail / error / crash     ``skip``; entry reported as stale
(absent)                      fail / error / crash     entry reported as stale (warning)
anything                      (absent, pass or skip)   unchanged
============================  =======================  ==================================

The verdict must match exactly, as in WPT expectations and test262 runners' Pass/Fail/
Crash/Timeout expectations: a wrong number that turns into an exception or a segfault is a
change the user must see, not the same accepted divergence.

Representation of a gated record
--------------------------------
Only the verdict, ``message`` and ``baseline_reason`` change; nothing else is lost:

``verdict``
    ``xfail`` / ``xpass`` as above; a new failure keeps its own verdict.
``original_verdict``
    (optional :class:`~conformance.results.Record` field) the verdict the run produced,
    set on every ``xfail``/``xpass`` record. The gate sets it with :func:`setattr` and reads
    it with :func:`getattr`, so it also works while ``Record`` has no such field; in that
    case the message (below) keeps it recoverable, see :func:`original_verdict`.
``baseline_reason``
    the reason of the baseline entry the cell was compared with (xfail, xpass, and new
    failures found against an entry: "error grew", "category changed").
``message``
    one gate line first, then a newline and the run's original message (if any)::

        [baseline] expected fail, got fail: <reason>          (xfail)
        [baseline] expected fail, got pass: <reason>          (xpass)
        [baseline] new failure: error grew from 3 to 41 ULP (more than 2x); baseline: <reason>
        [baseline] new failure: expected error (invalid_label), got error (other); baseline: <reason>
        [baseline] new failure: expected fail, got crash; baseline: <reason>

    The gate line is one line (newlines in a reason become spaces there; the full reason
    is in ``baseline_reason``), so :func:`ungate_record` can restore the original message.

Cells of the baseline the run did not evaluate are recorded in the results'
``environment["gate"]["stale"]`` (see :func:`stale_entries`) with the baseline path, so a
gated results file written to disk still explains itself.
"""

from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from conformance.results import Record, Results

#: Verdicts that a baseline can accept, and that make a gate trip when unexpected.
FAILING = ("fail", "error", "crash")

#: A failing cell whose ULP error grew by more than this factor over the baseline's is a
#: new failure: an accepted "3 ULP too far" must not hide a later "3000 ULP".
ULP_GROWTH_FACTOR = 2.0

#: Value lists longer than this are left out of baseline records (see the module docstring).
MAX_BASELINE_VALUES = 16

#: Record fields a baseline never keeps: bulky, and regenerable from ``cases/``.
BASELINE_DROPPED_FIELDS = ("inputs",)

#: Record fields dropped from a baseline record when they hold more than
#: :data:`MAX_BASELINE_VALUES` values.
BASELINE_CAPPED_FIELDS = ("output", "truth", "truth_rounded")

#: Environment keys left out of a baseline: they change on every run and churn the diff.
BASELINE_DROPPED_ENV = ("started", "finished", "command")

#: First characters of the gate's line in a gated record's message.
GATE_PREFIX = "[baseline] "

_FIX_REASON = "add a baseline_reason, or pass --reason to --update-baseline"
_GOT_RE = re.compile(r"^\[baseline\] expected \w+, got (\w+)")
_MAX_LISTED = 20

Key = tuple[str, str, str, str]


@dataclass
class Baseline:
    """A validated baseline: its records by cell, and the file it came from (if any)."""

    results: Results
    path: Path | None = None
    records: dict[Key, Record] = field(init=False)

    def __post_init__(self) -> None:
        self.records = {r.key: r for r in self.results.records}

    @property
    def failing(self) -> dict[Key, Record]:
        """The entries that set an expectation: accepted fail/error/crash cells."""
        return {k: r for k, r in self.records.items() if r.verdict in FAILING}

    def describe(self) -> str:
        """How to name this baseline in messages."""
        return str(self.path) if self.path is not None else "<baseline>"


# --------------------------------------------------------------------------- helpers


def cell_name(key_or_record: Key | Record) -> str:
    """``case [adapter dtype/device]``: how a cell is named in every message."""
    key = key_or_record.key if isinstance(key_or_record, Record) else key_or_record
    case, adapter, dtype, device = key
    return f"{case} [{adapter} {dtype}/{device}]"


def _listing(names: list[str]) -> str:
    shown = names[:_MAX_LISTED]
    more = len(names) - len(shown)
    text = "".join(f"\n  {n}" for n in shown)
    return text + (f"\n  ... and {more} more" if more > 0 else "")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _as_float(value: Any) -> float | None:
    """ULP errors may be numbers or decimal strings (``"inf"``, ``"nan"``) in results JSON."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt_ulp(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def _category(record: Record) -> str | None:
    error = record.error if isinstance(record.error, dict) else None
    return error.get("category") if error else None


def original_verdict(record: Record) -> str:
    """The verdict the run produced for ``record``, before any gating.

    Reads the ``original_verdict`` field when ``Record`` has one (or the gate set it), and
    otherwise recovers it from the gate line of the message (a gated file read back from
    JSON while ``Record`` had no such field).
    """
    stored = getattr(record, "original_verdict", None)
    if stored:
        return str(stored)
    if record.verdict in ("xfail", "xpass"):
        match = _GOT_RE.match(record.message or "")
        if match:
            return match.group(1)
        # An xpass by definition passed; an xfail without a gate line can only have
        # been an accepted failure, and "fail" is the most common one.
        return "pass" if record.verdict == "xpass" else "fail"
    return record.verdict


def ungate_record(record: Record) -> Record:
    """A copy of ``record`` as the run produced it: original verdict and message, no
    ``baseline_reason``. Records never gated come back as plain copies."""
    rec = copy.deepcopy(record)
    rec.verdict = original_verdict(record)
    if rec.message.startswith(GATE_PREFIX):
        _, _, rest = rec.message.partition("\n")
        rec.message = rest
    rec.baseline_reason = None
    if hasattr(rec, "original_verdict"):
        setattr(rec, "original_verdict", None)
    return rec


def _mark(rec: Record, verdict: str, note: str, reason: str, original: str | None) -> None:
    """Turn ``rec`` (an ungated copy) into a gated record, as the module docstring says."""
    line = GATE_PREFIX + _one_line(note)
    rec.message = line + ("\n" + rec.message if rec.message else "")
    rec.baseline_reason = reason
    if original is not None:
        setattr(rec, "original_verdict", original)
    rec.verdict = verdict


# --------------------------------------------------------------------------- loading


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read and validate a baseline file.

    Raises ``ValueError`` naming the file: when it is missing or not a results file, when
    a cell appears twice, when a record has a gated verdict (a baseline holds what the run
    produced), and when a non-pass record has no ``baseline_reason`` (all such cells listed).
    """
    p = Path(path)
    try:
        results = Results.read(p)
    except ValueError as exc:
        if not p.exists():
            raise ValueError(
                f"{p}: no such baseline file; create it with "
                f"'conformance gate RESULTS.json --baseline {p} --update-baseline --reason TEXT'"
            ) from None
        raise ValueError(f"baseline {exc}") from None
    return validate_baseline(results, p)


def validate_baseline(results: Results, path: str | os.PathLike[str] | None = None) -> Baseline:
    """Validate a baseline already in memory (see :func:`load_baseline`)."""
    where = str(path) if path is not None else "<baseline>"
    seen: set[Key] = set()
    duplicates: list[str] = []
    gated: list[str] = []
    unknown: list[str] = []
    unreasoned: list[str] = []
    for rec in results.records:
        if rec.key in seen:
            duplicates.append(cell_name(rec))
        seen.add(rec.key)
        if rec.verdict in ("xfail", "xpass"):
            gated.append(f"{cell_name(rec)}: verdict {rec.verdict!r}")
        elif rec.verdict not in ("pass", "skip", *FAILING):
            unknown.append(f"{cell_name(rec)}: verdict {rec.verdict!r}")
        if rec.verdict != "pass":
            reason = rec.baseline_reason
            if not isinstance(reason, str) or not reason.strip():
                unreasoned.append(f"{cell_name(rec)} ({rec.verdict})")
    if duplicates:
        raise ValueError(f"{where}: cells listed more than once (keep one record per cell):{_listing(duplicates)}")
    if unknown:
        raise ValueError(
            f"{where}: field 'verdict' must be one of pass, fail, error, crash, skip:{_listing(unknown)}"
        )
    if gated:
        raise ValueError(
            f"{where}: a baseline holds the verdicts a run produced, not gated ones; regenerate it "
            f"with 'conformance gate RESULTS.json --baseline {where} --update-baseline':{_listing(gated)}"
        )
    if unreasoned:
        raise ValueError(
            f"{where}: field 'baseline_reason' is missing or empty for {len(unreasoned)} "
            f"non-pass record(s) ({_FIX_REASON}):{_listing(unreasoned)}"
        )
    return Baseline(results=results, path=Path(path) if path is not None else None)


# --------------------------------------------------------------------------- gating


def _compare(current: Record, expected: Record, factor: float) -> tuple[str, str]:
    """Gate one failing cell against its failing baseline entry.

    Returns ``(verdict, note)``: ``xfail`` when the failure is the accepted one, or the
    run's own verdict with the reason it is a new failure.
    """
    got, want = current.verdict, expected.verdict
    reason = expected.baseline_reason or ""
    if got != want:
        return got, f"new failure: expected {want}, got {got}; baseline: {reason}"
    if got == "error":
        old_cat, new_cat = _category(expected), _category(current)
        if old_cat != new_cat and old_cat is not None:
            return got, f"new failure: expected error ({old_cat}), got error ({new_cat}); baseline: {reason}"
    if got == "fail":
        old_ulp, new_ulp = _as_float(expected.ulp_error), _as_float(current.ulp_error)
        # Only a finite baseline error can grow; a NaN or inf output where the baseline had
        # a finite error is growth too (the output broke down), hence the isfinite test.
        if old_ulp is not None and math.isfinite(old_ulp) and new_ulp is not None:
            grew = (not math.isfinite(new_ulp)) or new_ulp > factor * abs(old_ulp)
            if grew:
                return got, (
                    f"new failure: error grew from {_fmt_ulp(old_ulp)} to {_fmt_ulp(new_ulp)} ULP "
                    f"(more than {factor:g}x); baseline: {reason}"
                )
    return "xfail", f"expected {want}, got {got}: {reason}"


def apply_baseline(results: Results, baseline: Baseline, *, growth_factor: float = ULP_GROWTH_FACTOR) -> Results:
    """Gate ``results`` against ``baseline``; returns a new :class:`Results` (records copied).

    Records already gated are gated afresh from their original verdict, so applying a
    second baseline to a gated file gives the same answer as applying it to the raw run.
    The table in the module docstring says what each cell becomes. Baseline entries the run
    did not evaluate go to ``environment["gate"]["stale"]``.
    """
    expected = baseline.failing
    out: list[Record] = []
    evaluated: set[Key] = set()
    for record in results.records:
        rec = ungate_record(record)
        entry = expected.get(rec.key)
        if rec.verdict != "skip":
            evaluated.add(rec.key)
        if entry is not None:
            reason = entry.baseline_reason or ""
            if rec.verdict == "pass":
                _mark(rec, "xpass", f"expected {entry.verdict}, got pass: {reason}", reason, "pass")
            elif rec.verdict in FAILING:
                original = rec.verdict
                verdict, note = _compare(rec, entry, growth_factor)
                _mark(rec, verdict, note, reason, original if verdict == "xfail" else None)
        out.append(rec)

    current = {r.key: r for r in out}
    stale = []
    for key, entry in sorted(expected.items()):
        if key in evaluated:
            continue
        now = current.get(key)
        stale.append(
            {
                "case": key[0],
                "adapter": key[1],
                "dtype": key[2],
                "device": key[3],
                "verdict": entry.verdict,
                "baseline_reason": entry.baseline_reason,
                # "absent": the run has no such cell; otherwise the cell was skipped, with why.
                "now": "absent" if now is None else ("skip: " + _one_line(now.message) if now.message else "skip"),
            }
        )
    environment = copy.deepcopy(results.environment)
    environment["gate"] = {
        "baseline": baseline.describe(),
        "growth_factor": growth_factor,
        "stale": stale,
    }
    return Results(environment=environment, records=out, schema_version=results.schema_version)


def stale_entries(results: Results) -> list[dict[str, Any]]:
    """Baseline entries the gated run did not evaluate (absent cells, or now skipped)."""
    gate = results.environment.get("gate") if isinstance(results.environment, dict) else None
    return list(gate.get("stale", [])) if isinstance(gate, dict) else []


def gate_exit_code(results: Results, strict: bool = False) -> int:
    """1 when any unexpected result remains: a ``fail``/``error``/``crash`` (accepted ones
    are ``xfail`` by now), or with ``strict`` an ``xpass``; else 0. Stale baseline entries
    never trip the gate, they are warnings."""
    for rec in results.records:
        if rec.verdict in FAILING or (strict and rec.verdict == "xpass"):
            return 1
    return 0


def _first_line(message: str) -> str:
    line = (message or "").split("\n", 1)[0]
    if line.startswith(GATE_PREFIX):
        line = line[len(GATE_PREFIX):]
    return line if len(line) <= 300 else line[:297] + "..."


def summarize_gate(results: Results, strict: bool = False) -> str:
    """Terminal lines: the counts, every new failure (case, adapter, dtype, device and
    message), every xpass, every stale baseline entry."""
    counts: dict[str, int] = {}
    for rec in results.records:
        counts[rec.verdict] = counts.get(rec.verdict, 0) + 1
    records = sorted(results.records, key=lambda r: r.key)
    failures = [r for r in records if r.verdict in FAILING]
    xpasses = [r for r in records if r.verdict == "xpass"]
    stale = stale_entries(results)
    gate = results.environment.get("gate", {}) if isinstance(results.environment, dict) else {}

    order = ("pass", "xfail", "xpass", "fail", "error", "crash", "skip")
    shown = ", ".join(f"{counts[v]} {v}" for v in order if counts.get(v)) or "no cells"
    against = f" against {gate['baseline']}" if isinstance(gate, dict) and gate.get("baseline") else ""
    lines = [f"gate{against}: {len(records)} cells: {shown}"]

    def cell(rec: Record) -> str:
        return f"  {rec.verdict:<5} {rec.case}  {rec.adapter} {rec.dtype}/{rec.device}: {_first_line(rec.message)}"

    if failures:
        lines.append(f"NEW FAILURES ({len(failures)}):")
        lines.extend(cell(r) for r in failures)
    if xpasses:
        what = "failures with --strict" if strict else "not failures without --strict"
        lines.append(f"XPASS ({len(xpasses)}; fixed, or the baseline is out of date; {what}):")
        lines.extend(cell(r) for r in xpasses)
        lines.append("  (accept them by regenerating the baseline with --update-baseline)")
    if stale:
        lines.append(f"STALE BASELINE ENTRIES ({len(stale)}; in the baseline, not evaluated by this run; warnings):")
        for s in stale:
            lines.append(
                f"  {s['verdict']:<5} {s['case']}  {s['adapter']} {s['dtype']}/{s['device']}: "
                f"{s['now']} (baseline: {_one_line(s.get('baseline_reason') or '')})"
            )
        lines.append("  (drop them with --update-baseline --prune-stale)")
    code = gate_exit_code(results, strict)
    lines.append("gate: FAILED (unexpected results above)" if code else "gate: ok")
    return "\n".join(lines)


# --------------------------------------------------------------------------- updating


def compact_record(record: Record) -> Record:
    """A copy of an (ungated) record fit for a committed baseline: see the module docstring."""
    rec = copy.deepcopy(record)
    for name in BASELINE_DROPPED_FIELDS:
        if hasattr(rec, name):
            setattr(rec, name, None)
    for name in BASELINE_CAPPED_FIELDS:
        values = getattr(rec, name, None)
        if isinstance(values, list) and len(values) > MAX_BASELINE_VALUES:
            setattr(rec, name, None)
    return rec


def _compact_environment(environment: dict[str, Any]) -> dict[str, Any]:
    env = copy.deepcopy(environment)
    env.pop("gate", None)
    blocks = env["merged"] if isinstance(env.get("merged"), list) else [env]
    for block in blocks:
        if isinstance(block, dict):
            for name in BASELINE_DROPPED_ENV:
                block.pop(name, None)
    return env


def update_baseline(
    results: Results,
    old: Baseline | None,
    reason: str | None,
    *,
    prune_stale: bool = False,
) -> Results:
    """The new baseline for ``results`` (gated or not): its failing cells, compacted.

    Each failing cell keeps the reason of its old baseline entry when there is one (even if
    its verdict changed: the diff shows the change to the reviewer); a cell the old baseline
    does not list takes ``reason``. Without ``reason``, if any cell needs one, raises
    ``ValueError`` listing them all.

    Old entries for cells this run did not evaluate (absent, or skipped) are kept, so a
    CPU-only or filtered run does not erase what it never looked at; ``prune_stale`` drops
    them. Cells that pass now are dropped: that is how a fix is accepted.
    """
    reason = reason.strip() if isinstance(reason, str) else None
    old_records = old.failing if old is not None else {}
    new: dict[Key, Record] = {}
    evaluated: set[Key] = set()
    needs_reason: list[str] = []
    for record in results.records:
        rec = ungate_record(record)
        if rec.verdict != "skip":
            evaluated.add(rec.key)
        if rec.verdict not in FAILING:
            continue
        previous = old_records.get(rec.key)
        if previous is not None and previous.baseline_reason:
            rec.baseline_reason = previous.baseline_reason
        elif reason:
            rec.baseline_reason = reason
        else:
            needs_reason.append(f"{cell_name(rec)} ({rec.verdict}): {_first_line(rec.message)}")
            continue
        new[rec.key] = compact_record(rec)
    if needs_reason:
        where = f" not in {old.describe()}" if old is not None else ""
        raise ValueError(
            f"{len(needs_reason)} failing cell(s){where} need a baseline_reason; pass --reason TEXT "
            f"(a bug link or why the divergence is accepted):{_listing(needs_reason)}"
        )
    if not prune_stale:
        for key, entry in old_records.items():
            if key not in evaluated and key not in new:
                new[key] = compact_record(entry)
    environment = _compact_environment(results.environment)
    return Results(environment=environment, records=[new[k] for k in sorted(new)])


def _signature(record: Record) -> tuple[str, str | None, float | None]:
    return (record.verdict, _category(record), _as_float(record.ulp_error))


def baseline_changes(old: Baseline | None, new: Results) -> dict[str, list[Key]]:
    """Which cells an update adds, removes and keeps, for the terminal; ``changed`` lists
    the kept cells whose verdict, error category or ULP error differ (their reason was
    carried over, so the reviewer should look at them)."""
    before = old.failing if old is not None else {}
    after = {r.key: r for r in new.records}
    kept = sorted(set(after) & set(before))
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "kept": kept,
        "changed": [k for k in kept if _signature(after[k]) != _signature(before[k])],
    }


def describe_change(old: Record, new: Record) -> str:
    """``fail 5 ULP -> fail 50 ULP``: how a kept baseline entry changed."""

    def one(rec: Record) -> str:
        verdict, category, ulp = _signature(rec)
        extra = f" ({category})" if category else (f" {_fmt_ulp(ulp)} ULP" if ulp is not None else "")
        return verdict + extra

    return f"{one(old)} -> {one(new)}"


def iter_unexpected(results: Results, strict: bool = False) -> Iterable[Record]:
    """The records that make :func:`gate_exit_code` return 1, in cell order."""
    for rec in sorted(results.records, key=lambda r: r.key):
        if rec.verdict in FAILING or (strict and rec.verdict == "xpass"):
            yield rec
