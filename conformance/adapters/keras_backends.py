"""Keras 3 on its other backends: ``keras-jax``, ``keras-torch``, ``keras-numpy``.

Each uses the standalone ``keras`` package with ``KERAS_BACKEND`` set before ``keras`` is
imported. The backend is process-global, so every one of these adapters is isolated: it
runs in its own worker process (:mod:`conformance.adapters.worker`). They claim the
``keras3-generic`` profile: the sparse loss on probabilities normalises, then clips.

On JAX, 64-bit mode (``jax_enable_x64``) is switched on in the worker so that float64
cases compute in float64, as they do on the other backends; ``versions()`` says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any, ClassVar, Iterator

from conformance.adapters.base import Adapter
from conformance.case import Case


class _KerasBackendAdapter(Adapter):
    """Shared code: import Keras on ``backend`` in this (worker) process."""

    backend: ClassVar[str] = ""
    framework: ClassVar[str] = ""  # the module the backend needs
    extra: ClassVar[str] = ""  # the pyproject extra that installs it
    profile = "keras3-generic"
    dtypes = ("bfloat16", "float16", "float32", "float64")
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    apis = ("loss_class", "loss_function", "metric", "compile_loss", "compile_metric")
    isolated = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this backend cannot run here (checked without importing it), or None."""
        absent = [m for m in ("keras", cls.framework) if m and importlib.util.find_spec(m) is None]
        if absent:
            return f"{', '.join(absent)} not installed (pip install 'crossentropy-conformance[{cls.extra}]')"
        return None

    def __init__(self) -> None:
        reason = self.unavailable_reason()
        if reason:
            raise ImportError(f"{self.name}: {reason}")
        already = os.environ.get("KERAS_BACKEND")
        import sys

        if "keras" in sys.modules and already not in (None, self.backend):
            raise RuntimeError(
                f"keras is already imported with KERAS_BACKEND={already!r} in this process; "
                f"{self.name} needs its own process (load it through the registry)"
            )
        os.environ["KERAS_BACKEND"] = self.backend
        self.prepare()
        import keras

        if keras.backend.backend() != self.backend:
            raise RuntimeError(
                f"keras was imported with the {keras.backend.backend()!r} backend before {self.name} "
                f"could select {self.backend!r}; run it in its own process"
            )
        from conformance.adapters._keras_common import KerasCaseRunner

        self.keras = keras
        self.runner = KerasCaseRunner(keras, loss_dtype_arg=True, device_scope=self._device_scope)

    def prepare(self) -> None:
        """Set backend options before keras is imported."""

    @contextlib.contextmanager
    def _device_scope(self, device: str) -> Iterator[None]:
        if device == "cpu" and self.devices == ("cpu",):
            yield
            return
        with self.keras.device("gpu:0" if device == "gpu" else "cpu:0"):
            yield

    def versions(self) -> dict[str, str]:
        import numpy

        return {"keras": self.keras.__version__, "backend": self.backend, "numpy": numpy.__version__}

    def device_unavailable(self, device: str) -> str | None:
        if device not in self.devices:
            return f"{self.name} does not run on {device}"
        if device == "gpu" and not self.gpu_visible():
            return f"no GPU visible to {self.framework}"
        return None

    def gpu_visible(self) -> bool:
        return False

    def run(self, case: Case, dtype: str, device: str = "cpu") -> Any:
        return self.runner.run(case, dtype, device)


class KerasJaxAdapter(_KerasBackendAdapter):
    """Keras 3 on JAX (``KERAS_BACKEND=jax``, 64-bit mode on)."""

    name = "keras-jax"
    backend = "jax"
    framework = "jax"
    extra = "jax"
    devices = ("cpu", "gpu")
    description = "Keras 3 on the JAX backend (jax_enable_x64 on)"

    def prepare(self) -> None:
        os.environ.setdefault("JAX_ENABLE_X64", "1")

    def versions(self) -> dict[str, str]:
        import jax
        import jaxlib

        out = super().versions()
        out.update(jax=jax.__version__, jaxlib=jaxlib.__version__,
                   jax_enable_x64=str(bool(jax.config.jax_enable_x64)).lower())
        return out

    def gpu_visible(self) -> bool:
        import jax

        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:
            return False


class KerasTorchAdapter(_KerasBackendAdapter):
    """Keras 3 on PyTorch (``KERAS_BACKEND=torch``)."""

    name = "keras-torch"
    backend = "torch"
    framework = "torch"
    extra = "torch"
    devices = ("cpu", "gpu")
    description = "Keras 3 on the PyTorch backend"

    def versions(self) -> dict[str, str]:
        import torch

        out = super().versions()
        out["torch"] = torch.__version__
        out["cuda"] = str(torch.version.cuda)
        return out

    def gpu_visible(self) -> bool:
        import torch

        return bool(torch.cuda.is_available())


class KerasNumpyAdapter(_KerasBackendAdapter):
    """Keras 3 on its NumPy backend (``KERAS_BACKEND=numpy``; inference only, CPU)."""

    name = "keras-numpy"
    backend = "numpy"
    # numpy is always there, but Keras 3.15's NumPy backend imports jax (its conv ops) and scipy.
    framework = "jax"
    extra = "jax"
    devices = ("cpu",)
    # model.fit needs gradients, but model.evaluate runs on the NumPy backend.
    description = "Keras 3 on the NumPy backend"
