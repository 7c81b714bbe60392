"""``conformance run``: run the cases against one or more implementations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.adapters.base import Adapter
from conformance.reference import ReferenceStore
from conformance.adapters.registry import DEFAULT_ADAPTER, AdapterLoadError, known_adapters, load_adapter
from conformance.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE
from conformance.commands._common import add_case_arguments, check_dtypes, check_tags, load_selected, split_values
from conformance.commands.gate import add_gate_arguments, check_gate_arguments, run_gate
from conformance.vocabulary import PROFILES
from conformance.vocabulary import DEVICES

_DESCRIPTION = """\
Run the cases against implementations and compare every output with the oracle's truth.

Each case is materialized in each of its dtypes (the literals rounded to the dtype, so
the oracle and the implementation see the same bits), computed exactly by the oracle
under the adapter's semantic profile, run through the adapter, and judged: pass, fail
(a wrong number), error (an unexpected exception), crash (the worker died or hung) or
skip (the adapter cannot express the case, with the reason).
"""

_EPILOG = """\
examples:
  conformance run                                   # own numpy implementation, every case
  conformance run -a tensorflow --json out/tf.json  # real TensorFlow in a worker process
  conformance run -a tensorflow --device cpu --device gpu
  conformance run -a mylib.conformance:MyAdapter --profile keras3-generic
  conformance run -k 'scce-doc-*' --dtype float32 -v
  conformance run -a tensorflow --baseline reports/baselines/tensorflow.json --junit junit.xml

exit codes: 0 every cell passed (with --baseline: nothing unexpected), 1 a fail, error or
crash (with --baseline: a new one, or an xpass with --strict), 2 bad usage or invalid
case files, 130 interrupted (the completed results are still written)."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run", help="run the cases against implementations (default: the own numpy implementation)",
        description=_DESCRIPTION, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_case_arguments(parser)
    impl = parser.add_argument_group("implementations")
    impl.add_argument(
        "-a", "--adapter", action="append", default=[], metavar="ADAPTER",
        help=f"built-in name ({', '.join(known_adapters())}), 'package.module:Class', or an entry point "
        f"of the 'conformance.adapters' group; repeat for several (default: {DEFAULT_ADAPTER})",
    )
    impl.add_argument("--dtype", action="append", default=[], metavar="DTYPE",
                      help="only these dtypes (comma-separated or repeated; default: each case's own dtypes)")
    impl.add_argument("--device", action="append", default=[], choices=DEVICES,
                      help="devices to run on (repeat; default: the adapter's first device, cpu)")
    impl.add_argument("--profile", choices=sorted(PROFILES),
                      help="judge against this semantic profile instead of the one the adapter claims")
    impl.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="per-case time limit for adapters that run in a worker process (default 120)")
    impl.add_argument("--reference", metavar="DIR",
                      help="read committed truths from DIR (default: reference/ of this checkout); cases it "
                      "does not hold, or holds for other inputs, are computed by the oracle")
    impl.add_argument("--no-reference", action="store_true",
                      help="compute every truth with the oracle, ignoring reference/")
    out = parser.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="write the results as JSON (the input of report and gate)")
    out.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    out.add_argument("-v", "--verbose", action="store_true", help="also list skipped cells and expected failures")
    out.add_argument("-q", "--quiet", action="store_true", help="print only the final line")
    out.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    add_gate_arguments(parser, baseline_required=False)
    parser.set_defaults(func=main, _parser=parser)
    return parser


def _load_adapters(specs: list[str], timeout: float | None) -> list[Adapter] | str:
    adapters: list[Adapter] = []
    for spec in specs or [DEFAULT_ADAPTER]:
        try:
            adapters.append(load_adapter(spec, timeout=timeout))
        except AdapterLoadError as exc:
            for a in adapters:
                a.close()
            return str(exc)
    names = [a.name for a in adapters]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        return f"adapter name(s) {', '.join(dup)} given twice"
    return adapters


def _reference_store(path: str | None) -> "ReferenceStore | None":
    from conformance.loader import find_root
    from conformance.reference import ReferenceStore

    root = Path(path) if path else find_root(Path.cwd()) / "reference"
    return ReferenceStore(root) if root.is_dir() else None


def main(args: argparse.Namespace) -> int:
    """Run ``conformance run``; see ``conformance run --help``."""
    from conformance import runner
    from conformance.reporters.terminal import print_report

    parser: argparse.ArgumentParser = args._parser
    check_gate_arguments(parser, args)
    dtypes = split_values(args.dtype)
    check_dtypes(parser, dtypes)
    check_tags(parser, args.tag)
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")

    cases = load_selected(args, "run")
    if isinstance(cases, int):
        return cases
    if not cases:
        print("conformance run: no case matches the filters", file=sys.stderr)
        return EXIT_USAGE

    adapters = _load_adapters(args.adapter, args.timeout)
    if isinstance(adapters, str):
        print(f"conformance run: {adapters}", file=sys.stderr)
        return EXIT_USAGE

    truths = runner.TruthCache(None if args.no_reference else _reference_store(args.reference))
    options = runner.RunOptions(dtypes=dtypes or None, devices=args.device or None, profile=args.profile)
    try:
        results = runner.run(cases, adapters, options, truths=truths, show_progress=not args.no_progress and not args.quiet)
    finally:
        for adapter in adapters:
            adapter.close()

    interrupted = bool(results.environment.get("interrupted"))
    if args.json:
        results.write(args.json)
    if args.html:
        from conformance.reporters.html import write_html

        write_html(results, args.html)

    if not args.quiet:
        print_report(results, verbose=args.verbose)
    else:
        counts = runner.summarize_verdicts(results.records)
        print(", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
    for label, path in (("results", args.json), ("HTML report", args.html)):
        if path:
            print(f"wrote {label}: {Path(path).resolve()}")

    if args.baseline or args.junit:
        code = run_gate(results, args)
    else:
        code = EXIT_FAILURES if any(r.verdict in ("fail", "error", "crash") for r in results.records) else EXIT_OK
    return 130 if interrupted else code
