"""crossentropy-conformance: a reference-conformance suite for the Keras crossentropy APIs.

Data flows one way: ``cases/*.yaml`` → :mod:`conformance.loader` (Case) →
:mod:`conformance.case` (materialized inputs) → :mod:`conformance.oracle` (truth) and an
adapter (outputs) → :mod:`conformance.compare` (verdicts) → :mod:`conformance.results` →
reporters and :mod:`conformance.gate`.
"""

__version__ = "0.1.0"
