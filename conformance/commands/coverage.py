"""``conformance coverage``: documented arguments × value classes × how many cases."""

from __future__ import annotations

import argparse
import json
import sys

from conformance.cli import EXIT_FAILURES, EXIT_OK
from conformance.commands._common import add_case_arguments, load_selected
from conformance.vocabulary import FAMILY_CLASS

_DESCRIPTION = """\
For each API (loss class, loss function, metric of each family), each argument the
seed documents name, and each class of its values (from_logits false/true,
sample_weight none/scalar/per example/...), print how many cases exercise it. Classes
are derived from each case's arguments and materialized inputs, not from its tags.
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "coverage", help="which documented arguments and value classes the cases cover",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 ok, 1 --check: a documented argument has no case (--strict: a value class "
        "has no case), 2 bad usage or invalid cases",
    )
    add_case_arguments(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 when a documented argument has no case")
    parser.add_argument("--strict", action="store_true", help="with --check: also exit 1 when a value class has no case")
    parser.add_argument("--gaps", action="store_true", help="print only the value classes without a case")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``conformance coverage``; see ``conformance coverage --help``."""
    from conformance.coverage import by_api, coverage, uncovered_arguments

    cases = load_selected(args, "coverage")
    if isinstance(cases, int):
        return cases
    rows = coverage(cases)
    if args.json:
        print(json.dumps([{"family": r.family, "api": r.api, "argument": r.argument, "cases": r.counts}
                          for r in rows], indent=1))
    else:
        for (family, api), group in by_api(rows).items():
            print(f"{FAMILY_CLASS[family]} {api}")
            for r in group:
                shown = [(c, n) for c, n in r.counts.items() if not args.gaps or n == 0]
                if not shown:
                    continue
                mark = "  MISSING" if r.total == 0 else ""
                classes = ", ".join(f"{c}: {n}" if n else f"{c}: -" for c, n in shown)
                print(f"  {r.argument:<36} {classes}{mark}")
            print()
    missing = uncovered_arguments(rows)
    gaps = sum(len(r.gaps) for r in rows)
    total = sum(len(r.counts) for r in rows)
    print(f"{len(rows) - len(missing)}/{len(rows)} documented arguments covered; "
          f"{total - gaps}/{total} value classes covered", file=sys.stderr)
    if args.check:
        for r in missing:
            print(f"not covered: {FAMILY_CLASS[r.family]} {r.api} argument {r.argument}", file=sys.stderr)
        if missing or (args.strict and gaps):
            return EXIT_FAILURES
    return EXIT_OK
