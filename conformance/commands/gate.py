"""``conformance gate``: gate a results file against a baseline of accepted failures.

The same options are meant for ``conformance run`` (gate straight after a run):
:func:`add_gate_arguments` adds them to a parser and :func:`run_gate` does the work, so
both commands behave identically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from conformance.cli import EXIT_OK, EXIT_USAGE
from conformance.gate import (
    ULP_GROWTH_FACTOR,
    Baseline,
    apply_baseline,
    baseline_changes,
    cell_name,
    describe_change,
    gate_exit_code,
    load_baseline,
    stale_entries,
    summarize_gate,
    update_baseline,
    validate_baseline,
)
from conformance.results import Results, merge

_DESCRIPTION = f"""\
Gate a results file against a baseline: CI fails only on unexpected results.

A baseline is a results JSON whose fail/error/crash records are accepted divergences,
each with a 'baseline_reason'. Against it, every cell of the run becomes:
  xfail  the accepted failure, with the same verdict (and error category)
  xpass  passes now although the baseline expects a failure (fails the gate with --strict)
  fail / error / crash   a new failure: not in the baseline, a different verdict or error
         category, or a ULP error more than {ULP_GROWTH_FACTOR:g}x the baseline's
Baseline cells the run did not evaluate are reported as stale (warnings, never failures).
"""

_EPILOG = """\
example workflow:
  conformance run --adapter tensorflow --json out/tf.json
  # first time: accept today's failures, with a reason (a bug link, or why)
  conformance gate out/tf.json --baseline reports/baselines/tensorflow.json \\
      --update-baseline --reason "TF 2.21 CPU, reviewed in #3"
  git add reports/baselines/tensorflow.json          # review the diff like code
  # in CI: fail on anything unexpected, show it in the CI's test tab
  conformance gate out/tf.json --baseline reports/baselines/tensorflow.json \\
      --strict --junit out/junit.xml
  # after a fix or an accepted change: rewrite the baseline (reasons carried over)
  conformance gate out/tf.json --baseline reports/baselines/tensorflow.json --update-baseline

exit codes: 0 no unexpected result (or baseline written), 1 a new failure (or an xpass
with --strict), 2 bad usage, or a missing or invalid results or baseline file."""


def add_gate_arguments(parser: argparse.ArgumentParser, *, baseline_required: bool) -> None:
    """Add --baseline, --strict, --update-baseline, --reason, --prune-stale and --junit."""
    group = parser.add_argument_group("gating against a baseline")
    group.add_argument(
        "--baseline",
        metavar="BASELINE.json",
        required=baseline_required,
        help="the baseline of accepted failures (a results JSON with a baseline_reason per non-pass record)",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help="an xpass (a cell that passes although the baseline expects a failure) fails the gate",
    )
    group.add_argument(
        "--update-baseline",
        action="store_true",
        help="rewrite --baseline from this run's failing cells (reasons carried over) and exit 0",
    )
    group.add_argument(
        "--reason",
        metavar="TEXT",
        help="with --update-baseline: the baseline_reason for failing cells the old baseline does not list",
    )
    group.add_argument(
        "--prune-stale",
        action="store_true",
        help="with --update-baseline: drop entries for cells this run did not evaluate (kept by default, "
        "so a CPU-only or filtered run does not erase them)",
    )
    group.add_argument(
        "--junit",
        metavar="FILE",
        help="also write JUnit XML (for Jenkins, GitLab, GitHub test reports); xpass is a failure with --strict",
    )


def check_gate_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject option combinations that make no sense (exits 2 through ``parser.error``)."""
    if getattr(args, "update_baseline", False) and not args.baseline:
        parser.error("--update-baseline needs --baseline FILE (the file to write)")
    if args.reason is not None and not args.update_baseline:
        parser.error("--reason is only used with --update-baseline")
    if args.reason is not None and not args.reason.strip():
        parser.error("--reason must not be empty")
    if args.prune_stale and not args.update_baseline:
        parser.error("--prune-stale is only used with --update-baseline")


def _error(err: TextIO, text: str) -> int:
    print(f"conformance gate: {text}", file=err)
    return EXIT_USAGE


def run_gate(
    results: Results,
    args: argparse.Namespace,
    *,
    gated_json: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Gate ``results`` as ``args`` says (see :func:`add_gate_arguments`); returns the exit code.

    Without --baseline this only writes --junit, and returns 1 when the run has a failure.
    ``gated_json``, when given, receives the gated results (``conformance gate --json``;
    ``conformance run`` leaves it out so its own --json keeps the raw run).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    baseline_path = Path(args.baseline) if args.baseline else None
    strict = bool(args.strict)

    old: Baseline | None = None
    if baseline_path is not None and not (args.update_baseline and not baseline_path.exists()):
        try:
            old = load_baseline(baseline_path)
        except ValueError as exc:
            return _error(err, str(exc))

    gated = apply_baseline(results, old) if old is not None else results

    if args.update_baseline:
        assert baseline_path is not None  # check_gate_arguments guarantees it
        try:
            new = update_baseline(gated, old, args.reason, prune_stale=args.prune_stale)
        except ValueError as exc:
            return _error(err, f"{baseline_path}: not updated: {exc}")
        try:
            new.write(baseline_path)
        except (OSError, ValueError) as exc:
            return _error(err, f"{baseline_path}: cannot write the baseline: {exc}")
        changes = baseline_changes(old, new)
        print(
            f"wrote baseline {baseline_path}: {len(new.records)} accepted failure(s); "
            f"{len(changes['added'])} added, {len(changes['removed'])} removed, {len(changes['kept'])} kept",
            file=out,
        )
        for label in ("added", "removed"):
            for key in changes[label]:
                print(f"  {label}: {cell_name(key)}", file=out)
        if changes["changed"]:
            assert old is not None  # only kept cells can change
            after = {r.key: r for r in new.records}
            for key in changes["changed"]:
                change = describe_change(old.records[key], after[key])
                print(f"  changed (reason carried over, review it): {cell_name(key)}: {change}", file=out)
        stale_kept = stale_entries(gated) if old is not None and not args.prune_stale else []
        if stale_kept:
            print(f"  kept {len(stale_kept)} entr{'y' if len(stale_kept) == 1 else 'ies'} this run did not "
                  "evaluate (drop them with --prune-stale)", file=out)
        # Outputs written below show the run against the baseline just written, which
        # matches the exit code 0: everything failing is now accepted.
        gated = apply_baseline(results, validate_baseline(new, baseline_path))
        code = EXIT_OK
    elif old is not None:
        print(summarize_gate(gated, strict=strict), file=out)
        code = gate_exit_code(gated, strict)
    else:
        code = gate_exit_code(gated, strict)

    if args.junit:
        from conformance.reporters.junit import write_junit

        try:
            write_junit(gated, args.junit, strict=strict)
        except OSError as exc:
            return _error(err, f"{args.junit}: cannot write JUnit XML: {exc}")
        print(f"wrote JUnit XML {args.junit}", file=out)
    json_out = gated_json
    if json_out:
        try:
            gated.write(json_out)
        except (OSError, ValueError) as exc:
            return _error(err, f"{json_out}: cannot write the gated results: {exc}")
        print(f"wrote gated results {json_out}", file=out)
    return code


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``gate`` sub-command."""
    parser = subparsers.add_parser(
        "gate",
        help="gate results against a baseline of accepted failures (exit 1 on unexpected results)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS.json",
        help="results of 'conformance run --json'; several files (other adapters, devices, "
        "machines) are merged, a later file's cell replacing an earlier one's",
    )
    add_gate_arguments(parser, baseline_required=True)
    parser.add_argument("--json", metavar="FILE", help="also write the gated results (with xfail/xpass verdicts)")
    parser.set_defaults(func=main, _parser=parser)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``conformance gate``; see ``conformance gate --help``."""
    parser = getattr(args, "_parser", None)
    if parser is not None:
        check_gate_arguments(parser, args)
    runs = []
    for path in args.results:
        try:
            runs.append(Results.read(path))
        except ValueError as exc:
            return _error(sys.stderr, str(exc))
    results = runs[0] if len(runs) == 1 else merge(runs)
    return run_gate(results, args, gated_json=args.json)
