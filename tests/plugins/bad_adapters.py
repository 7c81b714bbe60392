"""Adapters that misbehave on purpose, for tests/test_worker.py.

Loaded as ``bad_adapters:ClassName`` with this folder on the import path, the way a
third-party plug-in is. Each behaves like the example NumPy adapter except on the case
ids listed in its ``trouble``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any

import numpy as np

from conformance.case import Case, case_args
from examples.my_adapter import EPSILON, NumpyCrossentropyAdapter, reduce


class WrongAdapter(NumpyCrossentropyAdapter):
    """Forgets to renormalise probability rows in the sparse loss class:
    ``-log(clip(p[y]))``. Right on rows that sum to 1, wrong on the TF 1.14 example
    (0.0946 instead of 0.3239)."""

    name = "wrong-numpy"

    def _run(self, case: Case, dt: Any) -> Any:
        args = case_args(case)
        if case.api != "loss_class" or not case.sparse or args["from_logits"]:
            return super()._run(case, dt)
        x = case.call_inputs(np.dtype(dt).name)
        p = np.clip(np.asarray(x.y_pred, dtype=dt), dt(EPSILON), dt(1) - dt(EPSILON))
        labels = np.asarray(x.y_true).astype(np.int64)
        losses = -np.log(np.take_along_axis(p, labels[..., None], axis=-1)[..., 0])
        return reduce(losses, x.sample_weight, None, args["reduction"], dt)


class _TroubleAdapter(NumpyCrossentropyAdapter):
    isolated = True
    trouble: dict[str, str] = {}

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        what = self.trouble.get(case.id)
        if what == "segfault":
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        elif what == "sigsegv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif what == "abort":
            os.abort()
        elif what == "hang":
            time.sleep(3600)
        elif what == "memoryerror":
            raise MemoryError("cannot allocate 64 GiB")
        elif what == "oom-kill":
            os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does
        elif what == "exit":
            os._exit(3)
        elif what == "raise":
            raise RuntimeError("adapter bug: not a portable error")
        return super().run(case, dtype, device)


class SegfaultAdapter(_TroubleAdapter):
    name = "segfaulting"
    trouble = {"scce-doc-002-class-sum": "segfault", "cce-doc-004-class-sum": "abort"}


class HangAdapter(_TroubleAdapter):
    name = "hanging"
    trouble = {"scce-doc-002-class-sum": "hang"}


class OutOfMemoryAdapter(_TroubleAdapter):
    name = "out-of-memory"
    trouble = {
        "scce-doc-002-class-sum": "memoryerror",
        "cce-doc-004-class-sum": "oom-kill",
        "scce-doc-002-class-none": "exit",
        "cce-doc-004-class-none": "raise",
    }


class BrokenInitAdapter(NumpyCrossentropyAdapter):
    """Cannot even be constructed (its framework 'is missing')."""

    name = "broken-init"
    isolated = True

    def __init__(self) -> None:
        raise ImportError("No module named 'mylib'")
