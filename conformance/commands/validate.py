"""``conformance validate``: check case files against the schema and the linter."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from conformance.cli import EXIT_OK, EXIT_USAGE
from conformance.loader import expand_paths, validate_paths

_DESCRIPTION = """\
Check case files: safe YAML parsing, the JSON Schema shipped in the package, then the
linter (duplicate keys, ragged arrays, unique ids across files, provenance of
documented cases against the cited seed document, tags the content implies, ...).
Every problem is printed as FILE:LINE: FIELD: MESSAGE.
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate", help="check case files against the schema and the linter",
        description=_DESCRIPTION, epilog="exit codes: 0 valid, 2 problems found (or no files)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="case files or folders (default: cases/ of the current checkout)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``conformance validate``; see ``conformance validate --help``."""
    files = expand_paths(args.paths or None)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        print(f"conformance validate: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    cases, problems = validate_paths(args.paths or None)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        per_file = Counter(c.file for c in cases)
        for name, n in per_file.items():
            print(f"ok  {name}: {n} case(s)")
        print(f"{len(cases)} case(s) in {len(per_file)} file(s): valid")
    return EXIT_OK
