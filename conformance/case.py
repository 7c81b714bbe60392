"""The case model: one authored case, and the exact inputs it materializes to.

A :class:`Case` is what a YAML entry in ``cases/`` becomes after loading and schema
validation (see :mod:`conformance.loader`). :meth:`Case.materialize` turns its literals
into the arrays an implementation actually receives: every float literal is rounded to
the dtype first, so the oracle and every adapter see the very same binary inputs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from conformance.vocabulary import FAMILY_CLASS, FAMILY_SHORT

try:  # bfloat16 has no numpy dtype of its own; ml_dtypes is a core dependency.
    import ml_dtypes

    _BFLOAT16: Any = ml_dtypes.bfloat16
except ImportError:  # pragma: no cover - ml_dtypes is declared in pyproject
    _BFLOAT16 = None


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype for a dtype name of :data:`conformance.vocabulary.DTYPES`."""
    if name == "bfloat16":
        if _BFLOAT16 is None:
            raise RuntimeError("bfloat16 needs the ml_dtypes package: pip install ml-dtypes")
        return np.dtype(_BFLOAT16)
    return np.dtype(name)


def parse_float(value: Any) -> float:
    """A case literal as a Python float.

    Numbers pass through; strings may be ``inf``, ``-inf``, ``nan`` or C99 hex floats
    (``0x1.99999ap-4``) so that exact binary values can be written down.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower().lstrip("+-").startswith("0x"):
            return float.fromhex(text)
        return float(text)
    raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")


# --------------------------------------------------------------------------- generators
def generate(spec: Mapping[str, Any]) -> np.ndarray:
    """Expand a generator literal (for inputs too large to write out) into float64/int64.

    Supported ``generator`` values: ``full`` (value), ``arange`` (start, step),
    ``random_normal`` (seed, loc, scale), ``random_uniform`` (seed, low, high),
    ``random_integers`` (seed, low, high: half-open), ``eye`` (an identity matrix, n).
    Random generators use numpy's PCG64, whose streams are stable across platforms.
    """
    kind = spec["generator"]
    shape = tuple(spec.get("shape", ()))
    if kind == "full":
        return np.full(shape, parse_float(spec["value"]), dtype=np.float64)
    if kind == "arange":
        n = int(np.prod(shape)) if shape else 1
        start = parse_float(spec.get("start", 0.0))
        step = parse_float(spec.get("step", 1.0))
        return (start + step * np.arange(n, dtype=np.float64)).reshape(shape)
    if kind == "eye":
        return np.eye(int(spec["n"]), dtype=np.float64)
    rng = np.random.Generator(np.random.PCG64(int(spec["seed"])))
    if kind == "random_normal":
        return rng.normal(parse_float(spec.get("loc", 0.0)), parse_float(spec.get("scale", 1.0)), shape)
    if kind == "random_uniform":
        return rng.uniform(parse_float(spec.get("low", 0.0)), parse_float(spec.get("high", 1.0)), shape)
    if kind == "random_integers":
        return rng.integers(int(spec["low"]), int(spec["high"]), shape, dtype=np.int64)
    raise ValueError(f"unknown generator {kind!r}")


def literal_array(value: Any) -> np.ndarray:
    """A case's literal (nested lists, scalar or generator mapping) as a float64 array."""
    if isinstance(value, Mapping):
        return np.asarray(generate(value), dtype=np.float64)
    if isinstance(value, list):
        return np.array(_map_nested(value, parse_float), dtype=np.float64).reshape(nested_shape(value))
    return np.array(parse_float(value), dtype=np.float64)


def _map_nested(value: Any, fn: Any) -> Any:
    if isinstance(value, list):
        return [_map_nested(v, fn) for v in value]
    return fn(value)


def nested_shape(value: Any) -> tuple[int, ...]:
    """The shape of a nested list, read along its first elements (ragged lists are the
    linter's business)."""
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def round_to(values: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values to ``dtype`` (round-to-nearest-even, as numpy and TF convert)."""
    return np.asarray(values, dtype=np.float64).astype(numpy_dtype(dtype))


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class Provenance:
    """Where a documented example comes from, and what the document printed."""

    seed: str
    section: str
    printed: str | list[str] | None = None
    digits: int | list[int] | None = None
    dtype: str | None = None
    api_as_written: str | None = None
    #: ``rounded`` (default) or ``truncated``: some pages print a value cut after the
    #: last digit shown (TF 1.14 prints 0.32396814 as "0.3239").
    printing: str = "rounded"
    note: str | None = None

    def printed_values(self) -> list[str]:
        """The printed values as a flat list (empty when the document printed none)."""
        if self.printed is None:
            return []
        return list(self.printed) if isinstance(self.printed, list) else [self.printed]

    def printed_digits(self) -> list[int]:
        n = len(self.printed_values())
        if self.digits is None:
            return []
        return list(self.digits) if isinstance(self.digits, list) else [self.digits] * n


@dataclass(frozen=True)
class Expectation:
    """What a profile expects of a case: a value computed by the oracle, a portable error,
    or ``undefined`` (implementation-defined under that profile; the cell is skipped)."""

    kind: str  # "value" | "error" | "undefined"
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ToleranceOverride:
    """A per-case tolerance: bounds per dtype, always with the reason they differ."""

    bounds: Mapping[str, Mapping[str, float]]
    reason: str


@dataclass(frozen=True)
class Inputs:
    """The exact inputs of one call, in the dtypes an implementation receives them."""

    y_true: np.ndarray
    y_pred: np.ndarray
    sample_weight: np.ndarray | None = None

    def as_python(self) -> dict[str, Any]:
        """The same inputs as plain nested Python lists (for ``input_form: python_list``)."""
        out: dict[str, Any] = {"y_true": self.y_true.tolist(), "y_pred": self.y_pred.tolist()}
        out["sample_weight"] = None if self.sample_weight is None else self.sample_weight.tolist()
        return out


@dataclass(frozen=True)
class Step:
    """One metric operation: ``update_state`` (with inputs), ``result`` or ``reset_state``."""

    op: str
    inputs: Inputs | None = None


@dataclass(frozen=True, eq=False)
class Case:
    """One authored case, validated. Build it with :func:`conformance.loader.load_cases`."""

    id: str
    family: str
    api: str
    title: str
    args: Mapping[str, Any]
    dtypes: tuple[str, ...]
    tags: tuple[str, ...]
    file: str
    line: int
    inputs: Mapping[str, Any] | None = None
    steps: tuple[Mapping[str, Any] | str, ...] | None = None
    input_form: str = "array"
    label_dtype: str | None = None
    input_dtype: str | None = None
    provenance: Provenance | None = None
    expect: Mapping[str, Expectation] = field(default_factory=dict)
    tolerance: ToleranceOverride | None = None
    check: str = "value"
    notes: str | None = None
    #: ``check: config`` cases: the keys ``get_config()`` must return, per profile (or
    #: ``default``). See :meth:`expected_config_keys`.
    config_keys: Mapping[str, tuple[str, ...]] | None = None

    # ---------------------------------------------------------------- naming
    @property
    def class_name(self) -> str:
        """``SparseCategoricalCrossentropy`` or ``CategoricalCrossentropy``."""
        return FAMILY_CLASS[self.family]

    @property
    def short_family(self) -> str:
        return FAMILY_SHORT[self.family]

    @property
    def sparse(self) -> bool:
        return self.family == "sparse_categorical_crossentropy"

    @property
    def is_metric(self) -> bool:
        return self.api in ("metric", "compile_metric")

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    # ---------------------------------------------------------------- semantics
    def expectation(self, profile: str, device: str = "cpu") -> Expectation:
        """The expectation for ``profile`` on ``device``: ``profile/device`` beats
        ``profile``, which beats ``default``; without any entry the oracle computes a value."""
        for key in (f"{profile}/{device}", profile, "default"):
            if key in self.expect:
                return self.expect[key]
        return Expectation("value")

    def expected_config_keys(self, profile: str) -> tuple[str, ...] | None:
        """The exact key set ``get_config()`` must return under ``profile`` (sorted), or
        None when the case names none for it (``profile`` beats ``default``)."""
        if not self.config_keys:
            return None
        for key in (profile, "default"):
            if key in self.config_keys:
                return tuple(sorted(self.config_keys[key]))
        return None

    @property
    def distinguished_profiles(self) -> tuple[str, ...]:
        """Profiles this case names explicitly: it sits in implementation-defined territory."""
        return tuple(sorted({k.split("/")[0] for k in self.expect if k != "default"}))

    # ---------------------------------------------------------------- materialization
    def materialize(self, dtype: str) -> Inputs | tuple[Step, ...]:
        """The exact inputs for ``dtype``: :class:`Inputs` for a call, or the metric's
        :class:`Step` sequence. Cached: materializing is deterministic."""
        return _materialize(self, dtype)

    def call_inputs(self, dtype: str) -> Inputs:
        """The inputs of a non-metric case (raises for metric cases)."""
        m = self.materialize(dtype)
        if not isinstance(m, Inputs):
            raise TypeError(f"{self.id} is a metric case; use materialize() for its steps")
        return m

    def metric_steps(self, dtype: str) -> tuple[Step, ...]:
        """The steps of a metric case (raises for other cases)."""
        m = self.materialize(dtype)
        if isinstance(m, Inputs):
            raise TypeError(f"{self.id} is not a metric case")
        return m


def _materialize_inputs(case: Case, raw: Mapping[str, Any], dtype: str) -> Inputs:
    in_dtype = case.input_dtype or dtype
    y_pred = round_to(literal_array(raw["y_pred"]), in_dtype)
    y_true_raw = literal_array(raw["y_true"])
    if case.sparse:
        label_dtype = case.label_dtype or "int64"
        if label_dtype == "float":
            y_true = round_to(y_true_raw, in_dtype)
        else:
            if np.any(np.isfinite(y_true_raw) & (y_true_raw != np.trunc(y_true_raw))):
                raise ValueError(f"{case.location}: y_true has fractional labels; set label_dtype: float")
            y_true = y_true_raw.astype(label_dtype)
    else:
        y_true = round_to(y_true_raw, in_dtype)
    sw = raw.get("sample_weight")
    sample_weight = None if sw is None else round_to(literal_array(sw), in_dtype)
    return Inputs(y_true=y_true, y_pred=y_pred, sample_weight=sample_weight)


@functools.lru_cache(maxsize=4096)
def _materialize_cached(case: Case, dtype: str) -> Inputs | tuple[Step, ...]:
    if case.steps is not None:
        steps: list[Step] = []
        for step in case.steps:
            if isinstance(step, str):
                steps.append(Step(op="reset_state" if step == "reset_states" else step))
            else:
                steps.append(Step(op="update_state", inputs=_materialize_inputs(case, step["update_state"], dtype)))
        return tuple(steps)
    assert case.inputs is not None
    return _materialize_inputs(case, case.inputs, dtype)


def _materialize(case: Case, dtype: str) -> Inputs | tuple[Step, ...]:
    return _materialize_cached(case, dtype)


def case_args(case: Case) -> dict[str, Any]:
    """The case's constructor / function arguments with Keras' defaults filled in."""
    defaults: dict[str, Any] = {"from_logits": False, "axis": -1}
    if case.sparse:
        defaults["ignore_class"] = None
    else:
        defaults["label_smoothing"] = 0.0
    if case.api in ("loss_class", "compile_loss"):
        defaults["reduction"] = "sum_over_batch_size"
    merged = {**defaults, **dict(case.args)}
    if merged.get("reduction") is None and "reduction" in merged:
        merged["reduction"] = "none"
    return merged


def flat(values: Sequence[Any]) -> list[Any]:
    """Flatten a nested list (used for printed vectors)."""
    out: list[Any] = []
    for v in values:
        out.extend(flat(v) if isinstance(v, list) else [v])
    return out
