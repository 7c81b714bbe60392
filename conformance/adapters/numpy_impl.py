"""Adapters for the package's own numpy implementation (:mod:`conformance.numpy_impl`).

Three adapters, one per semantic profile: ``numpy`` (``keras3-tensorflow``, the embedded
default), ``numpy-generic`` (``keras3-generic``) and ``numpy-keras2`` (``keras2``). They
import no framework, so they run in-process (``isolated = False``).

Output contract (as every adapter): loss cases return the value as a numpy array in the
dtype the API returned; metric cases a list with one value per ``result`` step (a
scalar for a metric case given as plain ``inputs``: one update, then the result);
``check: config`` cases ``{"config": ..., "roundtrip": ...}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from conformance.adapters.base import Adapter, PortableError
from conformance.adapters.errors import to_portable
from conformance.case import Case, Inputs, case_args


class NumpyAdapter(Adapter):
    """The numpy implementation under the ``keras3-tensorflow`` profile."""

    name: ClassVar[str] = "numpy"
    profile: ClassVar[str] = "keras3-tensorflow"
    dtypes: ClassVar[tuple[str, ...]] = ("bfloat16", "float16", "float32", "float64")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    apis: ClassVar[tuple[str, ...]] = ("loss_class", "loss_function", "metric")
    isolated: ClassVar[bool] = False
    description: ClassVar[str] = "the package's own numpy implementation (reference semantics of the profile)"

    def __init__(self) -> None:
        from conformance import numpy_impl

        self._api = numpy_impl.api_for(self.profile)

    def versions(self) -> dict[str, str]:
        from conformance import numpy_impl

        return {
            "numpy": np.__version__,
            "implementation": numpy_impl.IMPLEMENTATION,
            "profile": self.profile,
            "float64 work precision": "longdouble (80-bit)" if numpy_impl.EXTENDED_LONGDOUBLE else "float64",
        }

    def skip_reason(self, case: Case, dtype: str, device: str) -> str | None:
        if case.api in ("compile_loss", "compile_metric"):
            return "no model.compile in the numpy implementation"
        return super().skip_reason(case, dtype, device)

    # ------------------------------------------------------------------ running
    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        """Run ``case`` in ``dtype``; an exception of the implementation comes out as
        :class:`PortableError`."""
        try:
            if case.check == "config":
                return self._config(case, dtype)
            if case.api == "loss_class":
                return self._loss_class(case, dtype)
            if case.api == "loss_function":
                return self._loss_function(case, dtype)
            if case.api == "metric":
                return self._metric(case, dtype)
        except PortableError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every implementation error is mapped
            raise to_portable(exc) from exc
        raise PortableError("invalid_argument", f"the numpy implementation has no {case.api} API", exc_type="NotImplementedError")

    # ------------------------------------------------------------------ construction
    def _make_loss(self, case: Case, dtype: str) -> Any:
        kwargs = case_args(case)
        return getattr(self._api, case.class_name)(dtype=dtype, **kwargs)

    def _make_metric(self, case: Case, dtype: str) -> Any:
        kwargs = case_args(case)
        kwargs.pop("reduction", None)
        return getattr(self._api.metrics, case.class_name)(dtype=dtype, **kwargs)

    @staticmethod
    def _call_args(case: Case, x: Inputs) -> tuple[Any, Any, Any]:
        """(y_true, y_pred, sample_weight) as arrays, or as plain nested lists for
        ``input_form: python_list`` (the numpy implementation accepts both)."""
        if case.input_form == "python_list":
            p = x.as_python()
            return p["y_true"], p["y_pred"], p["sample_weight"]
        return x.y_true, x.y_pred, x.sample_weight

    # ------------------------------------------------------------------ the APIs
    def _loss_class(self, case: Case, dtype: str) -> np.ndarray:
        loss = self._make_loss(case, dtype)
        y_true, y_pred, sw = self._call_args(case, case.call_inputs(dtype))
        return np.asarray(loss(y_true, y_pred, sample_weight=sw))

    def _loss_function(self, case: Case, dtype: str) -> np.ndarray:
        fn = getattr(self._api, case.family)
        kwargs = case_args(case)
        kwargs.pop("reduction", None)
        y_true, y_pred, _ = self._call_args(case, case.call_inputs(dtype))
        # The function keeps y_pred's dtype; the case's dtype is the compute dtype (for
        # lists, and for a case whose inputs are materialized in another input_dtype).
        return np.asarray(fn(y_true, y_pred, dtype=dtype, **kwargs))

    def _metric(self, case: Case, dtype: str) -> Any:
        metric = self._make_metric(case, dtype)
        if case.steps is None:  # one batch, reported as a scalar
            y_true, y_pred, sw = self._call_args(case, case.call_inputs(dtype))
            metric.update_state(y_true, y_pred, sample_weight=sw)
            return np.asarray(metric.result())
        results: list[np.ndarray] = []
        for step in case.metric_steps(dtype):
            if step.op == "reset_state":
                metric.reset_state()
            elif step.op == "result":
                results.append(np.asarray(metric.result()))
            else:
                assert step.inputs is not None
                y_true, y_pred, sw = self._call_args(case, step.inputs)
                metric.update_state(y_true, y_pred, sample_weight=sw)
        return results

    def _config(self, case: Case, dtype: str) -> dict[str, Any]:
        obj = self._make_metric(case, dtype) if case.is_metric else self._make_loss(case, dtype)
        config = obj.get_config()
        return {"config": config, "roundtrip": type(obj).from_config(config).get_config()}


class NumpyGenericAdapter(NumpyAdapter):
    """The numpy implementation under the ``keras3-generic`` profile (JAX/NumPy/Torch)."""

    name = "numpy-generic"
    profile = "keras3-generic"
    description = "the package's own numpy implementation, Keras 3 JAX/NumPy/Torch semantics"


class NumpyKeras2Adapter(NumpyAdapter):
    """The numpy implementation under the ``keras2`` profile (tf-keras)."""

    name = "numpy-keras2"
    profile = "keras2"
    description = "the package's own numpy implementation, Keras 2 (tf-keras) semantics"
