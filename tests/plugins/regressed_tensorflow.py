"""TensorFlow with an injected regression, for tests/test_baselines.py.

Named ``tensorflow`` so that its cells match the committed TensorFlow baseline: every
cell behaves exactly like the real adapter except ``REGRESSED_CASE``, whose output is
made 1% too large, as a broken kernel upgrade would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conformance.adapters.tensorflow import TensorFlowAdapter
from conformance.case import Case

REGRESSED_CASE = "scce-doc-002-class-default"


class RegressedTensorFlow(TensorFlowAdapter):
    name = "tensorflow"

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        out = super().run(case, dtype, device)
        if case.id == REGRESSED_CASE:
            arr = np.asarray(out)
            return arr * np.asarray(1.01, dtype=arr.dtype)
        return out
