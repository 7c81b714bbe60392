"""The ``tensorflow`` adapter against real TensorFlow (Keras 3 through tf.keras).

Every documented case of ``cases/*.yaml`` runs through the adapter in its worker process
and is judged against the mpmath oracle under the ``keras3-tensorflow`` profile. One
worker serves the whole module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _adapter_helpers import make_case, run_cell

from conformance.adapters.base import PortableError
from conformance.adapters.errors import to_portable
from conformance.adapters.registry import load_adapter, resolve_class
from conformance.compare import check_documented, tolerance_for
from conformance.loader import load_cases
from conformance.oracle import truth

pytestmark = pytest.mark.tensorflow

REASON = resolve_class("tensorflow").unavailable_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

CASES = load_cases()
DOCUMENTED = [(c, dt) for c in CASES if "documented" in c.tags for dt in c.dtypes]


def _id(param: object) -> str:
    return getattr(param, "id", str(param))


@pytest.fixture(scope="module")
def tf_adapter():
    adapter = load_adapter("tensorflow")
    yield adapter
    adapter.close()


def test_declarations_and_versions(tf_adapter):
    assert tf_adapter.name == "tensorflow"
    assert tf_adapter.profile == "keras3-tensorflow"
    assert tf_adapter.devices == ("cpu", "gpu")
    v = tf_adapter.versions()
    assert v["keras"].startswith("3."), v
    assert "tensorflow" in v


@pytest.mark.parametrize(("case", "dtype"), DOCUMENTED, ids=[f"{c.id}-{dt}" for c, dt in DOCUMENTED])
def test_documented_case(tf_adapter, case, dtype):
    assert tf_adapter.skip_reason(case, dtype, "cpu") is None
    comparison, out, err = run_cell(tf_adapter, case, dtype)
    if case.input_form == "python_list":
        # The documented snippet passes plain lists; Keras 3 rejects them (keras#21426).
        assert err is not None, f"Keras 3 accepted plain lists: {out!r}"
        assert err.category == "invalid_input_type", err.to_dict()
        return
    assert err is None, err.to_dict()
    assert comparison.verdict == "pass", comparison.message
    # The output keeps the case dtype (loss classes are built with dtype=).
    values = out if isinstance(out, list) else [out]
    for v in values:
        assert str(np.asarray(v).dtype) == dtype
    # The printed value of the document, at its printed precision.
    shown = comparison.output
    doc = check_documented(case, dtype, shown, truth(case, dtype, "keras3-tensorflow"), tolerance_for(case, dtype))
    if doc is not None and doc["check"] not in ("other-dtype", "no-value"):
        assert doc["check"] == "pass", doc


def test_float64_stays_float64(tf_adapter):
    case = next(c for c in CASES if c.id == "scce-doc-002-class-default")
    out = tf_adapter.run(case, "float64", "cpu")
    assert out.dtype == np.float64
    # 1.1769392436907955 is the float64 TF result; float32 would be 1.1769392...e0 rounded.
    assert abs(float(out) - 1.1769392436907955) < 1e-15


def test_gpu_is_skipped_with_a_reason(tf_adapter):
    case = next(c for c in CASES if c.id == "scce-doc-002-class-default")
    reason = tf_adapter.device_unavailable("gpu")
    if reason is None:  # a GPU is visible: the case runs there
        comparison, _, err = run_cell(tf_adapter, case, "float32", "gpu")
        assert err is None and comparison.verdict == "pass", comparison.message
        return
    assert "GPU" in reason
    assert tf_adapter.skip_reason(case, "float32", "gpu") == reason
    assert tf_adapter.device_unavailable("tpu") == "tensorflow does not run on tpu"


def test_metric_returns_one_value_per_result(tf_adapter):
    case = next(c for c in CASES if c.id == "scce-derived-003-metric-arrays")
    out = tf_adapter.run(case, "float32", "cpu")
    assert isinstance(out, list) and len(out) == 2
    assert [round(float(v), 6) for v in out] == [1.176939, 1.627198]


def test_compile_returns_the_evaluated_scalar(tf_adapter):
    case = next(c for c in CASES if c.id == "scce-doc-003-compile")
    out = tf_adapter.run(case, "float32", "cpu")
    assert np.asarray(out).shape == () and out.dtype == np.float32
    assert abs(float(out) - 1.1769392) < 1e-6


def test_config_round_trip_is_json(tf_adapter):
    case = make_case(id="adhoc-config", check="config", args={"from_logits": True, "ignore_class": 3},
                     inputs={"y_true": [0], "y_pred": [[0.5, 0.5]]}, tags=("config",))
    out = tf_adapter.run(case, "float32", "cpu")
    json.dumps(out)
    assert out["config"] == out["roundtrip"]
    assert out["config"]["from_logits"] is True and out["config"]["ignore_class"] == 3


# ----------------------------------------------------------------------------- error mapping
ERROR_CASES = [
    ("out-of-range label (CPU kernel)", "invalid_label",
     dict(api="loss_function", inputs={"y_true": [0, 3], "y_pred": [[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]})),
    ("negative label", "invalid_label",
     dict(api="loss_class", inputs={"y_true": [-1, 1], "y_pred": [[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]})),
    ("Keras 2 reduction 'auto'", "invalid_argument",
     dict(args={"reduction": "auto"}, inputs={"y_true": [0], "y_pred": [[0.5, 0.5]]})),
    ("axis=0 on the TF sparse path", "invalid_argument",
     dict(api="loss_function", args={"axis": 0}, inputs={"y_true": [0, 1], "y_pred": [[0.5, 0.5], [0.2, 0.8]]})),
    ("categorical shapes differ", "shape_mismatch",
     dict(family="categorical_crossentropy", inputs={"y_true": [[1.0], [0.0], [0.0]],
                                                     "y_pred": [[0.2, 0.3, 0.5]] * 3})),
    ("sparse labels do not match the batch", "shape_mismatch",
     dict(api="loss_function", inputs={"y_true": [0, 1, 2], "y_pred": [[0.5, 0.5], [0.2, 0.8]]})),
    ("plain lists into the metric", "invalid_input_type",
     dict(api="metric", input_form="python_list",
          steps=({"update_state": {"y_true": [1], "y_pred": [[0.1, 0.9]]}}, "result"))),
]


@pytest.mark.parametrize(("what", "category", "kw"), ERROR_CASES, ids=[e[0] for e in ERROR_CASES])
def test_real_exceptions_map_to_portable_categories(tf_adapter, what, category, kw):
    case = make_case(id=f"adhoc-{category}", **kw)
    with pytest.raises(PortableError) as info:
        tf_adapter.run(case, "float32", "cpu")
    assert info.value.category == category, info.value.to_dict()
    assert info.value.exc_type  # the original exception type is kept for the report
    # Where the oracle knows the error too, the verdict is pass.
    t = truth(case, "float32", "keras3-tensorflow")
    if t.kind == "error":
        assert t.error == category


def test_error_rules_on_tensorflow_exception_classes():
    tf = pytest.importorskip("tensorflow")
    exc = tf.errors.InvalidArgumentError(None, None, "Received a label value of 3 which is outside the valid range of [0, 3).")
    p = to_portable(exc)
    assert p.category == "invalid_label" and p.exc_type == "tensorflow.errors.InvalidArgumentError"
