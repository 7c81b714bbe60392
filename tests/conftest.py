"""Shared fixtures. Fixtures of the HTML report tests are prefixed ``html_``."""

from __future__ import annotations

import pytest

from conformance.results import Record, Results


def html_scce_truth(y_true: list[int], y_pred: list[list[float]], dtype: str) -> str:
    """The exact mean sparse crossentropy (probabilities, Keras' renormalisation) of the
    inputs rounded to ``dtype``, to 45 significant digits."""
    import mpmath
    import numpy as np

    from conformance.case import numpy_dtype

    mpmath.mp.dps = 60
    rows = np.asarray(y_pred, dtype=numpy_dtype(dtype)).astype(np.float64)
    losses = [-mpmath.log(mpmath.mpf(float(r[t])) / mpmath.fsum(mpmath.mpf(float(v)) for v in r)) for t, r in zip(y_true, rows)]
    return mpmath.nstr(mpmath.fsum(losses) / len(losses), 45, strip_zeros=False)


def html_inputs(y_true: list, y_pred: list, dtype: str, sample_weight: list | None = None) -> dict:
    """Inputs as the runner records them: floats as shortest decimals of their dtype."""
    import numpy as np

    from conformance.case import numpy_dtype

    def arr(a: list | None) -> list | None:
        if a is None:
            return None
        return np.vectorize(str, otypes=[object])(np.asarray(a, dtype=numpy_dtype(dtype))).tolist()

    return {"y_true": y_true, "y_pred": arr(y_pred), "sample_weight": arr(sample_weight),
            "y_true_dtype": "int64", "y_pred_dtype": dtype}


def html_record(case: str, verdict: str, **kw) -> Record:
    """One realistic record; keyword arguments override any field."""
    y_true, y_pred = [1, 2], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    dtype = kw.get("dtype", "float32")
    truth = html_scce_truth(y_true, y_pred, dtype)
    fields = dict(
        case=case,
        family="sparse_categorical_crossentropy",
        api="loss_class",
        title=f"title of {case}",
        tags=["documented", "probabilities"],
        adapter="numpy",
        profile="keras3-tensorflow",
        dtype=dtype,
        device="cpu",
        verdict=verdict,
        location=f"cases/scce.yaml:{10 + len(case)}",
        args={"from_logits": False, "axis": -1, "ignore_class": None, "reduction": "sum_over_batch_size"},
        inputs=html_inputs(y_true, y_pred, dtype),
        truth=[truth],
        truth_rounded=[repr(float(truth))] if dtype == "float64" else ["1.1769392"],
        tolerance={"ulp": 16.0, "abs": 2.0**-24, "source": "default"},
    )
    if verdict in ("pass", "fail", "xfail", "xpass"):
        fields.update(output=["1.1769392"], output_dtype=dtype, shape=[], abs_error=1.0e-8, rel_error=8.5e-9, ulp_error=0.25)
    fields.update(kw)
    return Record(**fields)


@pytest.fixture
def html_results() -> Results:
    """Two runs' worth of records (numpy and tensorflow, float32 and float64) covering
    every verdict, with documented values, exceptions and a gated xfail/xpass."""
    R = html_record
    doc = {"seed": "keras-docs/losses.md", "section": "SparseCategoricalCrossentropy / Standalone usage",
           "dtype": "float32", "printed": ["1.177"], "digits": [4], "check": "pass", "max_diff": 6.08e-05}
    P = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    fn_args = {"from_logits": False, "axis": -1, "ignore_class": None}
    records = [
        R("scce-doc-basic", "pass", documented=doc),
        R("scce-doc-basic", "pass", dtype="float64", output=["1.1769392490386963"], ulp_error=3.0),
        R("scce-doc-basic", "pass", adapter="tensorflow"),
        R("scce-doc-basic", "fail", adapter="tensorflow", dtype="float64", output=["1.1769391298294067"],
          abs_error=1.19e-07, rel_error=1.0e-07, ulp_error=536870912.0, message="outside tolerance: 5.4e+08 ULP > 16"),
        R("scce-fn-logits", "fail", api="loss_function", tags=["logits", "extreme-logits"], output=["inf"], args=fn_args,
          abs_error="inf", rel_error="inf", ulp_error="inf", message="non-finite output for a finite truth"),
        R("scce-fn-logits", "pass", api="loss_function", tags=["logits", "extreme-logits"], adapter="tensorflow", args=fn_args),
        R("scce-label-oob", "error", tags=["out-of-range-label", "error"], expected_error="invalid_label",
          inputs=html_inputs([3, 0], P, "float32"), truth=None, truth_rounded=None,
          error={"category": "other", "type": "IndexError", "message": "index 3 is out of bounds for axis 1 with size 3"},
          message="expected invalid_label, got other (IndexError)"),
        R("scce-label-oob", "crash", tags=["out-of-range-label", "error"], adapter="tensorflow", expected_error="invalid_label",
          truth=None, truth_rounded=None, message="worker died: signal 11 (SIGSEGV)"),
        R("scce-metric-steps", "pass", api="metric", tags=["metric-state"], inputs={"steps": [
            {"update_state": html_inputs([1, 2], P, "float32")}, "result", "reset_state",
            {"update_state": html_inputs([1, 2], P, "float32", [0.25, 0.75])}, "result"]},
          args={"from_logits": False, "axis": -1, "ignore_class": None}),
        R("scce-metric-steps", "skip", api="metric", tags=["metric-state"], dtype="bfloat16", truth=None,
          truth_rounded=None, message="dtype bfloat16 not supported by this adapter"),
        R("scce-weighted", "xfail", tags=["sample-weight"], adapter="tensorflow", original_verdict="fail",
          baseline_reason="TF computes in float32 (keras#123)", message="[baseline] expected fail, got fail: keras#123",
          inputs=html_inputs([1, 2], P, "float32", [1.0, 1.0]), ulp_error=40.0),
        R("scce-weighted", "xpass", tags=["sample-weight"], original_verdict="pass", baseline_reason="was wrong before",
          message="[baseline] expected fail, got pass: was wrong before",
          inputs=html_inputs([1, 2], P, "float32", [1.0, 1.0])),
    ]
    runs = [
        Results(environment={"conformance": "0.1.0", "python": "3.11.9", "platform": "Linux-6.1-x86_64", "numpy": "2.4.6",
                             "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00",
                             "adapters": {"numpy": {"profile": "keras3-tensorflow", "versions": {"numpy": "2.4.6"}}}},
                records=[r for r in records if r.adapter == "numpy"]),
        Results(environment={"conformance": "0.1.0", "python": "3.12.1", "platform": "macOS-14-arm64", "device": "cpu",
                             "started": "2026-01-02T00:00:00+00:00",
                             "adapters": {"tensorflow": {"profile": "keras3-tensorflow",
                                                         "versions": {"tensorflow": "2.21.0", "keras": "3.15.1"}}}},
                records=[r for r in records if r.adapter == "tensorflow"]),
    ]
    from conformance.results import merge

    return merge(runs)
