"""The adapter plug-in API: how an implementation under test is called.

An adapter is a thin shim between a :class:`~conformance.case.Case` and one
implementation. It declares which semantic profile it claims, its dtypes and devices,
says which cases it cannot express (they become ``skip`` with the reason), and runs a
case, returning the raw outputs or raising :class:`PortableError`. It knows nothing
about tolerances or verdicts: :mod:`conformance.compare` decides those.

Minimal third-party adapter::

    from conformance.adapters.base import Adapter, PortableError

    class MyAdapter(Adapter):
        name = "mylib"
        profile = "keras3-generic"

        def run(self, case, dtype, device="cpu"):
            x = case.call_inputs(dtype)
            ...                       # call mylib on x.y_true, x.y_pred, x.sample_weight
            return numpy_array_of_outputs
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from conformance.case import Case
from conformance.vocabulary import ERROR_CATEGORIES


class PortableError(Exception):
    """An exception raised by an implementation, mapped to a portable category.

    ``category`` is one of :data:`conformance.vocabulary.ERROR_CATEGORIES`;
    ``exc_type`` and ``message`` keep the original exception for the report.
    """

    def __init__(self, category: str, message: str, exc_type: str | None = None) -> None:
        if category not in ERROR_CATEGORIES:
            raise ValueError(f"unknown error category {category!r}; use one of {sorted(ERROR_CATEGORIES)}")
        super().__init__(message)
        self.category = category
        self.message = message
        self.exc_type = exc_type

    def to_dict(self) -> dict[str, str | None]:
        return {"category": self.category, "type": self.exc_type, "message": self.message}


class Crash(Exception):
    """The implementation's process died or timed out (raised by the worker pool)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Adapter(ABC):
    """Base class of every adapter, built-in or third-party.

    Class attributes to set:

    ``name``
        Short, unique name used on the command line and in reports.
    ``profile``
        The semantic profile the implementation claims (see :mod:`conformance.profiles`).
    ``dtypes`` / ``devices``
        What it can run; other dtypes and devices are skipped with a reason.
    ``apis``
        The API surfaces it implements (loss_class, loss_function, metric, ...).
    ``isolated``
        True when it imports a framework: the runner then calls it in a worker process
        with a per-case timeout, so a segfault or a hang only costs one cell.
    """

    name: ClassVar[str] = "unnamed"
    profile: ClassVar[str] = "keras3-tensorflow"
    dtypes: ClassVar[tuple[str, ...]] = ("float32", "float64")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    apis: ClassVar[tuple[str, ...]] = ("loss_class", "loss_function", "metric")
    isolated: ClassVar[bool] = False
    description: ClassVar[str] = ""

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this adapter cannot run on this machine at all (its framework is not
        installed), or None. Checked before the adapter is instantiated, so it must not
        import the framework: ``importlib.util.find_spec`` is the way to ask."""
        return None

    def versions(self) -> dict[str, str]:
        """Versions of the implementation and what it depends on, for the report."""
        return {}

    def device_unavailable(self, device: str) -> str | None:
        """Why ``device`` cannot be used here (for example no GPU is visible), or None."""
        return None if device in self.devices else f"{self.name} does not run on {device}"

    def skip_reason(self, case: Case, dtype: str, device: str) -> str | None:
        """Why this adapter cannot express ``case`` in ``dtype`` on ``device``, or None.

        Override to add capability checks; call ``super()`` to keep the standard ones.
        """
        if dtype not in self.dtypes:
            return f"{self.name} does not support dtype {dtype}"
        if case.api not in self.apis:
            return f"{self.name} does not implement the {case.api} API"
        return self.device_unavailable(device)

    @abstractmethod
    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        """Run ``case`` in ``dtype`` on ``device``.

        Returns the outputs as something :func:`numpy.asarray` accepts: the loss value
        (scalar or per-element array) or, for a metric case, one value per ``result``
        step. For ``check: config`` cases, returns the config dict. Raises
        :class:`PortableError` when the implementation raised.
        """

    def close(self) -> None:
        """Release resources (worker processes, sessions). Called once after a run."""


def as_output_array(value: Any) -> np.ndarray:
    """Normalise an adapter's return value to a numpy array without changing its dtype."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, (list, tuple)):
        parts = [as_output_array(v) for v in value]
        if not parts:
            return np.zeros((0,), dtype=np.float64)
        return np.stack([p.reshape(()) if p.size == 1 else p for p in parts])
    return np.asarray(value)
