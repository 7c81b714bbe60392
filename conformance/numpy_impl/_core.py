"""Numerical kernels and the reduction machinery of the numpy implementation.

Everything here works on a *work dtype* wider than the output dtype and rounds once at
the end (:func:`to_dtype`): float64 for bfloat16 / float16 / float32 outputs, and
``np.longdouble`` for float64 outputs where it is the x87 80-bit format (64-bit
mantissa; Linux on x86_64). Where ``np.longdouble`` is plain float64 (Windows, most
ARM machines) float64 results are computed in float64 and are accurate to a few ULP
rather than to one.

Only the steps Keras itself performs *in the dtype* are rounded to the dtype on the way:
the clip bounds ``epsilon`` and ``1 - epsilon`` and the label-smoothed targets. Every
formula is written so that a tiny loss is never the difference of two large numbers:

* logits: ``(max - z_y) + log1p(sum_{i != argmax} exp(z_i - max))``, both terms >= 0;
* probabilities near 1: ``-log(p_j / S) = log1p(others_j / p_j)`` with ``others_j`` summed
  directly (never ``S - p_j``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from conformance.profiles import Profile

try:  # bfloat16 has no numpy dtype of its own.
    import ml_dtypes

    _BFLOAT16: Any = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a core dependency
    _BFLOAT16 = None

#: Keras' fuzz factor ``keras.config.epsilon()``; converted to the dtype at the clip.
EPSILON = 1e-7

#: The dtype of inputs given as Python lists or integers (Keras' ``floatx()``).
FLOATX = "float32"

#: True when ``np.longdouble`` carries more precision than float64.
EXTENDED_LONGDOUBLE: bool = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant

_DTYPES = ("bfloat16", "float16", "float32", "float64")


class InvalidLabelError(IndexError):
    """A sparse label outside ``[0, num_classes)`` that is not ignored (the CPU
    behaviour of TensorFlow's sparse kernel)."""


# --------------------------------------------------------------------------- dtypes
def dtype_name(dtype: Any) -> str:
    """The canonical name of a floating dtype (``"float32"``, ``"bfloat16"``, ...)."""
    if dtype is None:
        return FLOATX
    name = getattr(dtype, "name", None) or str(dtype)
    if name not in _DTYPES:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            pass
    if name not in _DTYPES:
        raise ValueError(f"Invalid value for argument `dtype`: expected one of {_DTYPES}. Received: dtype={dtype!r}")
    return name


def np_dtype(name: str) -> np.dtype:
    """The numpy dtype of a dtype name."""
    if name == "bfloat16":
        if _BFLOAT16 is None:  # pragma: no cover
            raise RuntimeError("bfloat16 needs the ml_dtypes package")
        return _BFLOAT16
    return np.dtype(name)


def work_dtype(name: str) -> np.dtype:
    """The dtype the computation runs in for an output of dtype ``name``."""
    if name == "float64" and EXTENDED_LONGDOUBLE:
        return np.dtype(np.longdouble)
    return np.dtype(np.float64)


def float_dtype_of(x: Any) -> str | None:
    """The floating dtype name of an array-like, or None for lists / integers."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    try:
        return dtype_name(dt)
    except ValueError:
        return None


def to_dtype(x: Any, name: str) -> np.ndarray:
    """Round work-precision values to dtype ``name`` once, correctly (nearest, ties to even).

    numpy rounds float64 -> float32 / float16 and longdouble -> float64 correctly, but
    ml_dtypes rounds float64 -> bfloat16 through float32, a double rounding
    (1 + 2**-8 + 2**-30 becomes 1.0 instead of 1.0078125). For bfloat16 the value is
    therefore first rounded to float32 *to odd*, which makes the second rounding exact
    (24 >= 8 + 2 bits).
    """
    a = np.asarray(x)
    if name != "bfloat16":
        return a.astype(np_dtype(name))
    x64 = a.astype(np.float64)
    with np.errstate(all="ignore"):
        x32 = x64.astype(np.float32)
        inexact = np.isfinite(x64) & (x32.astype(np.float64) != x64)
        even = (np.atleast_1d(x32).view(np.uint32) & 1).reshape(x32.shape) == 0
        toward = np.nextafter(x32, np.where(x64 > x32.astype(np.float64), np.float32(np.inf), np.float32(-np.inf)))
        x32 = np.where(inexact & even, toward, x32)
    return np.asarray(x32).astype(_BFLOAT16)


def dtype_const(value: float, name: str) -> Any:
    """A Python float as the implementation sees it (rounded to ``name``), in work precision."""
    return np.asarray(value, dtype=np.float64).astype(np_dtype(name)).astype(work_dtype(name))[()]


def to_work(x: np.ndarray, name: str) -> np.ndarray:
    """Dtype values widened (exactly) to the work dtype of ``name``."""
    return np.asarray(x).astype(np.float64).astype(work_dtype(name))


# --------------------------------------------------------------------------- accurate sums
def exact_sum(values: np.ndarray, work: np.dtype) -> Any:
    """The sum of ``values`` (any float array) in ``work`` precision, nearly exactly.

    ``math.fsum`` gives the correctly rounded float64 sum; for a longdouble work dtype
    each value is split into two float64 parts and the float64 residual of the sum is
    added back, so the result carries ~64 correct bits even under heavy cancellation.
    Non-finite inputs fall back to numpy's IEEE sum (inf, -inf, NaN as numpy gives them).
    """
    v = np.asarray(values).ravel()
    if v.size == 0:
        return work.type(0)
    if not np.all(np.isfinite(v)):
        return np.sum(v.astype(work))
    hi = v.astype(np.float64)
    if work == np.dtype(np.float64) or v.dtype == np.dtype(np.float64):
        parts = hi
    else:
        with np.errstate(all="ignore"):
            lo = (v - hi.astype(v.dtype)).astype(np.float64)
        if not (np.all(np.isfinite(hi)) and np.all(np.isfinite(lo))):
            return np.sum(v.astype(work))
        parts = np.concatenate([hi, lo])
    try:
        s1 = math.fsum(parts.tolist())
    except OverflowError:
        return np.sum(v.astype(work))
    if work == np.dtype(np.float64) or not math.isfinite(s1):
        return work.type(s1)
    residual = math.fsum(parts.tolist() + [-s1])
    return work.type(s1) + work.type(residual)


def _row_sums(p: np.ndarray) -> np.ndarray:
    """Row sums of a finite (N, C) work array. Rows of non-negative values are summed by
    numpy (pairwise, no cancellation possible); rows with negative entries exactly."""
    s = p.sum(axis=1)
    mixed = np.flatnonzero((p < 0).any(axis=1) & np.isfinite(p).all(axis=1))
    for i in mixed:
        s[i] = exact_sum(p[i], p.dtype)
    return s


# --------------------------------------------------------------------------- per-row kernels
def _logits_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (N, C) logits: ``max`` m, ``log1p(sum_{i != argmax} exp(z_i - m))`` and a mask of
    rows that are NaN (a NaN, a +inf, or every logit -inf: inf - inf in every max-shifted
    kernel)."""
    n, c = z.shape
    fin = np.isfinite(z)
    bad = np.isnan(z).any(axis=1) | np.isposinf(z).any(axis=1) | ~fin.any(axis=1)
    zm = np.where(fin, z, -np.inf)
    k = np.argmax(zm, axis=1)  # the first index holding the max, as the oracle picks it
    rows = np.arange(n)
    m = zm[rows, k]
    m = np.where(bad, 0, m).astype(z.dtype)
    e = np.where(fin, np.exp(np.where(fin, z, 0) - m[:, None]), 0).astype(z.dtype)
    e[rows, k] = 0
    lse_minus_m = np.log1p(e.sum(axis=1))
    return m, lse_minus_m, bad


def sparse_logits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``logsumexp(z) - z_y`` per row of (N, C) logits, without cancellation."""
    m, lse, bad = _logits_parts(z)
    out = (m - z[np.arange(z.shape[0]), y]) + lse
    out[bad] = np.nan
    return out


def categorical_logits(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``sum_j t_j (logsumexp(z) - z_j)`` per row. A zero target skips a finite term (no
    0 * x), while 0 * inf stays NaN as in IEEE arithmetic."""
    m, lse, bad = _logits_parts(z)
    terms = (m[:, None] - z) + lse[:, None]
    contrib = np.where((t == 0) & np.isfinite(z), 0, t * terms)
    out = contrib.sum(axis=1)
    out[bad] = np.nan
    return out


def sparse_clip_then_renormalise(p: np.ndarray, y: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """TensorFlow's sparse path: ``clip(p) -> log -> log-softmax``, i.e.
    ``-log(c_y / sum c) = log1p(sum_{i != y} c_i / c_y)``; every ``c_i >= lo > 0`` so
    the ratio has no cancellation. A NaN anywhere in the row gives NaN; +-inf clip."""
    n = p.shape[0]
    rows = np.arange(n)
    c = np.clip(p, lo, hi)
    cy = c[rows, y]
    others_mask = np.ones(p.shape, dtype=bool)
    others_mask[rows, y] = False
    others = np.where(others_mask, c, 0).sum(axis=1)
    out = np.log1p(others / cy)
    out[np.isnan(p).any(axis=1)] = np.nan
    return out


def normalise_then_clip(p: np.ndarray, t: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """Every categorical path (and the non-TF sparse path with one-hot targets):
    ``q = p / sum(p)`` -> ``clip(q, lo, hi)`` -> ``-sum t log``.

    A row with a NaN or an infinity is NaN; a row summing to exactly 0 gives
    ``q = 0/0 = NaN`` for its zero entries and +-inf (then clipped) for the others.
    Where ``q`` is unclipped and above 1/2, ``-log q`` is evaluated as
    ``log1p(others_j / p_j)`` so that a near-certain prediction keeps its digits.
    """
    n, c = p.shape
    bad = ~np.isfinite(p).all(axis=1)
    pf = np.where(bad[:, None], 0, p)
    s = _row_sums(pf)
    zero = s == 0
    q = np.where(zero[:, None], np.where(pf == 0, np.nan, np.copysign(np.inf, pf)), pf / np.where(zero, 1, s)[:, None])
    q[bad] = np.nan
    cl = np.clip(q, lo, hi)
    term = -np.log(cl)
    near_one = (cl == q) & (q > 0.5)
    if near_one.any():
        nonneg_rows = (pf >= 0).all(axis=1)
        # Non-negative rows: at most one q_j > 1/2, and sum_{i != j} p_i has no cancellation.
        fast = near_one & nonneg_rows[:, None]
        if fast.any():
            rows, cols = np.nonzero(fast)
            sub = pf[rows].copy()
            sub[np.arange(rows.size), cols] = 0
            term[rows, cols] = np.log1p(sub.sum(axis=1) / pf[rows, cols])
        for i, j in zip(*np.nonzero(near_one & ~nonneg_rows[:, None])):
            row = pf[i].copy()
            row[j] = 0
            term[i, j] = np.log1p(exact_sum(row, p.dtype) / pf[i, j])
    term[np.isnan(cl)] = np.nan
    contrib = np.where((t == 0) & np.isfinite(term), 0, t * term)
    out = contrib.sum(axis=1)
    out[np.isnan(term).any(axis=1)] = np.nan
    return out


# --------------------------------------------------------------------------- elementwise losses
def _result_float(label_dtype: np.dtype, pred_dtype: str) -> str:
    """Keras ``result_type`` of the labels' dtype and y_pred's float dtype: integers take
    y_pred's dtype; two floats the wider, float32 for the float16 / bfloat16 mix."""
    try:
        a = dtype_name(label_dtype)
    except ValueError:
        return pred_dtype  # integer labels
    if a == pred_dtype:
        return a
    return "float64" if "float64" in (a, pred_dtype) else "float32"


def ignore_mask(labels: np.ndarray, ignore_class: Any, dtype: str, profile: Profile) -> np.ndarray:
    """``labels != ignore_class`` as the profile compares them.

    Keras 3 (``ops.not_equal(y_true, ops.cast(ignore_class, y_pred.dtype))``,
    keras/src/losses/losses.py:2355) compares in the promoted dtype of the labels and
    y_pred, y_pred's float dtype for integer labels: both sides are rounded to it, so in
    float32 2**24 + 1 equals 2**24 and in bfloat16 257 equals 256. Keras 2 casts both to
    int64 (tf_keras/src/backend.py:5727, 5771): an exact comparison of truncated labels.
    """
    if profile.ignore_class_compared_in == "pred_dtype":
        cmp = np_dtype(_result_float(labels.dtype, dtype))
        with np.errstate(over="ignore"):
            lab = labels.astype(np.float64).astype(cmp).astype(np.float64)
            ign = float(np.asarray(float(ignore_class)).astype(cmp))
        return lab != ign
    labels_f = labels.astype(np.float64)
    with np.errstate(invalid="ignore"):
        lab = np.where(np.isfinite(labels_f), np.trunc(labels_f), labels_f)
    return lab != float(int(ignore_class))


def sparse_elementwise(
    labels: np.ndarray,
    pred: np.ndarray,
    *,
    dtype: str,
    from_logits: bool,
    ignore_class: Any,
    profile: Profile,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-element sparse losses (work precision) and the ignore_class valid mask.

    ``labels`` has the shape of ``pred`` without its (last) class axis; it may be
    integer or float (float labels are truncated toward zero, as every backend casts).
    """
    work = work_dtype(dtype)
    batch_shape = pred.shape[:-1]
    n_classes = pred.shape[-1]
    labels_f = np.asarray(labels).astype(np.float64).reshape(-1)
    valid = None if ignore_class is None else ignore_mask(np.asarray(labels).reshape(-1), ignore_class, dtype, profile)
    keep = np.ones(labels_f.shape, dtype=bool) if valid is None else valid
    with np.errstate(all="ignore"):
        trunc = np.trunc(labels_f)
        in_range = np.isfinite(labels_f) & (trunc >= 0) & (trunc < n_classes)
    bad = keep & ~in_range
    nan_rows = np.zeros(labels_f.shape, dtype=bool)
    if bad.any():
        behaviour = profile.out_of_range_behaviour(device)
        if behaviour == "nan":
            nan_rows = bad
        else:
            first = labels_f[np.flatnonzero(bad)[0]]
            raise InvalidLabelError(
                f"Received a label value of {first:g} which is out of range: labels must be in [0, {n_classes})"
            )
    y = np.where(keep & in_range, trunc, 0).astype(np.intp)
    p = to_work(pred, dtype).reshape(-1, n_classes)
    out = np.zeros(y.shape, dtype=work)
    compute = keep & in_range
    if compute.any():
        idx = np.flatnonzero(compute)
        ps, ys = p[idx], y[idx]
        with np.errstate(all="ignore"):
            if from_logits:
                out[idx] = sparse_logits(ps, ys)
            elif profile.sparse_probability_path == "clip_then_renormalise":
                out[idx] = sparse_clip_then_renormalise(ps, ys, dtype_const(EPSILON, dtype), dtype_const(1.0 - EPSILON, dtype))
            else:
                t = np.zeros(ps.shape, dtype=work)
                t[np.arange(ys.size), ys] = 1
                out[idx] = normalise_then_clip(ps, t, dtype_const(EPSILON, dtype), dtype_const(1.0 - EPSILON, dtype))
    out[nan_rows] = np.nan
    return out.reshape(batch_shape), (None if valid is None else valid.reshape(batch_shape))


def categorical_elementwise(targets: np.ndarray, pred: np.ndarray, *, dtype: str, from_logits: bool) -> np.ndarray:
    """Per-element categorical losses (work precision), class axis last on both inputs."""
    work = work_dtype(dtype)
    batch_shape = pred.shape[:-1]
    n_classes = pred.shape[-1]
    p = to_work(pred, dtype).reshape(-1, n_classes)
    t = to_work(targets, dtype).reshape(-1, n_classes)
    if p.shape[0] == 0:
        return np.zeros(batch_shape, dtype=work)
    with np.errstate(all="ignore"):
        if from_logits:
            out = categorical_logits(p, t)
        else:
            out = normalise_then_clip(p, t, dtype_const(EPSILON, dtype), dtype_const(1.0 - EPSILON, dtype))
    return out.reshape(batch_shape)


def smooth_labels(y_true: np.ndarray, label_smoothing: float, n_classes: int, dtype: str) -> np.ndarray:
    """``y * (1 - ls) + ls / C`` evaluated in the dtype, step by step, as Keras does:
    ``1 - ls`` is a Python float converted to the dtype, ``ls / C`` a dtype division."""
    dt = np_dtype(dtype)
    a = np.asarray(1.0 - label_smoothing, dtype=np.float64).astype(dt)
    b = (np.asarray(label_smoothing, dtype=np.float64).astype(dt) / np.asarray(n_classes, dtype=np.float64).astype(dt)).astype(dt)
    return ((np.asarray(y_true).astype(dt) * a).astype(dt) + b).astype(dt)


# --------------------------------------------------------------------------- reductions
def squeeze_or_expand(x1: np.ndarray, x2: np.ndarray, keras2: bool) -> tuple[np.ndarray, np.ndarray]:
    """Align the ranks of values ``x1`` and weights ``x2`` as Keras does.

    Keras 3 ``squeeze_or_expand_to_same_rank`` acts only when the ranks differ by one and
    the longer one has a trailing 1: a rank-1 shorter one is expanded, otherwise the
    longer is squeezed. Keras 2 ``squeeze_or_expand_dimensions`` squeezes trailing-1
    weights and expands [B] weights to [B, 1] against [B, T] values.
    """
    x1, x2 = np.asarray(x1), np.asarray(x2)
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if keras2:
        if r2 - r1 == 1 and x2.shape[-1] == 1:
            x2 = np.squeeze(x2, -1)
        elif r1 - r2 == 1:
            x2 = x2[..., None]
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = x2[..., None]
        else:
            x1 = np.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = x1[..., None]
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def broadcast_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a * b`` with numpy broadcasting; a shape error says which shapes."""
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(f"Shapes {np.shape(a)} and {np.shape(b)} could not be broadcast together (sample_weight vs losses)") from None
    return np.multiply(a, b)


def reduce_loss(
    values: np.ndarray,
    sample_weight: np.ndarray | None,
    mask: np.ndarray | None,
    reduction: str,
    profile: Profile,
) -> np.ndarray:
    """Keras' ``reduce_weighted_values``: apply the ignore mask and the sample weights,
    then reduce. Values and weights are in work precision; so is the result.

    Mean-like reductions with a mask rescale valid elements by ``total / valid`` (the
    denominator becomes the valid count); with every element ignored Keras 3 gives 0
    (``divide_no_nan``) and Keras 2 NaN. ``mean_with_sample_weight`` divides by the sum
    of the *un-broadcast* weights, as Keras does.
    """
    work = values.dtype
    if reduction == "auto":
        reduction = "sum_over_batch_size"
    keras2 = profile.expand_rank1_weights
    weights = sample_weight
    mean_like = reduction in ("sum_over_batch_size", "mean")
    if mask is not None:
        total, valid = mask.size, int(mask.sum())
        if mean_like:
            if valid == 0:
                factor = work.type(np.nan) if profile.all_ignored_mean_is_nan else work.type(0)
            else:
                factor = work.type(total) / work.type(valid)
            float_mask = np.where(mask, factor, work.type(0)).astype(work)
            if valid == 0 and profile.all_ignored_mean_is_nan:
                float_mask = np.full(mask.shape, np.nan, dtype=work)  # inf * 0 in Keras 2
        else:
            float_mask = mask.astype(work)
        if weights is None:
            weights = float_mask
        else:
            weights = broadcast_mul(*squeeze_or_expand(weights, float_mask, keras2))
    if weights is not None:
        values, weights = squeeze_or_expand(values, weights, keras2)
        values = broadcast_mul(values, weights)
    if reduction == "none":
        return values
    if values.shape == () or (values.shape == (0,) and profile.empty_batch_returns_empty):
        return values
    loss = exact_sum(values, work)
    if reduction == "sum":
        return np.asarray(loss, dtype=work)
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = exact_sum(weights, work)
    else:
        divisor = work.type(values.size)
    if divisor == 0:
        return np.asarray(0, dtype=work)  # divide_no_nan: 0 even for a NaN numerator
    return np.asarray(loss / divisor, dtype=work)


def mean_axes(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Mean over ``axes`` (NaN for an empty reduction, as 0/0)."""
    n = int(np.prod([a.shape[i] for i in axes])) if axes else 1
    s = np.asarray(a).sum(axis=axes)
    with np.errstate(all="ignore"):
        return np.asarray(s / a.dtype.type(n) if n else np.full(np.shape(s), np.nan, dtype=a.dtype))


def metric_update(values: np.ndarray, sample_weight: np.ndarray | None, mask: np.ndarray | None, profile: Profile) -> tuple[Any, Any]:
    """The (total, count) one ``update_state`` adds, in work precision.

    Keras 3 (``MeanMetricWrapper`` + ``Mean``): the ignore mask is applied only when a
    sample weight is given (without one, ignored samples add 0 to the total but still 1
    to the count); values are mean-reduced to per-sample values, the count is the sum of
    the per-sample weights. Keras 2 broadcasts the weights to the values and always
    counts only the valid elements.
    """
    work = values.dtype
    w = sample_weight
    if profile.metric_ignore_counts_valid_only:
        return _metric_update_keras2(values, w, mask)
    if mask is not None and w is not None:
        m = mask.astype(work)
        w = broadcast_mul(*squeeze_or_expand(w, m, False))
    if w is not None:
        values, w = squeeze_or_expand(values, w, False)
        if values.ndim > w.ndim:
            values = mean_axes(values, tuple(range(w.ndim, values.ndim)))
        try:
            w = np.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(f"Shapes {np.shape(w)} and {values.shape} could not be broadcast together (sample_weight vs values)") from None
        values = broadcast_mul(values, w)
        if w.ndim > 1:
            w = mean_axes(w, tuple(range(1, w.ndim)))
    if values.ndim > 1:
        values = mean_axes(values, tuple(range(1, values.ndim)))
    total = exact_sum(values, work)
    if w is not None:
        count = exact_sum(w, work)
    elif values.ndim >= 1:
        count = work.type(values.shape[0])
    else:
        count = work.type(1)
    return total, count


def _metric_update_keras2(values: np.ndarray, w: np.ndarray | None, mask: np.ndarray | None) -> tuple[Any, Any]:
    """tf-keras ``MeanMetricWrapper`` + ``Reduce.update_state``: the valid mask times the
    weights (``apply_mask``: ``squeeze_or_expand_dimensions(mask, sample_weight=sw)``),
    then ``squeeze_or_expand_dimensions(values, sample_weight=sw)`` ([B, 1] weights on [B]
    values are squeezed, [B] weights on [B, T] values expanded), ``broadcast_weights``
    (rank 0 or the same rank, each dimension 1 or equal), else the values are
    mean-reduced to the weights' rank. The count is the sum of the weights."""
    work = values.dtype
    if mask is not None:
        m = mask.astype(work)
        if w is None:
            w = m
        else:
            m2, w2 = squeeze_or_expand(m, w, True)
            w = broadcast_mul(w2, m2)
    if w is None:
        return exact_sum(values, work), work.type(values.size)
    values, w = squeeze_or_expand(values, w, True)
    if w.ndim == 0 or (w.ndim == values.ndim and all(a in (1, b) for a, b in zip(w.shape, values.shape))):
        w = np.broadcast_to(w, values.shape)
    elif values.ndim > w.ndim:
        values = mean_axes(values, tuple(range(w.ndim, values.ndim)))
    return exact_sum(broadcast_mul(values, w), work), exact_sum(w, work)
