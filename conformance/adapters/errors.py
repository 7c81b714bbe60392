"""Map framework exceptions onto the portable error categories.

A case says *what kind* of error an API must raise (``invalid_label``,
``shape_mismatch``, ...) without naming any framework's exception class, so every
adapter needs the same translation from "what TensorFlow / JAX / Torch / NumPy raised"
to a category of :data:`conformance.vocabulary.ERROR_CATEGORIES`.

The rules look at the exception's class names (its whole MRO, so subclasses such as
``tf.errors.InvalidArgumentError`` → ``OpError`` match) and at its message. They never
import a framework: the adapter may be running where only one framework exists.
Anything no rule recognises is ``other``, which no case ever expects, so an unexpected
exception is always reported as a finding rather than silently accepted.

The messages the rules match were measured on TensorFlow 2.21 / Keras 3.15.1 /
tf-keras 2.21 / JAX 0.10.2 / Torch 2.13 (see ``tests/test_adapters_tensorflow.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.adapters.base import PortableError

#: Longest message kept on a PortableError; TensorFlow messages repeat every label
#: value and a kernel name, and a report cell does not need more than this.
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Rule:
    """One mapping rule: exception class names (any in the MRO; empty = any class)
    and a message regex (None = any message) → a portable category."""

    category: str
    types: tuple[str, ...]
    pattern: re.Pattern[str] | None
    why: str


def _rx(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE | re.DOTALL)


#: Ordered: the first matching rule wins. Label rules come before shape rules because
#: TensorFlow's label message also mentions a "range"; argument rules come before shape
#: rules because "Only axis=-1 is currently supported" is about an argument, not a shape.
RULES: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- labels
    Rule("invalid_label", ("InvalidArgumentError",), _rx(r"label value|outside the valid range"),
         "TF CPU kernel CheckInvalidLabelIndex: 'Received a label value of X which is outside the valid range'"),
    Rule("invalid_label", ("IndexError",), _rx(r"out of bounds|out of range"),
         "NumPy backend one_hot indexing / Torch nll_loss: 'index 3 is out of bounds', 'Target 3 is out of bounds'"),
    Rule("invalid_label", ("RuntimeError",), _rx(r"class values must be (smaller|non-negative)|target .* out of bounds"),
         "torch.nn.functional.one_hot / nll_loss on an out-of-range class"),
    # ---------------------------------------------------------------- input type
    Rule("invalid_input_type", (), _rx(r"nested structure"),
         "Keras 3 Loss.__call__ maps tree.map_structure over plain lists: 'Structures don't have the same nested structure'"),
    Rule("invalid_input_type", ("AttributeError",), _rx(r"'(list|tuple|int|float)' object has no attribute"),
         "Keras 3 loss functions read y_true.shape: \"'list' object has no attribute 'shape'\""),
    Rule("invalid_input_type", ("TypeError",), _rx(r"unsupported (operand )?type|not a valid tensor|expected .*tensor.* got"),
         "an input of a type the framework cannot convert"),
    # ---------------------------------------------------------------- arguments
    Rule("invalid_argument", (), _rx(r"invalid value for argument|invalid reduction key|only axis=-?\d+ is|"
                                     r"`axis` must be of type|unknown `floatx`|unexpected keyword argument|"
                                     r"got an unexpected keyword|invalid `?reduction"),
         "Keras rejects a constructor/call argument: bad reduction ('auto' in Keras 3, 'mean' in Keras 2), "
         "unsupported axis on the TF sparse path, an argument the class does not take"),
    # ---------------------------------------------------------------- shapes
    Rule("shape_mismatch", (), _rx(r"same shape|incompatible shape|shapes? .*(incompatible|mismatch|not compatible)|"
                                   r"must have the same (first )?dimension|dimensions must be equal|"
                                   r"could not be broadcast|cannot (be )?broadcast|can't broadcast|not broadcastable|"
                                   r"cannot squeeze|rank|shape mismatch|target\.shape=|expected .*shape|"
                                   r"size of tensor a .* must match|cannot reshape|"
                                   r"operands could not be|mismatch in shape"),
         "shape or rank of y_true / y_pred / sample_weight incompatible (Keras, TF, NumPy, Torch wordings)"),
)


def exception_type_name(exc: BaseException) -> str:
    """A readable, stable name for the exception's class.

    Built-ins keep their bare name (``ValueError``); TensorFlow's internal module
    ``tensorflow.python.framework.errors_impl`` is shown as its public alias
    ``tensorflow.errors``; other classes get ``module.QualName``.
    """
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.startswith("tensorflow.python.framework.errors"):
        module = "tensorflow.errors"
    return f"{module}.{cls.__qualname__}"


def classify(exc: BaseException) -> str:
    """The portable category of ``exc`` (``other`` when no rule matches)."""
    names = {c.__name__ for c in type(exc).__mro__}
    message = str(exc)
    for rule in RULES:
        if rule.types and not names.intersection(rule.types):
            continue
        if rule.pattern is not None and not rule.pattern.search(message):
            continue
        return rule.category
    return "other"


def to_portable(exc: BaseException) -> PortableError:
    """``exc`` as a :class:`PortableError`, keeping its type name and message.

    Raise it ``from exc`` so the original traceback stays attached when the adapter
    runs in-process::

        try:
            value = loss(y_true, y_pred)
        except Exception as exc:
            raise to_portable(exc) from exc
    """
    if isinstance(exc, PortableError):
        return exc
    message = str(exc).strip() or repr(exc)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " …[truncated]"
    return PortableError(classify(exc), message, exc_type=exception_type_name(exc))
