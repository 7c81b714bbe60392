"""Helpers shared by the adapter tests: run a cell and judge it as the runner does."""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.adapters.base import Adapter, PortableError
from conformance.case import Case
from conformance.compare import Comparison, judge, tolerance_for
from conformance.oracle import truth


def output_array(case: Case, out: Any) -> Any:
    """An adapter's output in the shape the oracle's truth has (metric: one value per result)."""
    if isinstance(out, list):
        return np.array([np.asarray(o).reshape(()) for o in out])
    return out


def run_cell(adapter: Adapter, case: Case, dtype: str, device: str = "cpu",
             profile: str | None = None) -> tuple[Comparison, Any, PortableError | None]:
    """(verdict, raw output, portable error) of one cell against the oracle."""
    t = truth(case, dtype, profile or adapter.profile, device)
    try:
        out, err = adapter.run(case, dtype, device), None
    except PortableError as exc:
        out, err = None, exc
    comparison = judge(t, tolerance_for(case, dtype), output=None if err else output_array(case, out),
                       error=None if err is None else err.to_dict())
    return comparison, out, err


def make_case(**kw: Any) -> Case:
    """An ad-hoc case (defaults: sparse loss class, float32)."""
    base: dict[str, Any] = dict(id="adhoc", family="sparse_categorical_crossentropy", api="loss_class",
                                title="ad hoc", args={}, dtypes=("float32",), tags=(), file="<test>", line=1)
    base.update(kw)
    return Case(**base)
