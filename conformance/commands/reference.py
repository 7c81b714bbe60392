"""``conformance reference``: regenerate or check the committed ground truth in reference/."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from conformance.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from conformance.loader import CaseFileError, find_root, load_cases

_DESCRIPTION = """\
The oracle's truth for every (case, dtype, profile, device), committed as
language-neutral JSON under reference/ (one file per case file): exact inputs as hex
floats, the truth to 45 significant digits, and its correct rounding to every dtype.
See reference/README.md for reading it from C++, Rust or Julia.

  --check   regenerate in memory and fail (exit 1) if anything committed differs:
            cases/ or the oracle changed without 'make reference'
  --update  regenerate and write the files (removing files no case file produces)
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "reference", help="regenerate (--update) or check (--check) the committed truth in reference/",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 up to date (or written), 1 --check found differences, 2 bad usage or invalid cases",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if reference/ is out of date")
    mode.add_argument("--update", action="store_true", help="rewrite reference/ from cases/ and the oracle")
    parser.add_argument("--cases", metavar="DIR", help="the case folder (default: cases/ of this checkout)")
    parser.add_argument("--out", metavar="DIR", help="the reference folder (default: reference/ of this checkout)")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``conformance reference``; see ``conformance reference --help``."""
    from conformance import reference

    root = find_root(Path.cwd())
    cases_dir = Path(args.cases) if args.cases else root / "cases"
    out = Path(args.out) if args.out else root / "reference"
    if not cases_dir.is_dir():
        print(f"conformance reference: no case folder {cases_dir} (run it in a checkout, or pass --cases)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        cases = load_cases([cases_dir])
    except CaseFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    blobs: dict[str, bytes] = {}
    files = reference.build(cases, blobs=blobs)
    n = sum(len(doc["entries"]) for doc in files.values())
    took = time.monotonic() - started
    if args.update:
        reference.write(files, out, blobs=blobs)
        print(f"wrote {len(files)} reference file(s) and {len(blobs)} binary input file(s) under {out}: "
              f"{n} entries ({took:.1f} s)")
        return EXIT_OK
    drifts = reference.compare(files, out, files.keys(), blobs)
    if not drifts:
        print(f"reference/ is up to date: {len(files)} file(s), {n} entries checked ({took:.1f} s)")
        return EXIT_OK
    for d in drifts[:50]:
        print(d)
    if len(drifts) > 50:
        print(f"... and {len(drifts) - 50} more")
    print(f"{len(drifts)} difference(s): cases/ or the oracle changed; regenerate with 'make reference' "
          "(conformance reference --update) and commit reference/", file=sys.stderr)
    return EXIT_FAILURES
