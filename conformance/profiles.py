"""Named semantic profiles: the code paths on which real Keras implementations diverge.

A profile is a set of behaviour switches. The oracle computes the truth under a profile,
every adapter claims one, and a case whose result depends on the profile says so in its
``expect`` block. A semantic difference is therefore never hidden behind a loose
tolerance: it is a different profile, with a name.

Sources for every switch are in ``docs/profiles.md`` (measured on TensorFlow 2.21,
Keras 3.15.1 and tf-keras 2.21).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Profile:
    """Behaviour switches of one family of Keras code paths."""

    name: str
    description: str
    #: Sparse loss on probabilities: ``clip_then_renormalise`` (TF: clip, log, then
    #: log-softmax) or ``normalise_then_clip`` (JAX/NumPy/Torch and every categorical path).
    sparse_probability_path: str
    #: Keras 3 ``Loss.__call__`` converts y_true to the loss dtype before the sparse
    #: function casts it back to int, so large labels are rounded.
    labels_cast_to_loss_dtype: bool
    #: Mean reductions with every element ignored: Keras 3 ``divide_no_nan`` gives 0,
    #: Keras 2 ``total / valid`` gives NaN.
    all_ignored_mean_is_nan: bool
    #: A reduced loss over an empty batch: Keras 3 returns the empty array unreduced,
    #: Keras 2 returns 0.0.
    empty_batch_returns_empty: bool
    #: Per-sample weights [B] with per-element losses [B, T]: Keras 2 expands them to
    #: [B, 1]; Keras 3 broadcasts against the last axis (wrong axis when B == T).
    expand_rank1_weights: bool
    #: The metric's count with ignore_class and no sample weight: Keras 3 (>= 3.14)
    #: counts ignored samples too; Keras 2 counts only the valid ones.
    metric_ignore_counts_valid_only: bool
    #: Reductions the loss classes accept.
    reductions: tuple[str, ...]
    #: Sparse ``axis`` values other than -1: supported by the path or rejected.
    sparse_axis_supported: bool
    #: Label smoothing's class count: ``axis`` (correct) or ``last`` (Keras 3 <= 3.15.1,
    #: keras#23451: ``shape(y_true)[-1]`` whatever the axis).
    smoothing_classes_from: str
    #: Whether the loss class accepts plain nested Python lists (Keras 3 does not).
    accepts_python_lists: bool
    #: A sparse label outside [0, C) that is not ignored, per device: ``error``
    #: (invalid_label), ``nan`` (that element's loss is NaN) or ``undefined``
    #: (backend-specific: JAX gives 0, NumPy raises or gives -0, Torch raises).
    out_of_range_label: tuple[tuple[str, str], ...] = (("cpu", "error"), ("gpu", "nan"))
    #: Where sparse labels are compared with ``ignore_class``. ``pred_dtype`` (Keras 3):
    #: ``ops.not_equal(y_true, ops.cast(ignore_class, y_pred.dtype))``
    #: (keras/src/losses/losses.py:2355), i.e. in the promoted dtype of the labels and
    #: y_pred, which for integer labels is y_pred's float dtype: in float32 label
    #: 2^24 + 1 equals ignore_class 2^24, in bfloat16 ignore_class 257 becomes 256 (and
    #: matches labels 256 and 257). The labels used for the loss itself stay as given.
    #: ``int64`` (Keras 2): target and ignore_class are both cast to int64
    #: (tf_keras/src/backend.py:5727, 5771), an exact integer comparison.
    ignore_class_compared_in: str = "pred_dtype"
    #: Keras 2 ``MeanMetricWrapper.update_state`` casts y_true (and y_pred) to the metric
    #: dtype before the loss function (tf_keras/src/metrics/base_metric.py:707), so sparse
    #: labels are rounded (2^24 + 1 becomes 2^24 in float32). Keras 3's wrapper passes
    #: y_true through untouched (keras/src/metrics/reduction_metrics.py:201-203).
    metric_casts_labels_to_metric_dtype: bool = False
    #: Keras 3 ``LossFunctionWrapper.call`` aligns y_true and y_pred with
    #: ``squeeze_or_expand_to_same_rank`` before the loss function
    #: (keras/src/losses/losses.py:29-31): a (B,) target against (B, 1) predictions is
    #: expanded to (B, 1). Loss classes only; the functions and the metrics do not.
    loss_class_aligns_ranks: bool = True

    def out_of_range_behaviour(self, device: str) -> str:
        """What an out-of-range label does on ``device``."""
        return dict(self.out_of_range_label).get(device, "undefined")


KERAS3_REDUCTIONS: Final = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none")
KERAS2_REDUCTIONS: Final = ("sum", "sum_over_batch_size", "none", "auto")

PROFILES: Final[dict[str, Profile]] = {
    p.name: p
    for p in (
        Profile(
            name="keras3-tensorflow",
            description="Keras 3 on the TensorFlow backend (tf.keras in TF 2.16+)",
            sparse_probability_path="clip_then_renormalise",
            labels_cast_to_loss_dtype=True,
            all_ignored_mean_is_nan=False,
            empty_batch_returns_empty=True,
            expand_rank1_weights=False,
            metric_ignore_counts_valid_only=False,
            reductions=KERAS3_REDUCTIONS,
            sparse_axis_supported=False,
            smoothing_classes_from="last",
            accepts_python_lists=False,
        ),
        Profile(
            name="keras3-generic",
            description="Keras 3 on the JAX, NumPy and Torch backends",
            sparse_probability_path="normalise_then_clip",
            labels_cast_to_loss_dtype=True,
            all_ignored_mean_is_nan=False,
            empty_batch_returns_empty=True,
            expand_rank1_weights=False,
            metric_ignore_counts_valid_only=False,
            reductions=KERAS3_REDUCTIONS,
            sparse_axis_supported=False,
            smoothing_classes_from="last",
            accepts_python_lists=False,
            out_of_range_label=(("cpu", "undefined"), ("gpu", "undefined")),
        ),
        Profile(
            name="keras2",
            description="Keras 2 (tf-keras 2.x, the TF 1.14-2.15 tf.keras)",
            sparse_probability_path="clip_then_renormalise",
            labels_cast_to_loss_dtype=False,
            all_ignored_mean_is_nan=True,
            empty_batch_returns_empty=False,
            expand_rank1_weights=True,
            metric_ignore_counts_valid_only=True,
            reductions=KERAS2_REDUCTIONS,
            sparse_axis_supported=True,
            smoothing_classes_from="axis",
            accepts_python_lists=True,
            ignore_class_compared_in="int64",
            metric_casts_labels_to_metric_dtype=True,
            loss_class_aligns_ranks=False,
        ),
    )
}

DEFAULT_PROFILE: Final = "keras3-tensorflow"


def get_profile(name: str) -> Profile:
    """The profile called ``name``; raises ``KeyError`` listing the known names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}") from None
