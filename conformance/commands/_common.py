"""Options and helpers shared by several sub-commands: case selection and loading."""

from __future__ import annotations

import argparse
import fnmatch
import sys
from typing import Sequence

from conformance.case import Case
from conformance.loader import CaseFileError, expand_paths, load_cases
from conformance.vocabulary import APIS, DTYPES, FAMILIES, FAMILY_SHORT, TAGS


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """PATHS plus the case filters (-k, --api, --family, --tag)."""
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="case files or folders (default: cases/ of the current checkout, subfolders included)",
    )
    group = parser.add_argument_group("selecting cases (filters combine with AND; each may repeat, OR within)")
    group.add_argument("-k", "--case", action="append", metavar="PATTERN", default=[],
                       help="case ids matching this glob (e.g. 'scce-doc-*'), or containing this text")
    group.add_argument("--api", action="append", choices=APIS, default=[], help="only this API surface")
    group.add_argument("--family", action="append", choices=[*FAMILIES, *FAMILY_SHORT.values()], default=[],
                       metavar="FAMILY", help="only this family: scce / cce (or the full name)")
    group.add_argument("--tag", action="append", default=[], metavar="TAG",
                       help="only cases with this tag (see 'conformance list --tags')")


def split_values(values: Sequence[str]) -> list[str]:
    """``--dtype float32,float64 --dtype bfloat16`` → three values."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def select(cases: Sequence[Case], args: argparse.Namespace) -> list[Case]:
    """The cases that pass every filter given in ``args``."""
    out = list(cases)
    if args.case:
        pats = args.case
        out = [c for c in out if any(fnmatch.fnmatchcase(c.id, p) or (not any(ch in p for ch in "*?[") and p in c.id)
                                     for p in pats)]
    if args.api:
        out = [c for c in out if c.api in args.api]
    if args.family:
        fams = {f if f in FAMILIES else next(k for k, v in FAMILY_SHORT.items() if v == f) for f in args.family}
        out = [c for c in out if c.family in fams]
    if args.tag:
        out = [c for c in out if set(args.tag) & set(c.tags)]
    return out


def check_tags(parser: argparse.ArgumentParser, tags: Sequence[str]) -> None:
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        parser.error(f"unknown tag(s) {', '.join(unknown)}; see 'conformance list --tags'")


def check_dtypes(parser: argparse.ArgumentParser, dtypes: Sequence[str]) -> None:
    unknown = [d for d in dtypes if d not in DTYPES]
    if unknown:
        parser.error(f"unknown dtype(s) {', '.join(unknown)}; choose from {', '.join(DTYPES)}")


def load_selected(args: argparse.Namespace, command: str) -> list[Case] | int:
    """Load and filter the cases; on invalid files print every problem and return 2."""
    paths = args.paths or None
    if paths:
        missing = [p for p in expand_paths(paths) if not p.exists()]
        if missing:
            print(f"conformance {command}: no such case file or folder: {', '.join(map(str, missing))}",
                  file=sys.stderr)
            return 2
    try:
        cases = load_cases(paths)
    except CaseFileError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        print(f"conformance {command}: {len(exc.problems)} problem(s) in the case files; "
              "fix them (see 'conformance validate')", file=sys.stderr)
        return 2
    return select(cases, args)
