"""The ``conformance`` command line: one sub-command per module in :mod:`conformance.commands`.

Exit codes, for every sub-command: 0 success (all pass), 1 a failure or an error was
found (or a gate tripped), 2 bad usage or invalid case files.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from conformance import __version__

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2

#: Sub-commands in ``--help`` order; each module has ``register(subparsers)`` and
#: ``main(args) -> int``.
COMMANDS = ("run", "list", "validate", "reference", "coverage", "report", "gate")

_DESCRIPTION = """\
Conformance suite for the Keras crossentropy APIs (SparseCategoricalCrossentropy,
CategoricalCrossentropy: loss classes, loss functions and metrics).

Cases in cases/*.yaml are materialized in each dtype, computed exactly by an mpmath
oracle under a named semantic profile, run through an adapter (the package's own
numpy implementation by default, or TensorFlow/Keras, or your own), and compared
with absolute, relative and ULP error.
"""

_EPILOG = """\
exit codes: 0 all pass, 1 a failure or error (or a tripped gate), 2 bad usage or
invalid case files.  Run 'conformance COMMAND --help' for each command."""


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage, which is already our convention; this only
    adds a hint to the error message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(try '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conformance",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"conformance.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``conformance`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
