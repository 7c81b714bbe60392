"""Code shared by the adapters that drive a Keras (3 or 2) API: build the loss or metric
from a case, call it as the documentation does, and return the outputs in the adapter
output contract.

``keras`` below is the Keras module the adapter imported: ``tf.keras`` (Keras 3 through
TensorFlow), the standalone ``keras`` package on its JAX / Torch / NumPy backend, or
``tf_keras`` (Keras 2). Nothing here imports a framework.

Output contract (the runner relies on it):

* loss cases: the value as a numpy array in the dtype the API returned (never cast);
* metric cases: a list with one numpy value per ``result`` step;
* ``check: config`` cases: ``{"config": ..., "roundtrip": ...}`` with JSON-able values;
* ``compile_loss`` / ``compile_metric``: the value ``model.evaluate`` reports for one
  batch holding the whole input, as a numpy scalar in the case dtype (``evaluate`` hands
  back Python floats; converting a float32 value back to float32 is exact).
"""

from __future__ import annotations

import contextlib
import inspect
import math
from typing import Any, Callable, ContextManager, Mapping

import numpy as np

from conformance.adapters.base import PortableError
from conformance.adapters.errors import to_portable
from conformance.case import Case, Inputs, case_args, numpy_dtype

#: Arguments case_args() fills in with Keras' defaults: they may be dropped when an API
#: version does not take them (Keras 2's SparseCategoricalCrossentropy class has no
#: ``axis``), but a non-default value is always passed, so that the API rejects it.
_DEFAULTS: dict[str, Any] = {
    "from_logits": False,
    "axis": -1,
    "ignore_class": None,
    "label_smoothing": 0.0,
    "reduction": "sum_over_batch_size",
}


def accepted_kwargs(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` less the default-valued ones that ``fn`` does not accept."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(kwargs)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    out = {}
    for key, value in kwargs.items():
        if key not in params and key in _DEFAULTS and _same(value, _DEFAULTS[key]):
            continue
        out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def to_numpy(value: Any) -> np.ndarray:
    """A framework tensor (or Python scalar) as a numpy array, dtype unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch: may be on GPU or need grad
        t = value.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":  # numpy has no bfloat16: go through float32, exactly
            return t.float().numpy().astype(numpy_dtype("bfloat16"))
        return np.asarray(t.numpy())
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def json_safe(value: Any) -> Any:
    """A config value as plain JSON data (numpy scalars, tuples, dtype policies, ...)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_config"):
        try:
            return {"class_name": type(value).__name__, "config": json_safe(value.get_config())}
        except Exception:  # noqa: BLE001
            pass
    if hasattr(value, "name") and isinstance(getattr(value, "name"), str):
        return value.name
    return str(value)


class KerasCaseRunner:
    """Runs cases against one imported Keras module.

    ``keras``: the module (``tf.keras``, ``keras``, ``tf_keras``). ``loss_dtype_arg``:
    whether loss classes take ``dtype=`` (Keras 3 since 3.4; Keras 2 losses do not).
    ``device_scope(device)``: a context manager placing the computation on ``device``.
    ``convert``: turns a numpy input into what the API should receive (default: as is).
    """

    def __init__(
        self,
        keras: Any,
        *,
        loss_dtype_arg: bool = True,
        device_scope: Callable[[str], ContextManager[Any]] | None = None,
        convert: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.keras = keras
        self.loss_dtype_arg = loss_dtype_arg
        self.device_scope = device_scope or (lambda device: contextlib.nullcontext())
        self.convert = convert or (lambda a: a)

    # ------------------------------------------------------------------ entry point
    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        """Run ``case``; framework exceptions come out as PortableError."""
        try:
            with self.device_scope(device):
                return self._dispatch(case, dtype)
        except PortableError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every framework error is mapped
            raise to_portable(exc) from exc

    def _dispatch(self, case: Case, dtype: str) -> Any:
        if case.check == "config":
            return self.config_roundtrip(case, dtype)
        if case.api == "loss_class":
            return self.loss_class(case, dtype)
        if case.api == "loss_function":
            return self.loss_function(case, dtype)
        if case.api == "metric":
            return self.metric(case, dtype)
        if case.api in ("compile_loss", "compile_metric"):
            return self.compile(case, dtype)
        raise ValueError(f"unknown api {case.api!r}")

    # ------------------------------------------------------------------ construction
    def loss_kwargs(self, case: Case, dtype: str) -> dict[str, Any]:
        kwargs = case_args(case)
        cls = getattr(self.keras.losses, case.class_name)
        kwargs = accepted_kwargs(cls.__init__, kwargs)
        if self.loss_dtype_arg:
            kwargs["dtype"] = dtype
        return kwargs

    def make_loss(self, case: Case, dtype: str) -> Any:
        cls = getattr(self.keras.losses, case.class_name)
        return cls(**self.loss_kwargs(case, dtype))

    def make_metric(self, case: Case, dtype: str) -> Any:
        cls = getattr(self.keras.metrics, case.class_name)
        kwargs = case_args(case)
        kwargs.pop("reduction", None)
        kwargs = accepted_kwargs(cls.__init__, kwargs)
        return cls(dtype=dtype, **kwargs)

    def function(self, case: Case) -> tuple[Callable[..., Any], dict[str, Any]]:
        fn = getattr(self.keras.losses, case.family)
        kwargs = case_args(case)
        kwargs.pop("reduction", None)
        return fn, accepted_kwargs(fn, kwargs)

    # ------------------------------------------------------------------ inputs
    def call_args(self, case: Case, x: Inputs) -> tuple[Any, Any, Any]:
        """(y_true, y_pred, sample_weight) as the API receives them: numpy arrays
        (converted by ``convert``), or plain Python lists for ``input_form: python_list``."""
        if case.input_form == "python_list":
            p = x.as_python()
            return p["y_true"], p["y_pred"], p["sample_weight"]
        sw = None if x.sample_weight is None else self.convert(x.sample_weight)
        return self.convert(x.y_true), self.convert(x.y_pred), sw

    # ------------------------------------------------------------------ the APIs
    def loss_class(self, case: Case, dtype: str) -> np.ndarray:
        loss = self.make_loss(case, dtype)
        y_true, y_pred, sw = self.call_args(case, case.call_inputs(dtype))
        value = loss(y_true, y_pred) if sw is None else loss(y_true, y_pred, sample_weight=sw)
        return to_numpy(value)

    def loss_function(self, case: Case, dtype: str) -> np.ndarray:
        fn, kwargs = self.function(case)
        y_true, y_pred, _ = self.call_args(case, case.call_inputs(dtype))
        return to_numpy(fn(y_true, y_pred, **kwargs))

    def metric(self, case: Case, dtype: str) -> list[np.ndarray]:
        metric = self.make_metric(case, dtype)
        results: list[np.ndarray] = []
        for step in case.metric_steps(dtype):
            if step.op == "result":
                results.append(to_numpy(metric.result()))
            elif step.op == "reset_state":
                reset = getattr(metric, "reset_state", None) or getattr(metric, "reset_states")
                reset()
            else:
                assert step.inputs is not None
                y_true, y_pred, sw = self.call_args(case, step.inputs)
                if sw is None:
                    metric.update_state(y_true, y_pred)
                else:
                    metric.update_state(y_true, y_pred, sample_weight=sw)
        return results

    def config_roundtrip(self, case: Case, dtype: str) -> dict[str, Any]:
        obj = self.make_metric(case, dtype) if case.is_metric else self.make_loss(case, dtype)
        config = obj.get_config()
        again = type(obj).from_config(config).get_config()
        return {"config": json_safe(config), "roundtrip": json_safe(again)}

    def compile(self, case: Case, dtype: str) -> np.ndarray:
        """``model.compile(optimizer='sgd', loss=...)`` (or ``metrics=[...]``) and
        ``model.evaluate`` on a model whose output is its input: y_pred."""
        keras = self.keras
        x = case.call_inputs(dtype)
        inp = keras.Input(shape=x.y_pred.shape[1:], dtype=dtype)
        out = keras.layers.Activation("linear", dtype=dtype)(inp)
        model = keras.Model(inp, out)
        if case.api == "compile_loss":
            model.compile(optimizer="sgd", loss=self.make_loss(case, dtype))
            key = "loss"
        else:
            metric = self.make_metric(case, dtype)
            # The documented snippet compiles with loss='mse', which cannot take sparse
            # labels; the loss is not what is measured, so compile with the case's own loss.
            model.compile(optimizer="sgd", loss=self.make_loss(case, dtype), metrics=[metric])
            key = metric.name
        kwargs: dict[str, Any] = {"batch_size": max(1, len(x.y_pred)), "verbose": 0, "return_dict": True}
        if x.sample_weight is not None:
            kwargs["sample_weight"] = x.sample_weight
        result = model.evaluate(x.y_pred, x.y_true, **kwargs)
        if key not in result:
            raise KeyError(f"model.evaluate returned no {key!r}: {sorted(result)}")
        return np.asarray(to_numpy(result[key]), dtype=numpy_dtype(dtype))
