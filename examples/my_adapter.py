"""A complete third-party adapter: crossentropy written in plain NumPy.

This is the example of ``docs/adapters.md`` ("Validate your own implementation"). It
implements both families (sparse and categorical), as a loss class (with reductions and
``sample_weight``), a loss function and a metric, with Keras 3 semantics on the non-TF
backends (profile ``keras3-generic``: normalise the probabilities, then clip), and it
computes in the case's dtype.

Run it from the repository root::

    conformance run --adapter examples.my_adapter:NumpyCrossentropyAdapter

It stays in-process (``isolated = False``): it imports nothing that can crash. An
adapter wrapping a framework sets ``isolated = True`` and is then run in a worker.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.adapters.base import Adapter, PortableError
from conformance.adapters.errors import to_portable
from conformance.case import Case, case_args

EPSILON = 1e-7


# ----------------------------------------------------------------------------- the "library"
def crossentropy(y_true: Any, y_pred: Any, *, sparse: bool, from_logits: bool = False,
                 axis: int = -1, ignore_class: int | None = None, label_smoothing: float = 0.0,
                 dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-element losses (and the valid mask when ``ignore_class`` is set)."""
    p = np.asarray(y_pred, dtype=dtype)
    eps, one = dtype(EPSILON), dtype(1)
    if sparse:
        if axis not in (-1, p.ndim - 1):
            raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
        labels = np.asarray(y_true)
        if labels.ndim == p.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != p.shape[:-1]:
            raise ValueError(f"labels of shape {labels.shape} must have the same shape as y_pred "
                             f"up until the last dimension {p.shape}")
        valid = None
        if ignore_class is not None:
            valid = labels != ignore_class
            labels = np.where(valid, labels, 0)
        labels = labels.astype(np.int64)
        num_classes = p.shape[-1]
        if np.any((labels < 0) | (labels >= num_classes)):
            raise IndexError(f"label out of bounds for {num_classes} classes")
        target = (labels[..., None] == np.arange(num_classes)).astype(dtype)
    else:
        target = np.asarray(y_true, dtype=dtype)
        if target.shape != p.shape:
            raise ValueError(f"y_true {target.shape} and y_pred {p.shape} must have the same shape")
        valid = None
        if label_smoothing:
            n = dtype(target.shape[-1])
            target = target * dtype(1 - label_smoothing) + dtype(label_smoothing) / n
    if from_logits:
        z = p - p.max(axis=axis, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    else:
        q = p / p.sum(axis=axis, keepdims=True)
        log_q = np.log(np.clip(q, eps, one - eps))
    # 0 * log(0) counts as 0: a class with no target mass never contributes.
    losses = -np.where(target == 0, dtype(0), target * log_q).sum(axis=axis)
    if valid is not None:
        losses = np.where(valid, losses, dtype(0))
    return losses.astype(dtype), valid


def reduce(losses: np.ndarray, sample_weight: Any, valid: np.ndarray | None, reduction: str,
           dtype: Any) -> np.ndarray:
    """Keras 3 reductions: ``sum_over_batch_size``/``mean`` divide by the element count
    (the valid count with ``ignore_class``), ``mean_with_sample_weight`` by the weight sum."""
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=dtype)
    if valid is not None:
        n_valid = valid.sum()
        scale = dtype(losses.size / n_valid) if n_valid and reduction in ("sum_over_batch_size", "mean") else dtype(1)
        mask = np.where(valid, scale, dtype(0)).astype(dtype)
        w = mask if w is None else w * mask  # ignored elements weigh nothing
    if w is not None:
        if w.ndim == losses.ndim + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        losses = losses * w
    if reduction == "none" or losses.ndim == 0 or losses.shape == (0,):
        return losses  # Keras 3 returns scalars and an empty batch unreduced
    total = losses.sum(dtype=dtype)
    if reduction == "sum":
        return total
    if reduction in ("sum_over_batch_size", "mean"):
        divisor = dtype(losses.size)
    elif reduction == "mean_with_sample_weight":
        divisor = dtype(losses.size) if w is None else w.sum(dtype=dtype)
    else:
        raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}")
    return np.asarray(total / divisor if divisor else dtype(0), dtype=dtype)


# ----------------------------------------------------------------------------- the adapter
class NumpyCrossentropyAdapter(Adapter):
    """The plain-NumPy crossentropy above, checked against Keras 3 semantics."""

    name = "my-numpy"
    profile = "keras3-generic"  # normalise, then clip: the JAX / NumPy / Torch code path
    dtypes = ("float32", "float64")
    devices = ("cpu",)
    apis = ("loss_class", "loss_function", "metric")  # no model.compile here
    isolated = False  # pure NumPy: nothing can crash the process
    description = "example adapter: crossentropy in plain NumPy"

    def versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def skip_reason(self, case: Case, dtype: str, device: str) -> str | None:
        if case.check == "config":
            return "a plain function has no get_config"
        return super().skip_reason(case, dtype, device)

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        try:
            return self._run(case, np.dtype(dtype).type)
        except Exception as exc:  # the implementation's errors, as portable categories
            raise to_portable(exc) from exc

    def _run(self, case: Case, dt: Any) -> Any:
        args = case_args(case)
        kw = dict(sparse=case.sparse, from_logits=bool(args["from_logits"]), axis=int(args["axis"]),
                  ignore_class=args.get("ignore_class"), label_smoothing=float(args.get("label_smoothing") or 0),
                  dtype=dt)
        if case.api == "metric":
            total, count, results = dt(0), dt(0), []
            for step in case.metric_steps(np.dtype(dt).name):
                if step.op == "result":
                    results.append(np.asarray(total / count if count else dt(0), dtype=dt))
                elif step.op == "reset_state":
                    total, count = dt(0), dt(0)
                else:
                    x = step.inputs
                    losses, valid = crossentropy(x.y_true, x.y_pred, **kw)
                    per_sample = losses.reshape(len(losses), -1).mean(axis=1, dtype=dt) if losses.ndim > 1 else losses
                    if x.sample_weight is None:
                        total, count = total + per_sample.sum(dtype=dt), count + dt(len(per_sample))
                    else:
                        w = np.asarray(x.sample_weight, dtype=dt)
                        if valid is not None:  # Keras 3 masks the weights, not the count without them
                            w = w * valid.reshape(w.shape).astype(dt)
                        w = w.reshape(len(per_sample), -1).mean(axis=1, dtype=dt)
                        total, count = total + (per_sample * w).sum(dtype=dt), count + w.sum(dtype=dt)
            return results
        x = case.call_inputs(np.dtype(dt).name)
        losses, valid = crossentropy(x.y_true, x.y_pred, **kw)
        if case.api == "loss_function":
            return losses
        if case.api == "loss_class":
            return reduce(losses, x.sample_weight, valid, args["reduction"], dt)
        raise PortableError("other", f"{case.api} is not implemented", exc_type="NotImplementedError")
