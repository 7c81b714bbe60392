"""Spec coverage: which documented arguments, and which classes of their values, the
cases exercise.

:data:`DOCUMENTED` lists, per family and API surface, every argument the seed
documents name (constructor, call and ``update_state`` arguments), and for each a set
of *value classes*: the kinds of values that behave differently (``from_logits``:
false / true; ``sample_weight``: none / scalar / per example / per element / zero /
negative; ...). A classifier maps a case to the classes it exercises, from its
arguments and from its materialized inputs, so a case cannot claim coverage it does
not have.

``conformance coverage --check`` fails when a documented argument has no case at all;
``--strict`` also fails on any value class without a case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from conformance.case import Case, Inputs, case_args

Classifier = Callable[[Case, Sequence[Inputs]], set[str]]

_SCCE, _CCE = "sparse_categorical_crossentropy", "categorical_crossentropy"


def _calls(case: Case) -> list[Inputs]:
    """Every set of call inputs of a case (one, or one per ``update_state``)."""
    if case.inputs is None and case.steps is None:
        return []  # a config case: constructor arguments only
    dtype = case.dtypes[0]
    m = case.materialize(dtype)
    if isinstance(m, Inputs):
        return [m]
    return [s.inputs for s in m if s.inputs is not None]


def _class_axis(case: Case, x: Inputs) -> int:
    ax = int(case_args(case).get("axis", -1))
    return ax % x.y_pred.ndim if x.y_pred.ndim else 0


# --------------------------------------------------------------------------- classifiers
def _from_logits(case: Case, xs: Sequence[Inputs]) -> set[str]:
    return {"true" if case_args(case).get("from_logits") else "false"}


def _ignore_class(case: Case, xs: Sequence[Inputs]) -> set[str]:
    ic = case_args(case).get("ignore_class")
    if ic is None:
        return {"none"}
    out = {"negative"} if ic < 0 else set()
    for x in xs:
        c = x.y_pred.shape[_class_axis(case, x)] if x.y_pred.ndim else 0
        if 0 <= ic < c:
            out.add("a real class")
        elif ic >= c:
            out.add("beyond the classes (e.g. 255)")
        labels = np.asarray(x.y_true)
        if labels.size and np.all(labels == ic):
            out.add("everything ignored")
    return out


def _axis(case: Case, xs: Sequence[Inputs]) -> set[str]:
    ax = int(case_args(case).get("axis", -1))
    out = set()
    for x in xs:
        nd = max(x.y_pred.ndim, 1)
        out.add("last (-1)" if ax % nd == nd - 1 else "another axis")
    return out or {"last (-1)"}


def _reduction(case: Case, xs: Sequence[Inputs]) -> set[str]:
    if "reduction" not in case.args:
        return {"default (sum_over_batch_size)"}
    r = case_args(case)["reduction"]
    return {str(r)}


def _name(case: Case, xs: Sequence[Inputs]) -> set[str]:
    return {"custom" if "name" in case.args else "default"}


def _dtype(case: Case, xs: Sequence[Inputs]) -> set[str]:
    out = set(case.dtypes)
    if case.input_dtype:
        out.add("differs from the input dtype")
    return out


def _y_true_sparse(case: Case, xs: Sequence[Inputs]) -> set[str]:
    out = set()
    for x in xs:
        yt, yp = x.y_true, x.y_pred
        out.add("float labels" if yt.dtype.kind == "f" else str(yt.dtype))
        if yt.ndim == yp.ndim and yt.ndim >= 1 and yt.shape[-1] == 1:
            out.add("shape [B,1]")
        elif yt.ndim == yp.ndim - 1:
            out.add("shape [B]" if yt.ndim == 1 else ("shape [] (one example)" if yt.ndim == 0 else "shape [B,d1,...]"))
        c = yp.shape[_class_axis(case, x)] if yp.ndim else 0
        ic = case_args(case).get("ignore_class")
        labels = np.asarray(yt, dtype=np.float64)
        valid = labels[labels != ic] if ic is not None else labels
        if valid.size and (np.any(valid < 0) or np.any(valid >= c)):
            out.add("out of range")
        if valid.size and np.any(valid > 2**24):
            out.add("above 2^24")
    return out


def _y_true_dense(case: Case, xs: Sequence[Inputs]) -> set[str]:
    out = set()
    for x in xs:
        yt = np.asarray(x.y_true, dtype=np.float64)
        if yt.size == 0:
            continue
        if np.all((yt == 0) | (yt == 1)):
            out.add("one-hot")
        else:
            out.add("soft labels")
        if np.any(yt < 0) or np.any(yt > 1):
            out.add("outside [0, 1]")
    return out


def _y_pred(case: Case, xs: Sequence[Inputs]) -> set[str]:
    logits = bool(case_args(case).get("from_logits"))
    out = set()
    for x in xs:
        p = np.asarray(x.y_pred, dtype=np.float64)
        out.add(f"rank {p.ndim}" if p.ndim != 2 else "rank 2")
        if p.size == 0:
            out.add("empty batch")
            continue
        ax = _class_axis(case, x)
        if p.ndim and p.shape[ax] == 1:
            out.add("one class")
        if p.ndim and p.shape[ax] >= 50_000:
            out.add(">= 50000 classes")
        if not np.all(np.isfinite(p)):
            out.add("nan or inf")
        fin = p[np.isfinite(p)]
        if logits:
            if fin.size and np.max(np.abs(fin)) >= 1e4:
                out.add("extreme logits")
            else:
                out.add("moderate logits")
        else:
            if fin.size and (np.any(fin < 0) or np.any(fin > 1)):
                out.add("outside [0, 1]")
            sums = np.sum(p, axis=ax) if p.ndim else p
            if np.any(sums == 0):
                out.add("all-zero row")
            elif np.all(np.isfinite(sums)) and not np.allclose(sums, 1.0, atol=1e-6):
                out.add("unnormalised")
            else:
                out.add("normalised")
    return out


def _sample_weight(case: Case, xs: Sequence[Inputs]) -> set[str]:
    out = set()
    for x in xs:
        sw = x.sample_weight
        if sw is None:
            out.add("none")
            continue
        w = np.asarray(sw, dtype=np.float64)
        loss_ndim = max(x.y_pred.ndim - 1, 0)
        if w.ndim == 0:
            out.add("scalar")
        elif w.ndim == 1 and loss_ndim >= 1:
            out.add("per example [B]")
        elif w.ndim == 2 and w.shape[-1] == 1:
            out.add("[B,1]")
        else:
            out.add("per element")
        if w.size and np.any(w == 0):
            out.add("zero")
        if w.size and np.any(w < 0):
            out.add("negative")
    return out


def _label_smoothing(case: Case, xs: Sequence[Inputs]) -> set[str]:
    ls = float(case_args(case).get("label_smoothing", 0.0))
    return {"0" if ls == 0 else ("1" if ls == 1 else "between 0 and 1")}


def _metric_ops(case: Case, xs: Sequence[Inputs]) -> set[str]:
    if case.steps is None:
        return {"one update_state"}
    ops = [s if isinstance(s, str) else "update_state" for s in case.steps]
    out = set()
    if ops.count("update_state") > 1:
        out.add("several update_state")
    else:
        out.add("one update_state")
    if any(o in ("reset_state", "reset_states") for o in ops):
        out.add("reset_state")
    if ops and ops[0] == "result":
        out.add("result before update")
    return out


@dataclass(frozen=True)
class Argument:
    """A documented argument and the value classes worth a case each."""

    name: str
    classes: tuple[str, ...]
    classify: Classifier


_SAMPLE_WEIGHT = Argument("sample_weight", ("none", "scalar", "per example [B]", "[B,1]", "per element", "zero",
                                            "negative"), _sample_weight)
_FROM_LOGITS = Argument("from_logits", ("false", "true"), _from_logits)
_AXIS = Argument("axis", ("last (-1)", "another axis"), _axis)
_NAME = Argument("name", ("default", "custom"), _name)
_DTYPE = Argument("dtype", ("float16", "bfloat16", "float32", "float64", "differs from the input dtype"), _dtype)
#: The loss functions and Keras 3 metrics compute in the input dtype: no second dtype.
_DTYPE_INPUT = Argument("dtype", ("float16", "bfloat16", "float32", "float64"), _dtype)
_REDUCTION = Argument("reduction", ("default (sum_over_batch_size)", "sum_over_batch_size", "sum", "none"),
                      _reduction)
_IGNORE = Argument("ignore_class", ("none", "negative", "beyond the classes (e.g. 255)", "a real class",
                                    "everything ignored"), _ignore_class)
_SMOOTH = Argument("label_smoothing", ("0", "between 0 and 1", "1"), _label_smoothing)
_Y_PRED = Argument("y_pred", ("rank 2", "rank 1", "rank 3", "rank 4", "empty batch", "one class", "normalised",
                              "unnormalised", "all-zero row", "outside [0, 1]", "moderate logits", "extreme logits",
                              "nan or inf", ">= 50000 classes"), _y_pred)
_Y_TRUE_SPARSE = Argument("y_true", ("shape [B]", "shape [B,1]", "int32", "int64", "float labels", "out of range",
                                     "above 2^24"), _y_true_sparse)
_Y_TRUE_DENSE = Argument("y_true", ("one-hot", "soft labels"), _y_true_dense)
_METRIC_OPS = Argument("update_state / reset_state / result",
                       ("one update_state", "several update_state", "reset_state", "result before update"),
                       _metric_ops)

#: (family, API) → the documented arguments. The loss class and the metric are the
#: pages of seeds 000/001/003; the function forms are the R pages 002/004.
DOCUMENTED: Mapping[tuple[str, str], tuple[Argument, ...]] = {
    (_SCCE, "loss_class"): (_Y_TRUE_SPARSE, _Y_PRED, _SAMPLE_WEIGHT, _FROM_LOGITS, _IGNORE, _AXIS, _REDUCTION,
                            _NAME, _DTYPE),
    (_SCCE, "loss_function"): (_Y_TRUE_SPARSE, _Y_PRED, _FROM_LOGITS, _IGNORE, _AXIS, _DTYPE_INPUT),
    (_SCCE, "metric"): (_Y_TRUE_SPARSE, _Y_PRED, _SAMPLE_WEIGHT, _FROM_LOGITS, _AXIS, _NAME, _DTYPE_INPUT,
                        _METRIC_OPS),
    (_CCE, "loss_class"): (_Y_TRUE_DENSE, _Y_PRED, _SAMPLE_WEIGHT, _FROM_LOGITS, _SMOOTH, _AXIS, _REDUCTION,
                           _NAME, _DTYPE),
    (_CCE, "loss_function"): (_Y_TRUE_DENSE, _Y_PRED, _FROM_LOGITS, _SMOOTH, _AXIS, _DTYPE_INPUT),
    (_CCE, "metric"): (_Y_TRUE_DENSE, _Y_PRED, _SAMPLE_WEIGHT, _FROM_LOGITS, _SMOOTH, _AXIS, _NAME, _DTYPE_INPUT,
                       _METRIC_OPS),
}


@dataclass
class Row:
    """Coverage of one argument of one API: cases per value class."""

    family: str
    api: str
    argument: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def gaps(self) -> list[str]:
        return [c for c, n in self.counts.items() if n == 0]


def coverage(cases: Iterable[Case]) -> list[Row]:
    """A row per (family, API, documented argument), counting cases per value class.

    ``compile_*`` cases count for the loss class / metric they compile; ``check:
    config`` cases count for the constructor arguments they set.
    """
    counts: dict[tuple[str, str, str], dict[str, int]] = {}
    for (family, api), args in DOCUMENTED.items():
        for a in args:
            counts[(family, api, a.name)] = {c: 0 for c in a.classes}
    for case in cases:
        api = {"compile_loss": "loss_class", "compile_metric": "metric"}.get(case.api, case.api)
        args = DOCUMENTED.get((case.family, api))
        if not args:
            continue
        xs = _calls(case)
        for a in args:
            if case.check == "config" and a.name not in ("name", "dtype", "from_logits", "axis", "reduction",
                                                          "ignore_class", "label_smoothing"):
                continue
            row = counts[(case.family, api, a.name)]
            for cls in a.classify(case, xs):
                row[cls] = row.get(cls, 0) + 1
    return [Row(f, api, arg, c) for (f, api, arg), c in counts.items()]


def uncovered_arguments(rows: Sequence[Row]) -> list[Row]:
    """Documented arguments with no case at all (``coverage --check`` fails on these)."""
    return [r for r in rows if r.total == 0]


def by_api(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    out: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        out[(r.family, r.api)].append(r)
    return out
