"""JUnit XML: the results as CI systems display them (Jenkins, GitLab, GitHub test reporters).

Layout::

    <testsuites name="crossentropy-conformance" tests= failures= errors= skipped= time="0">
      <testsuite name="ADAPTER" tests= failures= errors= skipped= time="0">
        <properties><property name="profile" value="keras3-tensorflow"/>
                    <property name="version.tensorflow" value="2.21.0"/>...</properties>
        <testcase classname="ADAPTER.FAMILY.API" name="CASE [DTYPE/DEVICE]" time="0">
          (pass: nothing)
          fail   -> <failure type="fail" message="first line">output, truth, errors, tolerance</failure>
          error  -> <error type="CATEGORY" message=...>exception, expected error</error>
          crash  -> <error type="crash" message=...>
          skip   -> <skipped message="reason"/>
          xfail  -> <skipped message="xfail: baseline reason">original verdict and detail</skipped>
          xpass  -> <system-out>note</system-out>, or with strict <failure type="xpass">
        </testcase>

The reporter never recomputes a verdict: it renders :class:`~conformance.results.Record`
fields. ``time`` is always ``"0"`` because results are deterministic data (timings would
make them differ run to run). Text is sanitised of characters XML 1.0 forbids (control
characters, lone surrogates), which would otherwise make the whole file unreadable to CI.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.results import Record, Results, environments, write_text_atomic

#: Characters allowed by XML 1.0 (https://www.w3.org/TR/xml/#charsets); anything else is
#: written as a visible escape such as ``\x00``.
_ILLEGAL_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: ``message`` attributes are one line and short; the full text goes in the element body.
_MAX_MESSAGE = 500


def sanitize(text: Any) -> str:
    """``text`` as a string that XML 1.0 can hold: illegal characters become ``\\xNN``
    (or ``\\uNNNN``) escapes, so nothing is silently lost."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _ILLEGAL_XML.sub(escape, "" if text is None else str(text))


def _message_attr(text: str) -> str:
    line = " ".join(sanitize(text).split("\n", 1)[0].split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 3] + "..."


def _gate_line_stripped(message: str) -> str:
    """The record's message without the gate's first line (the reason is shown apart)."""
    if message.startswith("[baseline] "):
        return message.partition("\n")[2]
    return message


def _values(values: list[str] | None, limit: int = 32) -> str:
    if values is None:
        return "-"
    shown = ", ".join(str(v) for v in values[:limit])
    more = len(values) - limit
    return f"[{shown}{f', ... ({more} more)' if more > 0 else ''}]"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def detail(record: Record) -> str:
    """The body of a failure/error/xfail element: everything needed to see why."""
    lines = [f"case: {record.case}  ({record.title})" if record.title else f"case: {record.case}"]
    lines.append(f"adapter: {record.adapter}  profile: {record.profile}  dtype: {record.dtype}  device: {record.device}")
    if record.location:
        lines.append(f"location: {record.location}")
    if record.message:
        lines.append(f"message: {record.message}")
    if record.baseline_reason:
        lines.append(f"baseline reason: {record.baseline_reason}")
    original = getattr(record, "original_verdict", None)
    if original:
        lines.append(f"original verdict: {original}")
    if record.output is not None or record.truth_rounded is not None or record.truth is not None:
        shape = f" shape {record.shape}" if record.shape is not None else ""
        out_dtype = f" ({record.output_dtype})" if record.output_dtype else ""
        lines.append(f"output{out_dtype}{shape}: {_values(record.output)}")
        lines.append(f"truth (rounded to dtype): {_values(record.truth_rounded)}")
        if record.truth is not None:
            lines.append(f"truth (exact): {_values(record.truth, limit=8)}")
    if record.abs_error is not None or record.rel_error is not None or record.ulp_error is not None:
        lines.append(f"error: abs {record.abs_error}  rel {record.rel_error}  ulp {record.ulp_error}")
    if record.tolerance:
        lines.append(f"tolerance: {_json(record.tolerance)}")
    if record.documented:
        lines.append(f"documented: {_json(record.documented)}")
    if record.expected_error:
        lines.append(f"expected error: {record.expected_error}")
    if record.error:
        lines.append(f"raised: {_json(record.error)}")
    if record.args:
        lines.append(f"args: {_json(record.args)}")
    return sanitize("\n".join(lines))


def _testcase(record: Record, strict: bool) -> tuple[ET.Element, str | None]:
    """One <testcase>; also returns which counter it adds to (failures/errors/skipped)."""
    tc = ET.Element(
        "testcase",
        {
            "classname": sanitize(f"{record.adapter}.{record.family}.{record.api}"),
            "name": sanitize(f"{record.case} [{record.dtype}/{record.device}]"),
            "time": "0",
        },
    )
    verdict = record.verdict
    message = record.message or ""
    if verdict == "fail":
        el = ET.SubElement(tc, "failure", {"type": "fail", "message": _message_attr(message or "wrong value")})
        el.text = detail(record)
        return tc, "failures"
    if verdict in ("error", "crash"):
        category = (record.error or {}).get("category") if isinstance(record.error, dict) else None
        kind = "crash" if verdict == "crash" else (category or "error")
        el = ET.SubElement(tc, "error", {"type": sanitize(kind), "message": _message_attr(message or verdict)})
        el.text = detail(record)
        return tc, "errors"
    if verdict == "skip":
        ET.SubElement(tc, "skipped", {"message": _message_attr(message or "skipped")})
        return tc, "skipped"
    if verdict == "xfail":
        reason = record.baseline_reason or _gate_line_stripped(message) or "expected failure"
        el = ET.SubElement(tc, "skipped", {"type": "xfail", "message": _message_attr(f"xfail: {reason}")})
        el.text = detail(record)
        return tc, "skipped"
    if verdict == "xpass":
        reason = record.baseline_reason or ""
        note = f"xpass: passed, but the baseline expects a failure ({reason}); update the baseline"
        if strict:
            el = ET.SubElement(tc, "failure", {"type": "xpass", "message": _message_attr(note)})
            el.text = detail(record)
            return tc, "failures"
        ET.SubElement(tc, "system-out").text = sanitize(note)
        return tc, None
    if verdict != "pass":
        # An unknown verdict must not pass silently in CI.
        el = ET.SubElement(tc, "error", {"type": "unknown-verdict", "message": _message_attr(f"unknown verdict {verdict!r}")})
        el.text = detail(record)
        return tc, "errors"
    return tc, None


def _properties(adapter: str, records: list[Record], results: Results) -> ET.Element | None:
    props: dict[str, str] = {}
    profiles = sorted({r.profile for r in records if r.profile})
    if profiles:
        props["profile"] = ", ".join(profiles)
    for env in environments(results):
        info = (env.get("adapters") or {}).get(adapter) if isinstance(env, dict) else None
        if isinstance(info, dict):
            for name, version in sorted((info.get("versions") or {}).items()):
                props.setdefault(f"version.{name}", str(version))
    if not props:
        return None
    el = ET.Element("properties")
    for name, value in props.items():
        ET.SubElement(el, "property", {"name": sanitize(name), "value": sanitize(value)})
    return el


def build_junit(results: Results, strict: bool = False) -> ET.Element:
    """The ``<testsuites>`` element for ``results`` (see the module docstring)."""
    by_adapter: dict[str, list[Record]] = {}
    for rec in sorted(results.records, key=lambda r: r.key):
        by_adapter.setdefault(rec.adapter, []).append(rec)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    root = ET.Element("testsuites", {"name": "crossentropy-conformance"})
    for adapter in sorted(by_adapter):
        records = by_adapter[adapter]
        counts = {"tests": len(records), "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(root, "testsuite", {"name": sanitize(adapter)})
        props = _properties(adapter, records, results)
        if props is not None:
            suite.append(props)
        for rec in records:
            tc, counter = _testcase(rec, strict)
            if counter:
                counts[counter] += 1
            suite.append(tc)
        for name, value in counts.items():
            suite.set(name, str(value))
            totals[name] += value
        suite.set("time", "0")
    for name, value in totals.items():
        root.set(name, str(value))
    root.set("time", "0")
    return root


def write_junit(results: Results, path: str | os.PathLike[str], strict: bool = False) -> Path:
    """Write ``results`` as JUnit XML to ``path``, atomically (whole or not at all).

    With ``strict``, an ``xpass`` is reported as a ``<failure>``, matching the gate's
    ``--strict`` exit code; otherwise it passes with a ``<system-out>`` note.
    """
    root = build_junit(results, strict=strict)
    ET.indent(root, space="  ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    return write_text_atomic(path, text)
