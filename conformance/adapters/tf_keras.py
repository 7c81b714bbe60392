"""The ``tf-keras`` adapter: Keras 2 from the ``tf-keras`` package (profile ``keras2``).

Keras 2 differs from Keras 3 where the ``keras2`` profile says (a fully ignored batch
gives NaN, an empty batch 0.0, reduction ``'auto'``, ``reset_states()``, plain Python
lists accepted). Its loss classes take no ``dtype=``: a loss computes in the dtype of
its inputs, so float64 arrays give a float64 loss. The SparseCategoricalCrossentropy
*class* has no ``axis`` argument; a case with a non-default axis passes it anyway and
records the TypeError Keras 2 raises.

Isolated: ``TF_USE_LEGACY_KERAS=1`` is set and ``tf_keras`` imported in the worker.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any, Iterator

from conformance.adapters.base import Adapter
from conformance.case import Case


class TfKerasAdapter(Adapter):
    """Keras 2 (tf-keras) on TensorFlow."""

    name = "tf-keras"
    profile = "keras2"
    dtypes = ("float16", "float32", "float64")
    devices = ("cpu", "gpu")
    apis = ("loss_class", "loss_function", "metric", "compile_loss", "compile_metric")
    isolated = True
    description = "Keras 2 from tf-keras (TF_USE_LEGACY_KERAS=1)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        absent = [m for m in ("tensorflow", "tf_keras") if importlib.util.find_spec(m) is None]
        if absent:
            return f"{', '.join(absent)} not installed (pip install 'crossentropy-conformance[tf-keras]')"
        return None

    def __init__(self) -> None:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        import tf_keras

        from conformance.adapters._keras_common import KerasCaseRunner

        self.tf = tf
        self.keras = tf_keras
        self.runner = KerasCaseRunner(tf_keras, loss_dtype_arg=False, device_scope=self._device_scope)

    @contextlib.contextmanager
    def _device_scope(self, device: str) -> Iterator[None]:
        with self.tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
            yield

    def versions(self) -> dict[str, str]:
        import numpy

        return {
            "tf_keras": self.keras.__version__,
            "tensorflow": self.tf.__version__,
            "numpy": numpy.__version__,
            "gpus": str(len(self.tf.config.list_physical_devices("GPU"))),
        }

    def device_unavailable(self, device: str) -> str | None:
        if device not in self.devices:
            return f"{self.name} does not run on {device}"
        if device == "gpu" and not self.tf.config.list_physical_devices("GPU"):
            return f"no GPU visible to TensorFlow {self.tf.__version__}"
        return None

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        return self.runner.run(case, dtype, device)
