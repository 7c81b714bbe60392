"""Loss functions and loss classes of the numpy implementation (Keras names and arguments).

Each entry point takes a keyword-only ``profile`` naming the Keras code path it follows
(:mod:`conformance.profiles`): ``keras3-tensorflow`` (the default), ``keras3-generic``
or ``keras2``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from conformance.numpy_impl import _core
from conformance.profiles import DEFAULT_PROFILE, Profile, get_profile

ArrayLike = Any


# --------------------------------------------------------------------------- helpers
def _profile(profile: str | Profile) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def _as_pred(y_pred: ArrayLike, dtype: str | None) -> tuple[np.ndarray, str]:
    """``y_pred`` as an array of its compute dtype: ``dtype`` when given, else its own
    floating dtype, else ``floatx()`` (float32) for lists and integers, as Keras'
    ``convert_to_tensor`` does."""
    name = _core.dtype_name(dtype) if dtype is not None else (_core.float_dtype_of(y_pred) or _core.FLOATX)
    arr = np.asarray(y_pred)
    if arr.dtype == object:
        raise TypeError(f"unsupported type for y_pred: cannot convert {type(y_pred).__name__} to a tensor")
    return arr.astype(np.float64).astype(_core.np_dtype(name)) if arr.dtype != _core.np_dtype(name) else arr, name


def _canonical_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r} of type {type(axis).__name__}")
    if ndim < 1:
        raise ValueError("Argument `y_pred` must be at least rank 1 (it needs a class axis); received a scalar")
    ax = int(axis) + ndim if axis < 0 else int(axis)
    if not 0 <= ax < ndim:
        raise ValueError(f"Invalid value for argument `axis`: {axis} is out of range for y_pred of rank {ndim}")
    return ax


def _sparse(
    y_true: ArrayLike, y_pred: np.ndarray, dtype: str, from_logits: bool, ignore_class: Any, axis: Any, prof: Profile
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-element sparse losses (work precision) and the valid mask."""
    ax = _canonical_axis(axis, y_pred.ndim)
    if ax != y_pred.ndim - 1 and not prof.sparse_axis_supported:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    labels = np.asarray(y_true)
    if labels.dtype == object:
        raise TypeError(f"unsupported type for y_true: cannot convert {type(y_true).__name__} to a tensor")
    if labels.ndim == y_pred.ndim and labels.shape[ax] == 1:
        labels = np.squeeze(labels, axis=ax)
    pred = np.moveaxis(y_pred, ax, -1)
    if labels.shape != pred.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last dimension: "
            f"target.shape={labels.shape}, output.shape={y_pred.shape} (class axis {axis})"
        )
    return _core.sparse_elementwise(labels, pred, dtype=dtype, from_logits=from_logits, ignore_class=ignore_class, profile=prof)


def _categorical(
    y_true: ArrayLike, y_pred: np.ndarray, dtype: str, from_logits: bool, label_smoothing: float, axis: Any, prof: Profile
) -> np.ndarray:
    """Per-element categorical losses (work precision)."""
    ax = _canonical_axis(axis, y_pred.ndim)
    targets = np.asarray(y_true)
    if targets.dtype == object:
        raise TypeError(f"unsupported type for y_true: cannot convert {type(y_true).__name__} to a tensor")
    # y_true = cast(y_true, y_pred.dtype): exact for one-hot labels, a rounding for soft ones.
    targets = targets.astype(np.float64).astype(_core.np_dtype(dtype))
    if targets.shape != y_pred.shape:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: target.shape={targets.shape}, output.shape={y_pred.shape}")
    if label_smoothing:
        # Keras 3 <= 3.15.1 takes the class count from y_true's last axis whatever `axis`
        # is (keras#23451); Keras 2 from `axis`.
        n = y_pred.shape[ax] if prof.smoothing_classes_from == "axis" else targets.shape[-1]
        targets = _core.smooth_labels(targets, float(label_smoothing), n, dtype)
    return _core.categorical_elementwise(np.moveaxis(targets, ax, -1), np.moveaxis(y_pred, ax, -1), dtype=dtype, from_logits=from_logits)


# --------------------------------------------------------------------------- functions
def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
    *,
    profile: str | Profile = DEFAULT_PROFILE,
    dtype: str | None = None,
) -> np.ndarray:
    """Per-element crossentropy between integer labels and predictions.

    Args:
        y_true: integer class indices of shape ``y_pred.shape`` without the class axis
            (a trailing 1 on the class axis is squeezed). Float labels are truncated
            toward zero. Nested Python lists are accepted.
        y_pred: probabilities (``from_logits=False``) or logits, class axis ``axis``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value whose elements get loss 0 (and are masked out of
            the reductions of the loss class).
        axis: the class axis. Only the last axis on the Keras 3 profiles.
        profile: the Keras code path to follow. ``keras3-tensorflow`` clips the
            probabilities to ``[eps, 1 - eps]`` and renormalises afterwards (log-softmax
            of their log); ``keras3-generic`` and ``keras2``'s categorical path
            normalise first and clip afterwards.
        dtype: the compute and output dtype; default ``y_pred``'s own floating dtype,
            or float32 for lists and integers.

    Returns:
        An array of ``y_pred``'s shape without the class axis, in the compute dtype,
        each element rounded once from a wider computation.

    Raises:
        InvalidLabelError: a label outside ``[0, C)`` that is not ignored (TensorFlow's
            CPU behaviour; on the GPU side of a profile that says ``nan`` it is NaN).
        ValueError: shapes that do not match, or an unsupported ``axis``.

    >>> sparse_categorical_crossentropy(np.array([1, 2]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32))
    array([0.0512934, 2.3025851], dtype=float32)

    (TensorFlow prints 0.05129344: its float32 log-softmax is 12 ULP from the exact
    0.0512933958 that this function rounds correctly.)
    """
    prof = _profile(profile)
    pred, name = _as_pred(y_pred, dtype)
    values, _ = _sparse(y_true, pred, name, bool(from_logits), ignore_class, axis, prof)
    return _core.to_dtype(values, name)


def categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    *,
    profile: str | Profile = DEFAULT_PROFILE,
    dtype: str | None = None,
) -> np.ndarray:
    """Per-element crossentropy between one-hot (or soft) targets and predictions.

    Args:
        y_true: targets of ``y_pred``'s shape; cast to ``y_pred``'s dtype, never
            renormalised.
        y_pred: probabilities (normalised along ``axis``, then clipped to
            ``[eps, 1 - eps]``) or logits.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: ``y * (1 - ls) + ls / C``, computed in the dtype.
        axis: the class axis.
        profile: the Keras code path whose details to follow (class count for label
            smoothing).
        dtype: the compute and output dtype (default as for the sparse function).

    Returns:
        An array of ``y_pred``'s shape without the class axis, in the compute dtype.

    >>> categorical_crossentropy(np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    array([0.05129329, 2.30258509])
    """
    prof = _profile(profile)
    pred, name = _as_pred(y_pred, dtype)
    values = _categorical(y_true, pred, name, bool(from_logits), float(label_smoothing or 0.0), axis, prof)
    return _core.to_dtype(values, name)


# --------------------------------------------------------------------------- classes
_DEFAULT_REDUCTION = "sum_over_batch_size"


class _Loss:
    """Keras' ``Loss`` / ``LossFunctionWrapper`` call pipeline:

    1. convert ``y_pred`` (and on Keras 3 also ``y_true``, so sparse labels are rounded
       to the loss dtype) to the loss dtype;
    2. per-element losses, with the ignore_class mask;
    3. ``reduce_weighted_values``: mask and sample weights (Keras' squeeze-or-expand
       rank rules), then the reduction.
    """

    #: The profile of this class when none is passed (subclasses bind one; see
    #: :func:`conformance.numpy_impl.api_for`).
    default_profile: ClassVar[str] = DEFAULT_PROFILE
    _fn_keys: ClassVar[tuple[str, ...]] = ()
    #: Index of ``reduction`` among the positional arguments (it differs per class).
    _reduction_position: ClassVar[int] = 0

    def __init__(self, name: str, reduction: str | None, dtype: Any, profile: str | Profile | None) -> None:
        self.profile = _profile(profile if profile is not None else self.default_profile)
        red = "none" if reduction is None else reduction
        if red not in self.profile.reductions:
            raise ValueError(
                f"Invalid value for argument `reduction`. Expected one of {self.profile.reductions}. Received: reduction={reduction!r}"
            )
        self.name = name
        self.reduction = reduction
        self.dtype = _core.dtype_name(dtype)

    # the per-element function of the subclass
    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _convert_true(self, y_true: ArrayLike) -> ArrayLike:
        return y_true

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> np.ndarray:
        """The reduced loss (a scalar array in the loss dtype; the weighted per-element
        losses for ``reduction="none"``; the empty array for an empty batch on Keras 3)."""
        pred, _ = _as_pred(y_pred, self.dtype)
        y_true = self._convert_true(y_true)
        if self.profile.loss_class_aligns_ranks:
            # Keras 3 LossFunctionWrapper.call: squeeze_or_expand_to_same_rank(y_true,
            # y_pred) (keras/src/losses/losses.py:29-31), e.g. (B,) targets on (B, 1).
            labels = np.asarray(y_true)
            if labels.dtype != object:
                y_true, pred = _core.squeeze_or_expand(labels, pred, False)
        values, mask = self._elementwise(y_true, pred)
        sw = None
        if sample_weight is not None:
            sw = _core.to_work(np.asarray(sample_weight, dtype=np.float64).astype(_core.np_dtype(self.dtype)), self.dtype)
        out = _core.reduce_loss(values, sw, mask, "none" if self.reduction is None else self.reduction, self.profile)
        return _core.to_dtype(out, self.dtype)

    def get_config(self) -> dict[str, Any]:
        """Keras' config keys for the profile: Keras 3 ``{name, reduction, <fn args>}``
        (the loss dtype is not serialised); Keras 2 ``{reduction, name, <fn args>, fn}``."""
        cfg: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        cfg.update({k: getattr(self, k) for k in self._fn_keys})
        if self.profile.name == "keras2":
            cfg["fn"] = self._fn_name
        return cfg

    _fn_name: ClassVar[str] = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "_Loss":
        """``cls(**config)`` (Keras 2's ``fn`` entry is dropped)."""
        cfg = dict(config)
        cfg.pop("fn", None)
        return cls(**cfg)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())}, profile={self.profile.name!r})"


class SparseCategoricalCrossentropy(_Loss):
    """Sparse categorical crossentropy loss (integer labels).

    Args:
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value excluded from the loss; the mean reductions divide
            by the number of valid elements.
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"``/``None``; Keras 2 adds ``"auto"``.
        name: the loss name.
        dtype: the loss dtype (inputs are converted to it; default float32).
        axis: the class axis (only -1 on the Keras 3 profiles).
        profile: the Keras code path to follow.

    >>> SparseCategoricalCrossentropy()(np.array([1, 2]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    array(1.1769392, dtype=float32)
    """

    _fn_name = "sparse_categorical_crossentropy"
    # Keras 3.15.1 and tf-keras 2.21 both leave `axis` out of the SCCE loss config.
    _fn_keys = ("from_logits", "ignore_class")
    _reduction_position = 2

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = _DEFAULT_REDUCTION,
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        *,
        profile: str | Profile | None = None,
    ) -> None:
        super().__init__(name, reduction, dtype, profile)
        if self.profile.name == "keras2" and axis != -1:
            # tf-keras' SparseCategoricalCrossentropy class has no `axis` (its function has).
            raise TypeError("SparseCategoricalCrossentropy.__init__() got an unexpected keyword argument 'axis' (Keras 2)")
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis


    def _convert_true(self, y_true: ArrayLike) -> ArrayLike:
        if not self.profile.labels_cast_to_loss_dtype:
            return y_true
        # Keras 3 Loss.__call__ converts y_true to the loss dtype before the sparse
        # function casts it back to int: labels above 2**8 (bfloat16), 2**11 (float16),
        # 2**24 (float32) are rounded.
        labels = np.asarray(y_true)
        if labels.dtype == object:
            return y_true
        with np.errstate(over="ignore"):  # a label beyond the dtype's range becomes inf
            return labels.astype(np.float64).astype(_core.np_dtype(self.dtype))

    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return _sparse(y_true, y_pred, self.dtype, bool(self.from_logits), self.ignore_class, self.axis, self.profile)


class CategoricalCrossentropy(_Loss):
    """Categorical crossentropy loss (one-hot or soft targets).

    Args:
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: ``y * (1 - ls) + ls / C``, computed in the loss dtype.
        axis: the class axis.
        reduction, name, dtype, profile: as for :class:`SparseCategoricalCrossentropy`.

    >>> CategoricalCrossentropy(reduction="sum")(np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    array(2.3538785, dtype=float32)
    """

    _fn_name = "categorical_crossentropy"
    _fn_keys = ("from_logits", "label_smoothing", "axis")
    _reduction_position = 3

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = _DEFAULT_REDUCTION,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        *,
        profile: str | Profile | None = None,
    ) -> None:
        super().__init__(name, reduction, dtype, profile)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def _elementwise(self, y_true: ArrayLike, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        values = _categorical(y_true, y_pred, self.dtype, bool(self.from_logits), float(self.label_smoothing or 0.0), self.axis, self.profile)
        return values, None
