"""The package's own crossentropy implementation, in numpy: Keras names, Keras arguments.

A reference implementation of Keras' ``SparseCategoricalCrossentropy`` and
``CategoricalCrossentropy`` (loss functions, loss classes and metrics) that follows a
named semantic profile of :mod:`conformance.profiles` exactly as the oracle models it,
in bfloat16, float16, float32 and float64, to within one ULP of the exact result.

Usage, mirroring Keras::

    import numpy as np
    from conformance import numpy_impl as K

    y_true = np.array([1, 2])
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    K.SparseCategoricalCrossentropy()(y_true, y_pred)             # 1.1769392 (float32)
    K.sparse_categorical_crossentropy(y_true, y_pred)             # float64, per element
    m = K.metrics.SparseCategoricalCrossentropy()
    m.update_state(y_true, y_pred, sample_weight=[0.3, 0.7]); m.result()   # 1.6271976

Every entry point takes ``profile=``: ``keras3-tensorflow`` (default; the sparse path on
probabilities clips, then renormalises), ``keras3-generic`` (JAX / NumPy / Torch:
normalise, then clip) or ``keras2`` (tf-keras: ``auto`` reduction, NaN for a fully
ignored batch, [B] weights expanded against [B, T] losses, ...). :func:`api_for` gives
the whole API bound to one profile, so that ``from_config`` keeps it.

How it stays within one ULP: inputs are widened exactly to a work dtype (float64, or
the 80-bit ``np.longdouble`` for float64 results), every formula avoids cancellation
(``log1p`` forms, max-shifted log-sum-exp, sums of the non-target mass taken directly,
``math.fsum`` for reductions) and the result is rounded once to the output dtype. Only
what Keras computes in the dtype is rounded to it on the way: the clip bounds
``1e-7`` / ``1 - 1e-7`` and the label-smoothed targets.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from conformance.numpy_impl import metrics
from conformance.numpy_impl._core import EXTENDED_LONGDOUBLE, InvalidLabelError
from conformance.numpy_impl.losses import (
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from conformance.profiles import PROFILES, get_profile

__all__ = [
    "CategoricalCrossentropy",
    "EXTENDED_LONGDOUBLE",
    "InvalidLabelError",
    "SparseCategoricalCrossentropy",
    "api_for",
    "categorical_crossentropy",
    "metrics",
    "sparse_categorical_crossentropy",
]

#: The implementation's name, for reports.
IMPLEMENTATION = "crossentropy-conformance numpy reference implementation"


def _bind_class(cls: type, profile: str) -> type:
    """A subclass of ``cls`` whose default profile (and, for losses, default reduction)
    is that of ``profile``; ``from_config`` on it therefore keeps the profile."""
    default_reduction = "auto" if "auto" in get_profile(profile).reductions else None
    position = getattr(cls, "_reduction_position", None)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if default_reduction and position is not None and len(args) <= position and "reduction" not in kwargs:
            kwargs["reduction"] = default_reduction
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {
        "default_profile": profile,
        "__init__": __init__,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    })


@functools.lru_cache(maxsize=None)
def api_for(profile: str) -> SimpleNamespace:
    """The API bound to ``profile``: ``sparse_categorical_crossentropy``,
    ``categorical_crossentropy``, the two loss classes and ``metrics`` with the two
    metric classes. Keras 2 loss classes default to ``reduction="auto"``."""
    if profile not in PROFILES:
        get_profile(profile)  # raises KeyError listing the known profiles
    return SimpleNamespace(
        profile=profile,
        sparse_categorical_crossentropy=functools.partial(sparse_categorical_crossentropy, profile=profile),
        categorical_crossentropy=functools.partial(categorical_crossentropy, profile=profile),
        SparseCategoricalCrossentropy=_bind_class(SparseCategoricalCrossentropy, profile),
        CategoricalCrossentropy=_bind_class(CategoricalCrossentropy, profile),
        metrics=SimpleNamespace(
            SparseCategoricalCrossentropy=_bind_class(metrics.SparseCategoricalCrossentropy, profile),
            CategoricalCrossentropy=_bind_class(metrics.CategoricalCrossentropy, profile),
        ),
    )
