"""The runner's verdicts for every way an adapter can behave, on the real seed cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conformance.adapters.base import Adapter, Crash, PortableError
from conformance.case import Case, Expectation
from conformance.loader import load_cases
from conformance.oracle import truth
from conformance.runner import Cell, RunOptions, TruthCache, plan, run, run_cell

from pathlib import Path

CASES = Path(__file__).resolve().parent.parent / "cases"


@pytest.fixture(scope="module")
def seed_cases() -> dict[str, Case]:
    return {c.id: c for c in load_cases([CASES / "sparse_categorical_crossentropy.yaml",
                                         CASES / "categorical_crossentropy.yaml"])}


class Scripted(Adapter):
    """An adapter whose behaviour a test sets: return a value, raise, or crash."""

    name = "scripted"

    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        if isinstance(self.behaviour, BaseException):
            raise self.behaviour
        if callable(self.behaviour):
            return self.behaviour(case, dtype)
        return self.behaviour


def rounded(case: Case, dtype: str) -> np.ndarray:
    return truth(case, dtype, "keras3-tensorflow").rounded()


def cell(case: Case, adapter: Adapter, dtype: str = "float32") -> Any:
    return run_cell(Cell(case, adapter, dtype, "cpu"), TruthCache())


def test_exact_output_passes_with_zero_ulp(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-002-class-none"], Scripted(rounded))
    assert rec.verdict == "pass"
    assert rec.shape == [2]
    assert rec.output == ["0.051293395", "2.3025851"]
    assert rec.truth[0].startswith("0.0512933")
    assert rec.ulp_error <= 0.5
    assert rec.documented["check"] == "pass"


def test_one_ulp_off_passes_and_a_thousand_fails(seed_cases: dict[str, Case]) -> None:
    case = seed_cases["scce-doc-002-class-default"]
    t = rounded(case, "float32")
    one = Scripted(lambda c, d: np.nextafter(t, np.float32(np.inf)))
    rec = cell(case, one)
    assert rec.verdict == "pass"
    assert 0.5 <= rec.ulp_error <= 1.5
    far = Scripted(lambda c, d: t + np.float32(1000) * np.spacing(t))
    rec = cell(case, far)
    assert rec.verdict == "fail"
    assert "exceeds 16 ULP" in rec.message
    assert 999 <= rec.ulp_error <= 1001


def test_nan_where_a_number_is_due_fails_with_the_reason(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-002-class-default"], Scripted(np.float32("nan")))
    assert rec.verdict == "fail"
    assert "expected a finite value, got nan" in rec.message
    assert rec.ulp_error is None  # JSON has no infinity


def test_wrong_shape_fails(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-002-class-none"], Scripted(np.float32(1.0)))
    assert rec.verdict == "fail"
    assert "shape" in rec.message


def test_portable_error_where_a_value_is_due_is_an_error(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-000-default"],
               Scripted(PortableError("invalid_input_type", "lists", "ValueError")))
    assert rec.verdict == "error"
    assert rec.error == {"category": "invalid_input_type", "type": "ValueError", "message": "lists"}
    assert "invalid_input_type" in rec.message
    # Keras 3 profiles reject the documented plain lists: the message calls it a finding.
    assert rec.message.startswith("finding: the documented snippet passes plain Python lists")
    assert rec.documented["check"] == "not-run"


def test_crash_is_recorded_with_its_cause(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-002-class-default"], Scripted(Crash("worker died with SIGSEGV")))
    assert rec.verdict == "crash"
    assert rec.message == "worker died with SIGSEGV"


def test_a_bug_in_the_adapter_is_an_error_of_category_other(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-002-class-default"], Scripted(ZeroDivisionError("oops")))
    assert rec.verdict == "error"
    assert rec.error["category"] == "other"
    assert "the adapter itself raised" in rec.error["message"] and "test_runner.py" in rec.error["message"]


def test_expected_error_raised_passes_and_a_value_fails(seed_cases: dict[str, Case]) -> None:
    base = seed_cases["scce-doc-002-class-default"]
    must_raise = Case(**{**base.__dict__, "id": "scce-test-must-raise",
                         "expect": {"default": Expectation("error", error="invalid_label", reason="test")}})
    ok = cell(must_raise, Scripted(PortableError("invalid_label", "label 3 out of range")))
    assert ok.verdict == "pass" and ok.expected_error == "invalid_label"
    wrong = cell(must_raise, Scripted(PortableError("shape_mismatch", "bad shape")))
    assert wrong.verdict == "error" and "expected invalid_label, got shape_mismatch" in wrong.message
    silent = cell(must_raise, Scripted(np.float32(1.0)))
    assert silent.verdict == "fail" and "returned a value" in silent.message


def test_undefined_behaviour_is_skipped_without_running(seed_cases: dict[str, Case]) -> None:
    base = seed_cases["scce-doc-002-class-default"]
    undefined = Case(**{**base.__dict__, "id": "scce-test-undefined",
                        "expect": {"keras3-tensorflow": Expectation("undefined", reason="GPU gives NaN")}})
    rec = cell(undefined, Scripted(AssertionError("must not be called")))
    assert rec.verdict == "skip"
    assert "implementation-defined under keras3-tensorflow: GPU gives NaN" == rec.message


def test_capability_skip_carries_the_reason(seed_cases: dict[str, Case]) -> None:
    rec = cell(seed_cases["scce-doc-000-compile"], Scripted(rounded))
    assert rec.verdict == "skip"
    assert rec.message == "scripted does not implement the compile_loss API"


def test_plan_respects_case_dtypes_and_devices(seed_cases: dict[str, Case]) -> None:
    cases = list(seed_cases.values())
    a = Scripted(rounded)
    cells = plan(cases, [a], RunOptions())
    assert len(cells) == sum(len(c.dtypes) for c in cases)
    only64 = plan(cases, [a], RunOptions(dtypes=["float64"], devices=["cpu", "gpu"]))
    assert {c.dtype for c in only64} == {"float64"}
    assert {c.device for c in only64} == {"cpu", "gpu"}
    assert all("float64" in c.case.dtypes for c in only64)


def test_run_collects_environment_and_records(seed_cases: dict[str, Case]) -> None:
    results = run(list(seed_cases.values()), [Scripted(rounded)], show_progress=False)
    assert results.environment["adapters"]["scripted"]["profile"] == "keras3-tensorflow"
    assert "finished" in results.environment
    verdicts = {r.verdict for r in results.records}
    assert verdicts <= {"pass", "skip"}
    runnable = sum(len(c.dtypes) for c in seed_cases.values() if not c.api.startswith("compile"))
    assert runnable >= 30
    assert sum(r.verdict == "pass" for r in results.records) == runnable
