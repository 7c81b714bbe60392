"""Find and load adapters: by built-in name, by ``module:Class``, or by entry point.

Three ways to name an implementation on the command line (``--adapter SPEC``):

``numpy``, ``tensorflow``, ...
    A built-in adapter (:data:`BUILTIN`).
``package.module:Class``
    Any importable class deriving from :class:`~conformance.adapters.base.Adapter`;
    the current directory is on the import path, so a file ``my_adapter.py`` next to
    where ``conformance`` runs is ``my_adapter:MyAdapter``.
``name``
    A name registered by an installed package in the ``conformance.adapters``
    entry-point group, e.g. in its ``pyproject.toml``::

        [project.entry-points."conformance.adapters"]
        mylib = "mylib_conformance:MyLibAdapter"

An adapter class may define a classmethod ``unavailable_reason()`` that says, without
importing its framework, why it cannot run here (the framework is not installed);
:func:`load_adapter` then raises :class:`AdapterLoadError` with that reason.

An adapter whose class sets ``isolated = True`` is not instantiated here: it is
returned wrapped in :class:`conformance.adapters.worker.IsolatedAdapter`, which
instantiates it in a worker process so that a segfault, a hang or an out-of-memory
only costs the cell that caused it.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from pathlib import Path

from conformance.adapters.base import Adapter

ENTRY_POINT_GROUP = "conformance.adapters"

#: Built-in adapters: name -> ``module:Class``. Framework modules import their
#: framework lazily, so listing them costs nothing when the framework is absent.
BUILTIN: dict[str, str] = {
    "numpy": "conformance.adapters.numpy_impl:NumpyAdapter",
    "numpy-generic": "conformance.adapters.numpy_impl:NumpyGenericAdapter",
    "numpy-keras2": "conformance.adapters.numpy_impl:NumpyKeras2Adapter",
    "tensorflow": "conformance.adapters.tensorflow:TensorFlowAdapter",
    "tf-keras": "conformance.adapters.tf_keras:TfKerasAdapter",
    "keras-jax": "conformance.adapters.keras_backends:KerasJaxAdapter",
    "keras-torch": "conformance.adapters.keras_backends:KerasTorchAdapter",
    "keras-numpy": "conformance.adapters.keras_backends:KerasNumpyAdapter",
}

#: The embedded default implementation.
DEFAULT_ADAPTER = "numpy"


class AdapterLoadError(Exception):
    """An adapter spec that cannot be resolved; the message says how to fix it."""


def entry_point_specs() -> dict[str, str]:
    """Adapters registered by installed packages: name -> ``module:Class``."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def known_adapters() -> dict[str, str]:
    """Every adapter name that can be given on the command line, built-ins first."""
    specs = dict(entry_point_specs())
    specs.update(BUILTIN)  # a plug-in cannot shadow a built-in name
    return {**BUILTIN, **{k: v for k, v in specs.items() if k not in BUILTIN}}


def resolve_class(spec: str) -> type[Adapter]:
    """The adapter class named by ``spec`` (see the module docstring)."""
    target = known_adapters().get(spec, spec)
    if ":" not in target:
        names = ", ".join(known_adapters())
        raise AdapterLoadError(
            f"unknown adapter {spec!r}: use a built-in name ({names}), "
            f"'package.module:Class', or a name registered in the {ENTRY_POINT_GROUP!r} entry-point group"
        )
    module_name, _, class_name = target.partition(":")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        if spec in BUILTIN and module_name.startswith("conformance.adapters."):
            hint = "; install the framework it needs (see `conformance list --adapters`)"
        raise AdapterLoadError(f"adapter {spec!r}: cannot import module {module_name!r}: {exc}{hint}") from exc
    try:
        cls = getattr(module, class_name)
    except AttributeError:
        raise AdapterLoadError(f"adapter {spec!r}: module {module_name!r} has no attribute {class_name!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise AdapterLoadError(
            f"adapter {spec!r}: {target} is not a subclass of conformance.adapters.base.Adapter"
        )
    return cls


def load_adapter(spec: str, *, timeout: float | None = None) -> Adapter:
    """Instantiate the adapter named by ``spec``.

    Isolated adapters come back wrapped in a worker-process proxy; ``timeout`` is its
    per-case limit in seconds (None: the worker's default).
    """
    cls = resolve_class(spec)
    check = getattr(cls, "unavailable_reason", None)
    reason = check() if callable(check) else None
    if reason:
        raise AdapterLoadError(f"adapter {spec!r} cannot run here: {reason}")
    if cls.isolated:
        from conformance.adapters.worker import IsolatedAdapter

        target = known_adapters().get(spec, spec)
        return IsolatedAdapter(cls, target, timeout=timeout)
    try:
        return cls()
    except Exception as exc:  # a plug-in's constructor is third-party code
        raise AdapterLoadError(f"adapter {spec!r}: {cls.__name__}() raised {type(exc).__name__}: {exc}") from exc
