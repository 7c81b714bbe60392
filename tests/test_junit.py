"""Tests of the JUnit XML reporter: parsed back with ElementTree, as a CI system reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.gate import apply_baseline, validate_baseline
from conformance.reporters.junit import sanitize, write_junit
from conformance.results import Record, Results


def rec(case: str, verdict: str, *, adapter: str = "numpy", dtype: str = "float32", device: str = "cpu", **kw) -> Record:
    fields = dict(
        case=case,
        family="categorical_crossentropy",
        api="loss_function",
        title=f"title of {case}",
        tags=[],
        adapter=adapter,
        profile="keras3-generic",
        dtype=dtype,
        device=device,
        verdict=verdict,
    )
    fields.update(kw)
    return Record(**fields)


def results_of(*records: Record, environment: dict | None = None) -> Results:
    return Results(environment=environment or {}, records=list(records))


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def counts(el: ET.Element) -> dict[str, str]:
    return {k: el.get(k) for k in ("tests", "failures", "errors", "skipped")}


def case_el(root: ET.Element, name: str) -> ET.Element:
    (found,) = [tc for tc in root.iter("testcase") if tc.get("name") == name]
    return found


def _mixed() -> Results:
    return results_of(
        rec("cce-pass", "pass"),
        rec(
            "cce-wrong",
            "fail",
            output=["0.3239684"],
            truth_rounded=["0.32396814"],
            truth=["0.3239681339263916015625000000000000000001"],
            abs_error=2.6e-8,
            rel_error=8.0e-8,
            ulp_error=3.0,
            tolerance={"ulp": 2},
            message="3 ULP > 2 ULP allowed",
        ),
        rec("cce-raise", "error", error={"category": "other", "type": "RuntimeError", "message": "boom"},
            message="unexpected RuntimeError: boom"),
        rec("cce-skip", "skip", message="numpy does not support dtype bfloat16", dtype="bfloat16"),
        rec("cce-crash", "crash", adapter="tensorflow", message="worker died (SIGSEGV)"),
        rec("cce-pass", "pass", adapter="tensorflow"),
        environment={"adapters": {"tensorflow": {"profile": "keras3-tensorflow", "versions": {"tensorflow": "2.21.0"}}}},
    )


def test_structure_names_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(_mixed(), path)
    root = parse(path)
    assert root.tag == "testsuites"
    assert counts(root) == {"tests": "6", "failures": "1", "errors": "2", "skipped": "1"}
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"numpy", "tensorflow"}
    assert counts(suites["numpy"]) == {"tests": "4", "failures": "1", "errors": "1", "skipped": "1"}
    assert counts(suites["tensorflow"]) == {"tests": "2", "failures": "0", "errors": "1", "skipped": "0"}
    # the counts agree with the elements, as CI systems recount them
    for suite in suites.values():
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))
    tc = case_el(suites["numpy"], "cce-wrong [float32/cpu]")
    assert tc.get("classname") == "numpy.categorical_crossentropy.loss_function"
    assert tc.get("time") == "0"
    props = {p.get("name"): p.get("value") for p in suites["tensorflow"].iter("property")}
    assert props == {"profile": "keras3-generic", "version.tensorflow": "2.21.0"}


def test_failure_error_crash_and_skip_elements(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(_mixed(), path)
    root = parse(path)
    failure = case_el(root, "cce-wrong [float32/cpu]").find("failure")
    assert failure is not None
    assert failure.get("message") == "3 ULP > 2 ULP allowed"
    assert "cce-wrong" in failure.text
    assert "output: [0.3239684]" in failure.text
    assert "truth (rounded to dtype): [0.32396814]" in failure.text
    assert "ulp 3.0" in failure.text and '"ulp": 2' in failure.text
    error = case_el(root, "cce-raise [float32/cpu]").find("error")
    assert error.get("type") == "other" and "RuntimeError" in error.text
    tf = [s for s in root.findall("testsuite") if s.get("name") == "tensorflow"][0]
    crash = case_el(tf, "cce-crash [float32/cpu]").find("error")
    assert crash.get("type") == "crash" and crash.get("message") == "worker died (SIGSEGV)"
    skipped = case_el(root, "cce-skip [bfloat16/cpu]").find("skipped")
    assert skipped.get("message") == "numpy does not support dtype bfloat16"
    numpy_suite = [s for s in root.findall("testsuite") if s.get("name") == "numpy"][0]
    assert list(case_el(numpy_suite, "cce-pass [float32/cpu]")) == []


def test_xfail_is_skipped_and_xpass_depends_on_strict(tmp_path: Path) -> None:
    run = results_of(rec("known", "fail", ulp_error=3.0, message="3 ULP"), rec("fixed", "pass"))
    base = validate_baseline(
        results_of(rec("known", "fail", ulp_error=3.0, baseline_reason="tf#1 float32 accumulation"),
                   rec("fixed", "error", baseline_reason="keras#2")),
    )
    gated = apply_baseline(run, base)

    lax = tmp_path / "lax.xml"
    write_junit(gated, lax)
    root = parse(lax)
    assert counts(root) == {"tests": "2", "failures": "0", "errors": "0", "skipped": "1"}
    skipped = case_el(root, "known [float32/cpu]").find("skipped")
    assert skipped.get("message") == "xfail: tf#1 float32 accumulation"
    assert "original verdict: fail" in skipped.text
    fixed = case_el(root, "fixed [float32/cpu]")
    assert fixed.find("failure") is None
    assert "keras#2" in fixed.find("system-out").text

    strict = tmp_path / "strict.xml"
    write_junit(gated, strict, strict=True)
    root = parse(strict)
    assert counts(root) == {"tests": "2", "failures": "1", "errors": "0", "skipped": "1"}
    failure = case_el(root, "fixed [float32/cpu]").find("failure")
    assert failure.get("type") == "xpass" and "keras#2" in failure.get("message")


def test_illegal_xml_characters_are_escaped(tmp_path: Path) -> None:
    nasty = "bad\x00byte\x1b[31m and \ud800 surrogate\nsecond line"
    path = tmp_path / "junit.xml"
    write_junit(results_of(rec("weird\x07id", "error", message=nasty, error={"category": "other", "message": nasty})), path)
    root = parse(path)  # would raise on an illegal character
    tc = root.find("testsuite/testcase")
    assert tc.get("name") == "weird\\x07id [float32/cpu]"
    error = tc.find("error")
    assert error.get("message") == "bad\\x00byte\\x1b[31m and \\ud800 surrogate"
    assert "second line" in error.text
    assert sanitize("tab\tnewline\n ok é 𝔘") == "tab\tnewline\n ok é 𝔘"


def test_written_atomically_and_empty_results(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "junit.xml"
    write_junit(results_of(), path)
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert counts(parse(path)) == {"tests": "0", "failures": "0", "errors": "0", "skipped": "0"}
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]  # no temporary left behind
