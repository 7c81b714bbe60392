"""The ``tf-keras`` adapter: Keras 2 from tf-keras, judged under the ``keras2`` profile."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _adapter_helpers import make_case, run_cell

from conformance.adapters.base import PortableError
from conformance.adapters.registry import load_adapter, resolve_class
from conformance.loader import load_cases

pytestmark = pytest.mark.tensorflow

REASON = resolve_class("tf-keras").unavailable_reason()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

CASES = load_cases()
# Plain Python lists carry no dtype: TensorFlow converts them to float32 whatever the
# case dtype, so only their float32 cells are meaningful.
DOCUMENTED = [(c, dt) for c in CASES if "documented" in c.tags for dt in c.dtypes
              if c.input_form == "array" or dt == "float32"]


@pytest.fixture(scope="module")
def k2():
    adapter = load_adapter("tf-keras")
    yield adapter
    adapter.close()


def test_is_keras2(k2):
    v = k2.versions()
    assert v["tf_keras"].startswith("2."), v
    assert k2.profile == "keras2"


@pytest.mark.parametrize(("case", "dtype"), DOCUMENTED, ids=[f"{c.id}-{dt}" for c, dt in DOCUMENTED])
def test_documented_case(k2, case, dtype):
    comparison, out, err = run_cell(k2, case, dtype)
    assert err is None, err.to_dict()  # Keras 2 accepts the documented plain lists
    assert comparison.verdict == "pass", comparison.message


def test_python_lists_are_float32_whatever_the_case_dtype(k2):
    case = next(c for c in CASES if c.id == "scce-doc-000-default")
    out = k2.run(case, "float64", "cpu")
    assert out.dtype == np.float32


def test_float64_arrays_stay_float64(k2):
    case = next(c for c in CASES if c.id == "scce-doc-002-class-default")
    out = k2.run(case, "float64", "cpu")
    assert out.dtype == np.float64


def _probs(n: int) -> list[list[float]]:
    return [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]][:n]


def test_auto_reduction(k2):
    case = make_case(args={"reduction": "auto"}, inputs={"y_true": [1, 2], "y_pred": _probs(2)})
    comparison, out, err = run_cell(k2, case, "float32")
    assert err is None and comparison.verdict == "pass", comparison.message
    assert abs(float(out) - 1.1769392) < 1e-6


def test_fully_ignored_batch_is_nan(k2):
    case = make_case(args={"ignore_class": -1}, inputs={"y_true": [-1, -1], "y_pred": _probs(2)})
    comparison, out, err = run_cell(k2, case, "float32")
    assert err is None
    assert math.isnan(float(out))
    assert comparison.verdict == "pass", comparison.message


def test_empty_batch_is_zero(k2):
    case = make_case(inputs={"y_true": {"generator": "full", "shape": [0], "value": 0},
                             "y_pred": {"generator": "full", "shape": [0, 3], "value": 0.5}})
    comparison, out, err = run_cell(k2, case, "float32")
    assert err is None, err
    assert float(out) == 0.0
    assert comparison.verdict == "pass", comparison.message


def test_mean_reduction_is_rejected(k2):
    case = make_case(args={"reduction": "mean"}, inputs={"y_true": [1], "y_pred": _probs(1)})
    with pytest.raises(PortableError) as info:
        k2.run(case, "float32", "cpu")
    assert info.value.category == "invalid_argument"


def test_metric_reset_states(k2):
    case = next(c for c in CASES if c.id == "scce-doc-003-metric")  # uses reset_states
    out = k2.run(case, "float32", "cpu")
    assert [round(float(v), 6) for v in out] == [1.176939, 1.627198]
