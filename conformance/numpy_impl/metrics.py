"""Metric classes of the numpy implementation: a weighted mean of the loss across calls.

``update_state`` adds ``(total, count)``; ``result`` is ``total / count`` and 0 when the
count is 0 (``divide_no_nan``). Totals are kept in the work precision (float64, or
longdouble for float64 metrics) and rounded to the metric dtype only in ``result``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from conformance.numpy_impl import _core
from conformance.numpy_impl.losses import ArrayLike, _as_pred, _categorical, _profile, _sparse
from conformance.profiles import DEFAULT_PROFILE, Profile


class _MeanMetric:
    """Keras' ``MeanMetricWrapper`` around a loss function, with its state.

    ``y_pred`` (and categorical targets) are converted to the metric dtype; sparse
    labels are not on Keras 3 (the metric wraps the loss *function*, not the class),
    and are on Keras 2 (its wrapper casts y_true to the metric dtype). The ignore
    mask and the sample weights follow the profile (see
    :func:`conformance.numpy_impl._core.metric_update`).
    """

    default_profile: ClassVar[str] = DEFAULT_PROFILE
    _arg_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, dtype: Any, profile: str | Profile | None) -> None:
        self.profile = _profile(profile if profile is not None else self.default_profile)
        self.name = name
        self.dtype = _core.dtype_name(dtype)
        self._work = _core.work_dtype(self.dtype)
        self.reset_state()

    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def update_state(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> None:
        """Accumulate the weighted losses of one batch."""
        pred, _ = _as_pred(y_pred, self.dtype)
        values, mask = self._elementwise(y_true, pred)
        sw = None
        if sample_weight is not None:
            sw = _core.to_work(np.asarray(sample_weight, dtype=np.float64).astype(_core.np_dtype(self.dtype)), self.dtype)
        total, count = _core.metric_update(values, sw, mask, self.profile)
        self._total = self._total + total
        self._count = self._count + count

    def result(self) -> np.ndarray:
        """``total / count`` in the metric dtype; 0 when the count is 0."""
        if self._count == 0:
            return _core.to_dtype(self._work.type(0), self.dtype)
        return _core.to_dtype(self._total / self._count, self.dtype)

    def reset_state(self) -> None:
        """Forget every update."""
        self._total = self._work.type(0)
        self._count = self._work.type(0)

    def reset_states(self) -> None:
        """Keras 2 spelling of :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> np.ndarray:
        """``update_state`` then ``result`` (cumulative, as Keras' ``Metric.__call__``)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """Keras' metric config: ``{name, dtype, <fn args>}``."""
        cfg: dict[str, Any] = {"name": self.name, "dtype": self.dtype}
        cfg.update({k: getattr(self, k) for k in self._arg_keys})
        return cfg

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "_MeanMetric":
        """``cls(**config)``."""
        return cls(**dict(config))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())}, profile={self.profile.name!r})"


class SparseCategoricalCrossentropy(_MeanMetric):
    """The mean sparse categorical crossentropy over every batch seen.

    Args:
        name: the metric name.
        dtype: the metric dtype (default float32).
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value excluded from the loss. On Keras 3 an unweighted
            update still counts ignored samples (0.78462 in Keras' own test); Keras 2
            counts only the valid ones.
        axis: the class axis.
        profile: the Keras code path to follow.

    >>> m = SparseCategoricalCrossentropy()
    >>> m.update_state(np.array([1, 2]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    >>> m.result()
    array(1.1769392, dtype=float32)
    """

    _arg_keys = ("from_logits", "ignore_class", "axis")

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
        *,
        profile: str | Profile | None = None,
    ) -> None:
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        super().__init__(name, dtype, profile)

    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.profile.metric_casts_labels_to_metric_dtype:
            # tf-keras MeanMetricWrapper.update_state: y_true = tf.cast(y_true, self._dtype)
            # (tf_keras/src/metrics/base_metric.py:707): labels above 2**24 (float32),
            # 2**11 (float16), 2**8 (bfloat16) are rounded. Keras 3 passes them as given.
            labels = np.asarray(y_true)
            if labels.dtype != object:
                with np.errstate(over="ignore"):
                    y_true = labels.astype(np.float64).astype(_core.np_dtype(self.dtype))
        return _sparse(y_true, y_pred, self.dtype, bool(self.from_logits), self.ignore_class, self.axis, self.profile)


class CategoricalCrossentropy(_MeanMetric):
    """The mean categorical crossentropy over every batch seen.

    Args:
        name: the metric name.
        dtype: the metric dtype (default float32).
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: ``y * (1 - ls) + ls / C`` in the metric dtype (default the
            integer 0, as in Keras).
        axis: the class axis.
        profile: the Keras code path to follow.
    """

    _arg_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
        *,
        profile: str | Profile | None = None,
    ) -> None:
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        super().__init__(name, dtype, profile)

    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        values = _categorical(y_true, y_pred, self.dtype, bool(self.from_logits), float(self.label_smoothing or 0.0), self.axis, self.profile)
        return values, None
