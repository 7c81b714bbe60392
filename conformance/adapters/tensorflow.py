"""The ``tensorflow`` adapter: Keras 3 through ``tf.keras`` (TensorFlow 2.16 and later).

Runs the loss classes (constructed with ``dtype=`` so that float64 cases compute and
return float64), the loss functions, the metrics, and the ``model.compile`` /
``model.evaluate`` usage. Devices ``cpu`` and ``gpu`` (``tf.device('/GPU:0')``); the GPU
is skipped with a reason when TensorFlow sees none. Isolated: the runner calls it in a
worker process (:mod:`conformance.adapters.worker`), where TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any, Iterator

from conformance.adapters.base import Adapter
from conformance.case import Case


def _missing(*modules: str) -> str | None:
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if absent:
        return f"{', '.join(absent)} not installed (pip install 'crossentropy-conformance[tensorflow]')"
    return None


class TensorFlowAdapter(Adapter):
    """Keras 3 on TensorFlow, as ``tf.keras``."""

    name = "tensorflow"
    profile = "keras3-tensorflow"
    dtypes = ("bfloat16", "float16", "float32", "float64")
    devices = ("cpu", "gpu")
    apis = ("loss_class", "loss_function", "metric", "compile_loss", "compile_metric")
    isolated = True
    description = "Keras 3 through tf.keras (TensorFlow backend)"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this adapter cannot be loaded here (checked without importing TF)."""
        return _missing("tensorflow")

    def __init__(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes"):
            raise RuntimeError("TF_USE_LEGACY_KERAS is set: tf.keras would be Keras 2; use the tf-keras adapter")
        import tensorflow as tf

        from conformance.adapters._keras_common import KerasCaseRunner

        self.tf = tf
        self.keras = tf.keras
        version = getattr(self.keras, "__version__", "0")
        if not str(version).startswith("3"):
            raise RuntimeError(f"tf.keras is Keras {version}, not Keras 3")
        self.runner = KerasCaseRunner(self.keras, loss_dtype_arg=True, device_scope=self._device_scope)

    @contextlib.contextmanager
    def _device_scope(self, device: str) -> Iterator[None]:
        name = "/GPU:0" if device == "gpu" else "/CPU:0"
        with self.tf.device(name):
            yield

    def versions(self) -> dict[str, str]:
        tf = self.tf
        out = {"tensorflow": tf.__version__, "keras": str(self.keras.__version__)}
        try:
            import numpy

            out["numpy"] = numpy.__version__
        except ImportError:  # pragma: no cover
            pass
        gpus = tf.config.list_physical_devices("GPU")
        out["gpus"] = str(len(gpus))
        info = tf.sysconfig.get_build_info()
        if info.get("cuda_version"):
            out["cuda_build"] = str(info.get("cuda_version"))
        return out

    def device_unavailable(self, device: str) -> str | None:
        if device not in self.devices:
            return f"{self.name} does not run on {device}"
        if device == "gpu" and not self.tf.config.list_physical_devices("GPU"):
            return f"no GPU visible to TensorFlow {self.tf.__version__}"
        return None

    def skip_reason(self, case: Case, dtype: str, device: str) -> str | None:
        return super().skip_reason(case, dtype, device)

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        return self.runner.run(case, dtype, device)
