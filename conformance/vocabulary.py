"""The controlled vocabulary shared by case files, the oracle, adapters and reports.

Everything that a case file may name (API surfaces, tags, dtypes, error categories,
semantic profiles) is listed here once, so the schema, the linter, the coverage
report and the HTML filters all agree on the same words.
"""

from __future__ import annotations

from typing import Final

#: The two API families; a case file holds the cases of one family.
FAMILIES: Final = ("sparse_categorical_crossentropy", "categorical_crossentropy")

#: Short names used in ids and tables.
FAMILY_SHORT: Final = {
    "sparse_categorical_crossentropy": "scce",
    "categorical_crossentropy": "cce",
}

#: The Keras class name of each family (the same name for the loss and the metric).
FAMILY_CLASS: Final = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
}

#: API surfaces. ``compile_loss``/``compile_metric`` run the object through
#: ``model.compile`` + ``model.evaluate`` and check the standalone value.
APIS: Final = ("loss_class", "loss_function", "metric", "compile_loss", "compile_metric")

#: Floating dtypes a case may be materialized in, narrowest first.
DTYPES: Final = ("bfloat16", "float16", "float32", "float64")

#: Integer dtypes for sparse labels.
LABEL_DTYPES: Final = ("int32", "int64", "float")

#: Keras 3 reductions plus the Keras 2 ``auto``; ``none`` also stands for Python ``None``.
REDUCTIONS: Final = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none", "auto")

#: How a case hands its inputs to the API: numpy arrays (default) or the plain nested
#: Python lists a documentation snippet literally writes.
INPUT_FORMS: Final = ("array", "python_list")

#: Portable error categories. Adapters map framework exceptions onto these, so a case
#: can say what must be raised without naming any framework's exception class.
ERROR_CATEGORIES: Final = {
    "invalid_label": "a label outside [0, num_classes) was rejected",
    "shape_mismatch": "y_true, y_pred or sample_weight shapes are incompatible",
    "invalid_argument": "a constructor or call argument value is rejected (bad reduction, unsupported axis, ...)",
    "invalid_input_type": "an input of an unsupported type or structure (e.g. nested Python lists)",
    "other": "any other exception; never expected by a case, always a finding",
}

#: Named semantic profiles: the divergent code paths of real Keras versions and backends.
#: Their behaviour is defined in :mod:`conformance.profiles`.
PROFILES: Final = ("keras3-tensorflow", "keras3-generic", "keras2")

#: Devices an adapter may run on.
DEVICES: Final = ("cpu", "gpu")

#: Tags, grouped only for documentation; a case may use any of them.
TAGS: Final = {
    # provenance
    "documented": "reproduces an example printed in a seed document",
    "derived": "a variant of a documented example (e.g. arrays instead of lists)",
    "keras-test": "taken from Keras' own unit tests",
    "doc-not-runnable": "the documented snippet does not run as written on some implementation",
    # inputs
    "probabilities": "y_pred holds probabilities (from_logits=False)",
    "logits": "y_pred holds logits (from_logits=True)",
    "unnormalised": "probability rows that do not sum to 1",
    "zero-row": "an all-zero probability row",
    "out-of-unit-range": "probabilities below 0 or above 1",
    "one-hot-prediction": "an exact one-hot prediction",
    "extreme-logits": "very large or very small logits",
    "non-finite": "inf or NaN in the inputs",
    "cancellation": "a tiny loss computed from large terms",
    "many-classes": "a large number of classes",
    "label-shape": "sparse labels of shape [B] vs [B,1]",
    "label-dtype": "int32 / int64 / float labels",
    "out-of-range-label": "labels outside [0, C)",
    "large-label": "labels not exactly representable in the loss dtype",
    "ignore-class": "ignore_class is set",
    "all-ignored": "every label is ignored",
    "sample-weight": "sample_weight is given",
    "weight-shape": "sample_weight of an unusual shape",
    "zero-weight": "sample weights that are zero",
    "negative-weight": "negative sample weights",
    "reduction": "exercises a reduction",
    "rank-1": "a single example without batch axis",
    "rank-3": "sequence-shaped inputs",
    "rank-4": "segmentation-shaped inputs",
    "empty-batch": "a batch of size zero",
    "one-class": "a single class",
    "axis": "a class axis other than -1",
    "half-precision": "float16 or bfloat16",
    "mixed-dtype": "a loss dtype that differs from the input dtype",
    "label-smoothing": "label_smoothing is set",
    "metric-state": "several update_state / reset_state calls",
    "config": "get_config / from_config round trip",
    "compile": "used through model.compile / model.evaluate",
    "error": "the API must raise",
    "implementation-defined": "profiles disagree; the case names which",
}
