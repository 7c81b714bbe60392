"""Keras 3 on JAX, Torch and NumPy: each adapter in its own worker process.

A backend that is not installed is skipped with the reason (what to install).
"""

from __future__ import annotations

import numpy as np
import pytest
from _adapter_helpers import run_cell

from conformance.adapters.keras_backends import KerasJaxAdapter, _KerasBackendAdapter
from conformance.adapters.registry import AdapterLoadError, load_adapter, resolve_class
from conformance.loader import load_cases

CASES = load_cases()
DOCUMENTED = [c for c in CASES if "documented" in c.tags]
SPECS = ["keras-jax", "keras-torch", "keras-numpy"]


@pytest.fixture(scope="module", params=SPECS)
def backend(request):
    reason = resolve_class(request.param).unavailable_reason()
    if reason:
        pytest.skip(f"{request.param}: {reason}")
    adapter = load_adapter(request.param)
    yield adapter
    adapter.close()


def test_declares_generic_profile_and_backend(backend):
    assert backend.profile == "keras3-generic"
    v = backend.versions()
    assert v["keras"].startswith("3."), v
    assert v["backend"] == backend.name.split("-")[1]


def test_documented_cases_float32(backend):
    """Every documented case, float32: plain lists are rejected (Keras 3), the rest pass."""
    failures = []
    for case in DOCUMENTED:
        if "float32" not in case.dtypes or backend.skip_reason(case, "float32", "cpu"):
            continue
        comparison, out, err = run_cell(backend, case, "float32")
        if case.input_form == "python_list":
            if err is None or err.category != "invalid_input_type":
                failures.append(f"{case.id}: expected invalid_input_type, got {err.to_dict() if err else out}")
        elif comparison.verdict != "pass":
            failures.append(f"{case.id}: {comparison.verdict} {comparison.message}")
    assert not failures, "\n".join(failures)


def test_generic_sparse_path_normalises_then_clips(backend):
    """The R float64 function example prints 0.05129339 on TF; these backends give the
    categorical value 0.05129329 (normalise, then clip)."""
    case = next(c for c in CASES if c.id == "scce-doc-002-function")
    out = backend.run(case, "float64", "cpu")
    assert abs(float(np.asarray(out)[0]) - 0.05129329438755058) < 1e-9


def test_gpu_skipped_with_reason(backend):
    reason = backend.device_unavailable("gpu")
    if "gpu" not in backend.devices:
        assert reason == f"{backend.name} does not run on gpu"
    elif reason is not None:
        assert "no GPU visible" in reason


def test_jax_float64_documented_cases_pass():
    if KerasJaxAdapter.unavailable_reason():
        pytest.skip(KerasJaxAdapter.unavailable_reason())
    with load_adapter("keras-jax") as jax_adapter:
        assert jax_adapter.versions()["jax_enable_x64"] == "true"
        for case in DOCUMENTED:
            if case.input_form != "array" or "float64" not in case.dtypes:
                continue
            if jax_adapter.skip_reason(case, "float64", "cpu"):
                continue
            comparison, out, err = run_cell(jax_adapter, case, "float64")
            assert err is None and comparison.verdict == "pass", (case.id, comparison.message)


def test_missing_backend_is_reported_not_crashed(monkeypatch):
    class KerasNoSuchBackend(_KerasBackendAdapter):
        name = "keras-nosuch"
        backend = "nosuch"
        framework = "no_such_framework_xyz"
        extra = "nosuch"

    reason = KerasNoSuchBackend.unavailable_reason()
    assert reason and "no_such_framework_xyz not installed" in reason and "pip install" in reason
    import conformance.adapters.registry as registry

    monkeypatch.setitem(registry.BUILTIN, "keras-nosuch", f"{__name__}:KerasNoSuchBackend")
    monkeypatch.setitem(globals(), "KerasNoSuchBackend", KerasNoSuchBackend)
    with pytest.raises(AdapterLoadError, match="no_such_framework_xyz not installed"):
        load_adapter("keras-nosuch")
