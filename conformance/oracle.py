"""The mpmath oracle: the exact value of a case under a named semantic profile.

The truth is computed on the *materialized* inputs, the binary values an implementation
actually receives (literals rounded to the dtype), with the profile's formula evaluated
in mpmath at ``dps`` significant digits (60 by default; :func:`truth` can be asked for
more to check that a value is stable). Only the steps that Keras itself performs in the
dtype are rounded to the dtype here too: the clip bounds ``1e-7`` and ``1 - 1e-7``, the
label-smoothed targets, and (Keras 3 loss classes) the cast of sparse labels to the loss
dtype. Everything else is exact; an implementation's own rounding is its error.

The oracle never imports an adapter. Its output is a :class:`Truth`: values, a
portable error the API must raise, or ``undefined`` (implementation-defined under that
profile).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import mpmath
import numpy as np

from conformance.case import Case, Inputs, case_args, numpy_dtype, round_to
from conformance.profiles import Profile, get_profile

#: Working precision of the oracle, in significant decimal digits.
DEFAULT_DPS = 60

#: Mantissa bits (with the implicit bit) and exponent range of each dtype.
_FORMATS = {
    "bfloat16": (8, -126, 127),
    "float16": (11, -14, 15),
    "float32": (24, -126, 127),
    "float64": (53, -1022, 1023),
}

mpf = mpmath.mpf
_NAN = mpmath.mpf("nan")
_INF = mpmath.mpf("inf")


class OracleError(Exception):
    """The API must raise: carries the portable error category."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


@dataclass(frozen=True)
class Truth:
    """What a case must produce under a profile, in a dtype, on a device.

    ``kind`` is ``value`` (``values`` holds the exact results, flattened, with ``shape``),
    ``error`` (``error`` holds the portable category) or ``undefined``.
    """

    kind: str
    dtype: str
    profile: str
    shape: tuple[int, ...] = ()
    values: tuple[Any, ...] = ()
    error: str | None = None
    reason: str = ""
    dps: int = DEFAULT_DPS

    def decimal(self, digits: int = 40) -> list[str]:
        """The values as decimal strings of ``digits`` significant digits."""
        return [to_decimal(v, digits) for v in self.values]

    def rounded(self) -> np.ndarray:
        """The values correctly rounded to the output dtype (one rounding, no double rounding)."""
        dt = numpy_dtype(self.dtype)
        return np.array([round_mpf(v, self.dtype) for v in self.values], dtype=np.float64).astype(dt).reshape(self.shape)


# --------------------------------------------------------------------------- number formats
def to_decimal(x: Any, digits: int = 40) -> str:
    """``x`` as a decimal string with ``digits`` significant digits (``nan``/``inf`` spelled out)."""
    if mpmath.isnan(x):
        return "nan"
    if mpmath.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    return mpmath.nstr(x, digits, strip_zeros=False, min_fixed=-5, max_fixed=digits)


def round_mpf(x: Any, dtype: str) -> float:
    """Round an exact value to ``dtype`` (nearest, ties to even, with subnormals and
    overflow), returned as the float64 holding that dtype value exactly."""
    if mpmath.isnan(x) or mpmath.isinf(x):
        return float(x)
    p, emin, emax = _FORMATS[dtype]
    if x == 0:
        return 0.0
    with mpmath.workprec(max(mpmath.mp.prec, 256)):
        ax = abs(x)
        _, e = mpmath.frexp(ax)  # ax = m * 2**e with 0.5 <= m < 1
        exp = max(int(e) - 1, emin)  # exponent of the leading bit, clamped for subnormals
        quantum = mpmath.ldexp(mpf(1), exp - p + 1)
        q = ax / quantum
        n = mpmath.floor(q)
        frac = q - n
        if frac > 0.5 or (frac == 0.5 and int(n) % 2 == 1):
            n += 1
        y = n * quantum
        largest = (2 - mpmath.ldexp(mpf(1), 1 - p)) * mpmath.ldexp(mpf(1), emax)
        if y > largest:
            return math.copysign(math.inf, float(x))
        return float(y) if x > 0 else -float(y)


def ulp(x: Any, dtype: str) -> Any:
    """The spacing of ``dtype`` at the magnitude of ``x`` (the smallest subnormal at 0)."""
    p, emin, _ = _FORMATS[dtype]
    if x == 0 or mpmath.isinf(x) or mpmath.isnan(x):
        return mpmath.ldexp(mpf(1), emin - p + 1)
    _, e = mpmath.frexp(abs(x))
    return mpmath.ldexp(mpf(1), max(int(e) - 1, emin) - p + 1)


def _mp(x: Any) -> Any:
    """An exact mpmath value of a numpy float (of any width)."""
    return mpf(float(x))


def _dtype_const(value: float, dtype: str) -> Any:
    """A Python float constant as the implementation sees it: rounded to the dtype."""
    return _mp(np.asarray(value, dtype=np.float64).astype(numpy_dtype(dtype)))


# --------------------------------------------------------------------------- per-element losses
def _lse_minus(z: Sequence[Any], weights: Sequence[Any] | None, label: int | None = None) -> Any:
    """``sum_j w_j * (logsumexp(z) - z_j)`` without cancellation, or with ``label`` the
    single term ``logsumexp(z) - z_label`` (TF's sparse kernel never multiplies the other
    classes by zero, so a -inf logit elsewhere stays harmless). Non-finite logits follow
    IEEE rules as the max-shifted kernels evaluate them."""
    if any(mpmath.isnan(v) for v in z):
        return _NAN
    if any(mpmath.isinf(v) and v > 0 for v in z):
        return _NAN  # z - max is inf - inf in every max-shifted kernel
    finite = [v for v in z if not mpmath.isinf(v)]
    if not finite:
        return _NAN  # every logit -inf: -inf - (-inf)
    m = max(finite)
    k = next(i for i, v in enumerate(z) if v == m)
    tail = mpmath.fsum(mpmath.exp(v - m) for i, v in enumerate(z) if i != k and not mpmath.isinf(v))
    lse_minus_m = mpmath.log1p(tail)
    if label is not None:
        return (m - z[label]) + lse_minus_m
    assert weights is not None
    total = mpf(0)
    for w, v in zip(weights, z):
        if w == 0 and not mpmath.isinf(v):
            continue
        total += w * ((m - v) + lse_minus_m)  # 0 * inf stays NaN, as in IEEE
    return total


def _neg_log_ratio(num: Any, others: Any) -> Any:
    """``-log(num / (num + others))`` accurately for any split of the mass."""
    if num <= 0:
        return _INF if others > 0 or num == 0 else _NAN
    return mpmath.log1p(others / num)


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    if mpmath.isnan(x):
        return x
    return min(max(x, lo), hi)


def _sparse_row_probabilities(p: Sequence[Any], y: int, profile: Profile, lo: Any, hi: Any) -> Any:
    if any(mpmath.isnan(v) for v in p):
        return _NAN
    if profile.sparse_probability_path == "clip_then_renormalise":
        c = [_clip(v, lo, hi) for v in p]
        others = mpmath.fsum(v for i, v in enumerate(c) if i != y)
        return _neg_log_ratio(c[y], others)
    return _categorical_row_probabilities(p, [mpf(1) if i == y else mpf(0) for i in range(len(p))], lo, hi)


def _categorical_row_probabilities(p: Sequence[Any], t: Sequence[Any], lo: Any, hi: Any) -> Any:
    """normalise → clip → ``-sum t log``."""
    if any(mpmath.isnan(v) for v in p) or any(mpmath.isinf(v) for v in p):
        s_inf = True
    else:
        s_inf = False
    total_mass = mpmath.fsum(p) if not s_inf else _NAN
    total = mpf(0)
    for j, tj in enumerate(t):
        if s_inf:
            q = _NAN
        elif total_mass == 0:
            q = _NAN if p[j] == 0 else (_INF if p[j] > 0 else -_INF)
        else:
            q = p[j] / total_mass
        c = _clip(q, lo, hi)
        if mpmath.isnan(c):
            term = _NAN
        elif c == q and q > 0.5:
            # -log(p_j / S) = log1p((S - p_j) / p_j): no cancellation near 1.
            others = mpmath.fsum(v for i, v in enumerate(p) if i != j)
            term = mpmath.log1p(others / p[j])
        else:
            term = -mpmath.log(c)
        if tj == 0 and not mpmath.isnan(term) and not mpmath.isinf(term):
            continue
        total += tj * term
    return total


# --------------------------------------------------------------------------- the oracle
class _Eval:
    """Evaluates one case under one profile in one dtype; raises OracleError for errors."""

    def __init__(self, case: Case, dtype: str, profile: Profile, device: str) -> None:
        self.case = case
        self.dtype = dtype
        self.profile = profile
        self.device = device
        self.args = case_args(case)
        self.eps = _dtype_const(1e-7, dtype)
        self.hi = _dtype_const(1.0 - 1e-7, dtype)

    # ----------------------------------------------------------- inputs as received
    def received(self, x: Inputs, *, loss_class: bool, metric: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Convert to the compute dtype as the API does (Keras converts y_pred to the
        loss dtype; Keras 3 loss classes also convert y_true, and so does the Keras 2
        metric wrapper, to the metric dtype). Keras 3 loss classes then align the ranks
        of y_true and y_pred (``squeeze_or_expand_to_same_rank``)."""
        y_pred = round_to(x.y_pred.astype(np.float64), self.dtype)
        y_true = x.y_true
        if not self.case.sparse:
            y_true = round_to(y_true.astype(np.float64), self.dtype)
        elif loss_class and self.profile.labels_cast_to_loss_dtype:
            y_true = round_to(y_true.astype(np.float64), self.dtype)
        elif metric and self.profile.metric_casts_labels_to_metric_dtype:
            # tf_keras/src/metrics/base_metric.py:707: y_true = tf.cast(y_true, self._dtype)
            y_true = round_to(y_true.astype(np.float64), self.dtype)
        if loss_class and self.profile.loss_class_aligns_ranks:
            # keras/src/losses/losses.py:29-31 (LossFunctionWrapper.call); expand_rank_1=True.
            y_true, y_pred = _squeeze_or_expand(y_true, y_pred, False)
        sw = None if x.sample_weight is None else round_to(x.sample_weight.astype(np.float64), self.dtype)
        return y_true, y_pred, sw

    def valid_mask(self, labels: np.ndarray) -> np.ndarray | None:
        """The ignore_class mask (True: the element counts), compared as the profile does.

        Keras 3 compares in the promoted dtype of the labels and y_pred (y_pred's float
        dtype for integer labels): both sides are rounded to it, so distinct integers can
        compare equal (float32: 2^24 + 1 == 2^24; bfloat16: 257 == 256). Keras 2 casts
        both to int64: float labels are truncated, the comparison is exact.
        """
        ignore = self.args.get("ignore_class")
        if ignore is None:
            return None
        labels = np.asarray(labels)
        if self.profile.ignore_class_compared_in == "pred_dtype":
            cmp = _keras_float_result_type(_float_name(labels.dtype), self.dtype)
            with np.errstate(over="ignore"):
                lab = round_to(labels.astype(np.float64), cmp).astype(np.float64)
                ign = float(round_to(np.asarray(float(ignore)), cmp))
            return lab != ign
        labels_f = labels.astype(np.float64)
        with np.errstate(invalid="ignore"):
            lab = np.where(np.isfinite(labels_f), np.trunc(labels_f), labels_f)
        return lab != float(int(ignore))

    # ----------------------------------------------------------- per-element losses
    def elementwise(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-element losses (object array of mpf) and the ignore_class valid mask."""
        from_logits = bool(self.args.get("from_logits"))
        axis = int(self.args.get("axis", -1))
        if y_pred.ndim < 1:
            raise OracleError("shape_mismatch", "y_pred must be at least rank 1")
        ax = axis if axis >= 0 else y_pred.ndim + axis
        if not 0 <= ax < y_pred.ndim:
            raise OracleError("invalid_argument", f"axis {axis} is out of range for rank {y_pred.ndim}")
        if self.case.sparse:
            return self._sparse(y_true, y_pred, ax, from_logits)
        return self._categorical(y_true, y_pred, ax, from_logits), None

    def _sparse(self, y_true: np.ndarray, y_pred: np.ndarray, ax: int, from_logits: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if ax != y_pred.ndim - 1 and not self.profile.sparse_axis_supported:
            raise OracleError("invalid_argument", f"{self.profile.name}: sparse crossentropy supports only axis=-1")
        if y_true.ndim == y_pred.ndim and y_true.shape[ax] == 1:
            y_true = np.squeeze(y_true, axis=ax)
        pred = np.moveaxis(y_pred, ax, -1)
        if y_true.shape != pred.shape[:-1]:
            raise OracleError("shape_mismatch", f"labels of shape {y_true.shape} do not match predictions {y_pred.shape}")
        labels_f = np.asarray(y_true, dtype=np.float64)
        valid = self.valid_mask(y_true)
        C = pred.shape[-1]
        out = np.empty(pred.shape[:-1], dtype=object)
        for idx in np.ndindex(*pred.shape[:-1]):
            if valid is not None and not valid[idx]:
                out[idx] = mpf(0)
                continue
            label = labels_f[idx]
            if not math.isfinite(label) or not 0 <= math.trunc(label) < C:
                behaviour = self.profile.out_of_range_behaviour(self.device)
                if behaviour == "error":
                    raise OracleError("invalid_label", f"label {label:g} is outside [0, {C})")
                if behaviour == "nan":
                    out[idx] = _NAN
                    continue
                raise _Undefined(f"{self.profile.name} on {self.device}: an out-of-range label is backend-specific")
            y = math.trunc(label)
            row = [_mp(v) for v in pred[idx]]
            if from_logits:
                out[idx] = _lse_minus(row, None, label=y)
            else:
                out[idx] = _sparse_row_probabilities(row, y, self.profile, self.eps, self.hi)
        return out, valid

    def _categorical(self, y_true: np.ndarray, y_pred: np.ndarray, ax: int, from_logits: bool) -> np.ndarray:
        if y_true.shape != y_pred.shape:
            raise OracleError("shape_mismatch", f"y_true {y_true.shape} and y_pred {y_pred.shape} must have the same shape")
        ls = float(self.args.get("label_smoothing") or 0.0)
        if ls:
            n = y_pred.shape[ax] if self.profile.smoothing_classes_from == "axis" else y_true.shape[-1]
            dt = numpy_dtype(self.dtype)
            a = np.asarray(1.0 - ls, dtype=np.float64).astype(dt)
            b = (np.asarray(ls, dtype=np.float64).astype(dt) / np.asarray(n, dtype=np.float64).astype(dt)).astype(dt)
            y_true = ((y_true.astype(dt) * a).astype(dt) + b).astype(dt)
        pred = np.moveaxis(y_pred, ax, -1)
        targ = np.moveaxis(y_true, ax, -1)
        out = np.empty(pred.shape[:-1], dtype=object)
        for idx in np.ndindex(*pred.shape[:-1]):
            row = [_mp(v) for v in pred[idx]]
            t = [_mp(v) for v in targ[idx]]
            out[idx] = _lse_minus(row, t) if from_logits else _categorical_row_probabilities(row, t, self.eps, self.hi)
        return out

    # ----------------------------------------------------------- reductions
    def reduce(self, values: np.ndarray, sw: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        reduction = self.args.get("reduction", "sum_over_batch_size")
        if reduction not in self.profile.reductions:
            raise OracleError("invalid_argument", f"{self.profile.name} has no reduction {reduction!r}")
        if reduction == "auto":
            reduction = "sum_over_batch_size"
        keras2 = self.profile.expand_rank1_weights
        weights = None if sw is None else sw.astype(object)
        if weights is not None:
            weights = np.vectorize(_mp, otypes=[object])(sw) if sw.size else sw.astype(object)
        mean_like = reduction in ("sum_over_batch_size", "mean")
        if mask is not None:
            total, valid = mask.size, int(mask.sum())
            if mean_like:
                if valid == 0:
                    factor = _NAN if self.profile.all_ignored_mean_is_nan else mpf(0)
                else:
                    factor = mpf(total) / valid
                float_mask = np.where(mask, factor, mpf(0)).astype(object)
                if valid == 0 and self.profile.all_ignored_mean_is_nan:
                    float_mask = np.full(mask.shape, _NAN, dtype=object)  # inf * 0 in Keras 2
            else:
                float_mask = np.where(mask, mpf(1), mpf(0)).astype(object)
            if weights is None:
                weights = float_mask
            else:
                w2, m2 = _squeeze_or_expand(weights, float_mask, keras2)
                weights = _broadcast_mul(w2, m2)
        if weights is not None:
            v2, w2 = _squeeze_or_expand(values, weights, keras2)
            values = _broadcast_mul(v2, w2)
            weights = w2
        if reduction == "none":
            return values
        if values.shape == () or (values.shape == (0,) and self.profile.empty_batch_returns_empty):
            return values
        total_loss = mpmath.fsum(values.ravel()) if values.size else mpf(0)
        if reduction == "sum":
            return np.array(total_loss, dtype=object)
        if reduction == "mean_with_sample_weight" and weights is not None:
            divisor = mpmath.fsum(np.asarray(weights, dtype=object).ravel()) if np.asarray(weights).size else mpf(0)
        else:
            divisor = mpf(values.size)
        if divisor == 0:
            return np.array(mpf(0), dtype=object)  # divide_no_nan
        return np.array(total_loss / divisor, dtype=object)

    # ----------------------------------------------------------- APIs
    def loss_class(self, x: Inputs) -> np.ndarray:
        y_true, y_pred, sw = self.received(x, loss_class=True)
        values, mask = self.elementwise(y_true, y_pred)
        return self.reduce(values, sw, mask)

    def loss_function(self, x: Inputs) -> np.ndarray:
        y_true, y_pred, _ = self.received(x, loss_class=False)
        values, _ = self.elementwise(y_true, y_pred)
        return values

    def metric(self, steps: Sequence[Any]) -> np.ndarray:
        total, count = mpf(0), mpf(0)
        results: list[Any] = []
        for step in steps:
            if step.op == "reset_state":
                total, count = mpf(0), mpf(0)
            elif step.op == "result":
                results.append(mpf(0) if count == 0 else total / count)
            else:
                t, c = self._metric_update(step.inputs)
                total += t
                count += c
        return np.array(results, dtype=object)

    def _metric_update(self, x: Inputs) -> tuple[Any, Any]:
        y_true, y_pred, sw = self.received(x, loss_class=False, metric=True)
        values, mask = self.elementwise(y_true, y_pred)
        w = None if sw is None else np.vectorize(_mp, otypes=[object])(sw) if sw.size else sw.astype(object)
        if self.profile.metric_ignore_counts_valid_only:
            return self._metric_update_keras2(values, w, mask)
        if mask is not None and w is not None:
            m = np.where(mask, mpf(1), mpf(0)).astype(object)
            w = _broadcast_mul(*_squeeze_or_expand(w, m, False))
        # Keras 3 reduce_to_samplewise_values, then Mean.update_state.
        if w is not None:
            values, w = _squeeze_or_expand(values, w, False)
            if values.ndim > w.ndim:
                values = _mean_axes(values, tuple(range(w.ndim, values.ndim)))
            w = _broadcast_to(w, values.shape)
            values = _broadcast_mul(values, w)
            if w.ndim > 1:
                w = _mean_axes(w, tuple(range(1, w.ndim)))
        if values.ndim > 1:
            values = _mean_axes(values, tuple(range(1, values.ndim)))
        total = mpmath.fsum(values.ravel()) if values.size else mpf(0)
        if w is not None:
            count = mpmath.fsum(np.asarray(w, dtype=object).ravel()) if np.asarray(w).size else mpf(0)
        elif values.ndim >= 1:
            count = mpf(values.shape[0])
        else:
            count = mpf(1)
        return total, count


    def _metric_update_keras2(self, values: np.ndarray, w: np.ndarray | None, mask: np.ndarray | None) -> tuple[Any, Any]:
        """tf-keras ``MeanMetricWrapper.update_state`` + ``Reduce.update_state``.

        The valid mask multiplies the weights after ``squeeze_or_expand_dimensions(mask,
        sample_weight=sw)`` (``apply_valid_mask`` -> ``apply_mask``,
        tf_keras/src/utils/losses_utils.py:402-412); then
        ``squeeze_or_expand_dimensions(values, sample_weight=sw)``
        (tf_keras/src/metrics/base_metric.py:501-505) squeezes [B, 1] weights on [B]
        values and expands [B] weights on [B, T] values; ``broadcast_weights`` broadcasts
        them to the values (rank 0 or the same rank, each dimension 1 or equal), else the
        values are mean-reduced down to the weights' rank. The count is the sum of the
        (broadcast) weights, or the number of values without weights.
        """
        if mask is not None:
            m = np.where(mask, mpf(1), mpf(0)).astype(object)
            if w is None:
                w = m
            else:
                m2, w2 = _squeeze_or_expand(m, w, True)
                w = _broadcast_mul(w2, m2)
        if w is None:
            return (mpmath.fsum(values.ravel()) if values.size else mpf(0)), mpf(values.size)
        values, w = _squeeze_or_expand(values, w, True)
        w = np.asarray(w, dtype=object)
        if w.ndim == 0 or (w.ndim == values.ndim and all(a in (1, b) for a, b in zip(w.shape, values.shape))):
            w = _broadcast_to(w, values.shape)
        elif values.ndim > w.ndim:
            values = _mean_axes(values, tuple(range(w.ndim, values.ndim)))
        values = _broadcast_mul(values, w)
        total = mpmath.fsum(values.ravel()) if values.size else mpf(0)
        return total, (mpmath.fsum(w.ravel()) if w.size else mpf(0))


class _Undefined(Exception):
    pass


def _float_name(dt: np.dtype) -> str | None:
    """The float dtype name of a numpy dtype (None for integers)."""
    name = str(dt)
    return name if name in _FORMATS else None


def _keras_float_result_type(a: str | None, b: str) -> str:
    """Keras' ``result_type`` of a label dtype (``None``: an integer) and a float dtype:
    an integer takes the float's dtype; two floats the wider, float32 for the
    float16/bfloat16 mix (keras/src/backend/common/dtypes.py ``result_type``)."""
    if a is None or a == b:
        return b
    if "float64" in (a, b):
        return "float64"
    return "float32"


def _squeeze_or_expand(x1: np.ndarray, x2: np.ndarray, keras2: bool) -> tuple[np.ndarray, np.ndarray]:
    """Align the ranks of values ``x1`` and weights ``x2`` as Keras does.

    Keras 3 ``squeeze_or_expand_to_same_rank`` acts only when the ranks differ by one
    and the longer has a trailing 1. Keras 2 ``squeeze_or_expand_dimensions`` also
    expands [B] weights to [B, 1] against [B, T] values (``keras2=True``).
    """
    r1, r2 = np.ndim(x1), np.ndim(x2)
    if r1 == r2:
        return x1, x2
    if keras2:
        if r2 - r1 == 1 and x2.shape[-1] == 1:
            x2 = np.squeeze(x2, -1)
        elif r1 - r2 == 1:
            x2 = np.asarray(x2)[..., None]
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = np.asarray(x2)[..., None]
        else:
            x1 = np.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = np.asarray(x1)[..., None]
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def _broadcast_to(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(a, dtype=object), shape)
    except ValueError:
        raise OracleError("shape_mismatch", f"cannot broadcast shape {np.shape(a)} to {shape}") from None


def _broadcast_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(np.multiply(np.asarray(a, dtype=object), np.asarray(b, dtype=object)), dtype=object)
    except ValueError:
        raise OracleError("shape_mismatch", f"shapes {np.shape(a)} and {np.shape(b)} do not broadcast") from None


def _mean_axes(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod([a.shape[i] for i in axes])) if axes else 1
    s = np.asarray(a, dtype=object).sum(axis=axes)
    return np.asarray(s / mpf(n) if n else np.full(np.shape(s), _NAN, dtype=object), dtype=object)


# --------------------------------------------------------------------------- entry point
def truth(case: Case, dtype: str, profile: str, device: str = "cpu", dps: int = DEFAULT_DPS) -> Truth:
    """The truth of ``case`` in ``dtype`` under ``profile`` on ``device``.

    The case's own ``expect`` block wins: an explicit error or ``undefined`` for the
    profile is returned as such. Otherwise the profile's formula is evaluated; a
    semantic error it implies (an out-of-range label on CPU, an axis the path does not
    support) comes back as an ``error`` truth.
    """
    prof = get_profile(profile)
    expectation = case.expectation(profile, device)
    if expectation.kind == "error":
        return Truth("error", dtype, profile, error=expectation.error, reason=expectation.reason or "")
    if expectation.kind == "undefined":
        return Truth("undefined", dtype, profile, reason=expectation.reason or "implementation-defined")
    if case.check == "config":
        return Truth("undefined", dtype, profile, reason="config cases are checked by round trip, not by value")
    ev = _Eval(case, dtype, prof, device)
    run: Callable[[], np.ndarray]
    if case.api in ("metric", "compile_metric"):
        if case.steps is not None:
            steps = case.metric_steps(dtype)
            run = lambda: ev.metric(steps)  # noqa: E731
        else:
            from conformance.case import Step

            x = case.call_inputs(dtype)
            # model.evaluate reports the metric after one batch, as a scalar.
            run = lambda: ev.metric([Step("update_state", x), Step("result")])[0]  # noqa: E731
    elif case.api in ("loss_class", "compile_loss"):
        x = case.call_inputs(dtype)
        run = lambda: ev.loss_class(x)  # noqa: E731
    else:
        x = case.call_inputs(dtype)
        run = lambda: ev.loss_function(x)  # noqa: E731
    with mpmath.workdps(dps):
        try:
            out = run()
        except OracleError as exc:
            return Truth("error", dtype, profile, error=exc.category, reason=exc.reason, dps=dps)
        except _Undefined as exc:
            return Truth("undefined", dtype, profile, reason=str(exc), dps=dps)
        arr = np.asarray(out, dtype=object)
        values = tuple(+mpf(v) for v in arr.ravel())
    return Truth("value", dtype, profile, shape=tuple(arr.shape), values=values, dps=dps)


def is_stable(case: Case, dtype: str, profile: str, device: str = "cpu", digits: int = 40) -> bool:
    """True when doubling the working precision leaves the truth unchanged to ``digits``."""
    a = truth(case, dtype, profile, device)
    b = truth(case, dtype, profile, device, dps=2 * DEFAULT_DPS)
    if (a.kind, a.error, a.shape) != (b.kind, b.error, b.shape):
        return False
    return a.decimal(digits) == b.decimal(digits)
