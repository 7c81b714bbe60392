"""``conformance report``: render one or more results files as a self-contained HTML page."""

from __future__ import annotations

import argparse
import sys

from conformance.cli import EXIT_OK, EXIT_USAGE
from conformance.results import Results, merge

_DESCRIPTION = """\
Render results as one self-contained HTML page (CSS, JavaScript and SVG inline; it loads
nothing from the network, so it can be archived as a CI artifact or mailed).

Several results files (other adapters, devices, machines) are merged into one page, a
later file's cell replacing an earlier one's; the environment of every run is listed.
The page holds: a summary per implementation x dtype x device (verdict counts, max and
median ULP error), the largest ULP error per API, the case matrix with filters and a
drill-down per cell (inputs, the truth in full digits, errors, tolerance, documented
value, exception, and a standalone repro snippet), and ULP error histograms.
"""

_EPILOG = """\
examples:
  conformance run --adapter numpy --json out/numpy.json
  conformance run --adapter tensorflow --json out/tf.json
  conformance report out/numpy.json out/tf.json --html out/report.html
  conformance report ci-linux/*.json ci-gpu/*.json --html report.html --title "Nightly"

exit codes: 0 the page was written (whatever the verdicts in it), 2 bad usage, a missing
or invalid results file, or a page that cannot be written."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="render results files (merged) as one self-contained HTML page",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS.json",
        help="results of 'conformance run --json' (or 'conformance gate --json'); several files are merged",
    )
    parser.add_argument("--html", metavar="OUT.html", required=True, help="write the HTML report here")
    parser.add_argument("--json", metavar="OUT.json",
                        help="also write the merged results beside it (the data the page shows)")
    parser.add_argument("--title", metavar="TEXT", help="the page title (default: 'Crossentropy conformance report')")
    parser.set_defaults(func=main, _parser=parser)
    return parser


def _error(text: str) -> int:
    print(f"conformance report: {text}", file=sys.stderr)
    return EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    """Run ``conformance report``; see ``conformance report --help``."""
    from conformance.reporters.html import write_html

    if args.title is not None and not args.title.strip():
        return _error("--title must not be empty")
    runs = []
    for path in args.results:
        try:
            runs.append(Results.read(path))
        except ValueError as exc:  # names the file: missing, not JSON, not results, bad version
            return _error(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            return _error(f"{path}: cannot read the results file: {exc}")
        except (TypeError, AttributeError) as exc:  # records that are not objects, or unknown shapes
            return _error(f"{path}: not a results file: {exc}")
    results = runs[0] if len(runs) == 1 else merge(runs)
    try:
        out = write_html(results, args.html, title=args.title)
    except OSError as exc:
        return _error(f"{args.html}: cannot write the report: {exc}")
    if args.json:
        try:
            results.write(args.json)
        except (OSError, ValueError) as exc:
            return _error(f"{args.json}: cannot write the merged results: {exc}")
        print(f"wrote merged results {args.json}")
    counts: dict[str, int] = {}
    for rec in results.records:
        counts[rec.verdict] = counts.get(rec.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in counts.items()) or "no records"
    print(f"wrote HTML report {out}: {len(results.records)} cell(s) from {len(runs)} file(s) ({summary})")
    return EXIT_OK
