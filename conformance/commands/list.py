"""``conformance list``: the cases, adapters, tags or profiles the suite knows."""

from __future__ import annotations

import argparse
import json
import sys

from conformance.cli import EXIT_OK
from conformance.commands._common import add_case_arguments, check_tags, load_selected
from conformance.vocabulary import ERROR_CATEGORIES, TAGS


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "list", help="list cases (or adapters, tags, profiles)",
        description="List the cases that the filters select, one per line: id, API, dtypes, tags and "
        "where it is defined. Or list the adapters, tags, error categories or semantic profiles.",
        epilog="examples:\n  conformance list --tag ignore-class\n  conformance list --adapters\n"
        "  conformance list -k 'scce-doc-*' --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_case_arguments(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--adapters", action="store_true", help="list adapters and whether they can load here")
    what.add_argument("--tags", action="store_true", help="list the tag vocabulary")
    what.add_argument("--profiles", action="store_true", help="list the semantic profiles")
    what.add_argument("--errors", action="store_true", help="list the portable error categories")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=main, _parser=parser)
    return parser


def _adapters() -> list[dict[str, str]]:
    from conformance.adapters.registry import AdapterLoadError, known_adapters, resolve_class

    rows = []
    for name, target in known_adapters().items():
        try:
            cls = resolve_class(name)
        except AdapterLoadError as exc:
            rows.append({"name": name, "target": target, "profile": "", "status": f"unavailable: {exc}"})
            continue
        check = getattr(cls, "unavailable_reason", None)
        reason = check() if callable(check) else None
        status = f"unavailable: {reason}" if reason else "available" + (" (worker process)" if cls.isolated else "")
        rows.append({"name": name, "target": target, "profile": cls.profile, "status": status,
                     "description": cls.description})
    return rows


def main(args: argparse.Namespace) -> int:
    """Run ``conformance list``; see ``conformance list --help``."""
    if args.adapters:
        rows = _adapters()
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for r in rows:
                print(f"{r['name']:<14} {r['profile']:<18} {r['status']}")
        return EXIT_OK
    if args.tags or args.errors:
        table = TAGS if args.tags else ERROR_CATEGORIES
        if args.json:
            print(json.dumps(table, indent=1))
        else:
            for k, v in table.items():
                print(f"{k:<24} {v}")
        return EXIT_OK
    if args.profiles:
        from conformance.profiles import PROFILES

        for name, prof in PROFILES.items():
            doc = (prof.__doc__ or "").strip().splitlines()
            print(f"{name:<18} {getattr(prof, 'description', '') or (doc[0] if doc else '')}")
        return EXIT_OK
    check_tags(args._parser, args.tag)
    cases = load_selected(args, "list")
    if isinstance(cases, int):
        return cases
    if args.json:
        print(json.dumps([{"id": c.id, "api": c.api, "family": c.family, "title": c.title, "dtypes": list(c.dtypes),
                           "tags": list(c.tags), "location": c.location} for c in cases], indent=1))
    else:
        for c in cases:
            print(f"{c.id:<44} {c.api:<14} {','.join(c.dtypes):<16} {c.location}")
        print(f"{len(cases)} case(s)", file=sys.stderr)
    return EXIT_OK
