"""The mpmath oracle: documented values, precision stability, and hand-computed truths.

The stability sweep covers every case x dtype x profile (and the gpu device where a case
distinguishes it) except the ``many-classes`` cases: 50 000-class rows cost seconds per
evaluation in mpmath, so they are evaluated once (at the default precision) instead.
"""

from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest

from conformance.case import numpy_dtype
from conformance.compare import check_documented, format_value, tolerance_for
from conformance.loader import load_cases
from conformance.oracle import is_stable, truth
from conformance.profiles import PROFILES

REPO = Path(__file__).resolve().parents[1]
CASES = load_cases([REPO / "cases"])
BY_ID = {c.id: c for c in CASES}
EDGE = [c for c in CASES if "/edge/" in Path(c.file).as_posix() or Path(c.file).parent.name == "edge"]

mpmath.mp.dps = 60
F32_EPS = mpmath.mpf(float(np.float32(1e-7)))
F32_HI = mpmath.mpf(float(np.float32(1 - 1e-7)))


def case(case_id: str):
    return BY_ID[case_id]


def values(case_id: str, dtype: str, profile: str = "keras3-tensorflow", device: str = "cpu") -> list:
    t = truth(case(case_id), dtype, profile, device)
    assert t.kind == "value", (t.kind, t.error, t.reason)
    return list(t.values)


def close(a, b, digits: int = 40) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return bool(mpmath.isnan(a) and mpmath.isnan(b))
    return mpmath.almosteq(mpmath.mpf(a), mpmath.mpf(b), rel_eps=mpmath.mpf(10) ** -digits, abs_eps=mpmath.mpf(10) ** -(digits + 20))


# --------------------------------------------------------------------------- documented values
DOCUMENTED = [(c, c.provenance.dtype) for c in CASES if c.provenance and c.provenance.printed_values()]


def test_there_are_documented_values() -> None:
    assert len(DOCUMENTED) >= 10


@pytest.mark.parametrize("c,dtype", DOCUMENTED, ids=[c.id for c, _ in DOCUMENTED])
def test_oracle_reproduces_printed_values(c, dtype) -> None:
    """The exact truth, rounded to the dtype, matches what the document printed at its
    printed precision (the tolerance covers the implementation's own rounding)."""
    t = truth(c, dtype, "keras3-tensorflow")
    assert t.kind == "value"
    shown = [format_value(v) for v in t.rounded().ravel()]
    info = check_documented(c, dtype, shown, t, tolerance_for(c, dtype))
    assert info is not None and info["check"] == "pass", info


# --------------------------------------------------------------------------- stability
def _cells():
    for c in CASES:
        if "many-classes" in c.tags:
            continue
        devices = ["cpu"] + (["gpu"] if any("/gpu" in k for k in c.expect) else [])
        for dtype in c.dtypes:
            for profile in PROFILES:
                for device in devices:
                    yield pytest.param(c, dtype, profile, device, id=f"{c.id}-{dtype}-{profile}-{device}")


@pytest.mark.parametrize("c,dtype,profile,device", list(_cells()))
def test_truth_is_stable_under_precision_doubling(c, dtype, profile, device) -> None:
    assert is_stable(c, dtype, profile, device)


@pytest.mark.parametrize("c", [c for c in CASES if "many-classes" in c.tags], ids=lambda c: c.id)
def test_many_class_cases_evaluate(c) -> None:
    for dtype in c.dtypes:
        t = truth(c, dtype, "keras3-tensorflow")
        assert t.kind == "value" and all(mpmath.isfinite(v) for v in t.values)


# --------------------------------------------------------------------------- profiles named
@pytest.mark.parametrize("c", EDGE, ids=lambda c: c.id)
def test_edge_cases_name_the_profiles_they_distinguish(c) -> None:
    """An edge case whose truth differs between profiles carries implementation-defined
    and names every profile; one tagged so really differs somewhere."""
    if "many-classes" in c.tags or c.check == "config":
        return
    differs = False
    for dtype in c.dtypes:
        sig = set()
        for p in PROFILES:
            t = truth(c, dtype, p)
            sig.add((t.kind, t.error, t.shape, tuple(t.decimal(30))))
        differs = differs or len(sig) > 1
    if differs:
        assert "implementation-defined" in c.tags
        assert set(c.distinguished_profiles) == set(PROFILES), c.distinguished_profiles
    else:
        assert "implementation-defined" not in c.tags, "tagged implementation-defined but every profile agrees"


def test_edge_corpus_covers_every_api() -> None:
    for family in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        apis = {c.api for c in EDGE if c.family == family}
        assert {"loss_class", "loss_function", "metric"} <= apis
        assert any(c.check == "config" and c.family == family for c in EDGE)


# --------------------------------------------------------------------------- hand-computed truths
@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_all_equal_logits_give_log_c(dtype) -> None:
    for cid in ("scce-edge-logits-all-equal", "cce-edge-logits-all-equal"):
        for v in values(cid, dtype):
            assert close(v, mpmath.log(4))


def test_one_hot_exact_prediction() -> None:
    # Categorical (and the normalise-first sparse path): -log(1 - 2^-23) in float32.
    want = -mpmath.log(1 - mpmath.mpf(2) ** -23)
    assert close(F32_HI, 1 - mpmath.mpf(2) ** -23)
    assert all(close(v, want) for v in values("cce-edge-prob-one-hot-exact", "float32"))
    assert all(close(v, want) for v in values("scce-edge-prob-one-hot-exact", "float32", "keras3-generic"))
    # float16 / bfloat16: 1 - 1e-7 rounds to 1, the clip is a no-op, the loss is exactly 0.
    assert values("cce-edge-prob-one-hot-exact", "float16") == [0, 0, 0]
    assert values("cce-edge-prob-one-hot-exact", "bfloat16") == [0, 0, 0]
    # TF sparse: clip to [eps, hi] then log-softmax: log((hi + 2 eps) / hi).
    tf = mpmath.log((F32_HI + 2 * F32_EPS) / F32_HI)
    for p in ("keras3-tensorflow", "keras2"):
        assert all(close(v, tf) for v in values("scce-edge-prob-one-hot-exact", "float32", p))


def test_zero_row() -> None:
    tf = values("scce-edge-prob-zero-row", "float32", "keras3-tensorflow")[0]
    assert close(tf, mpmath.log(3))  # three equal clipped entries
    assert mpmath.isnan(values("scce-edge-prob-zero-row", "float32", "keras3-generic")[0])
    assert mpmath.isnan(values("cce-edge-prob-zero-row", "float32")[0])


def test_unnormalised_row_tf_clips_first() -> None:
    assert close(values("scce-edge-prob-unnormalised", "float64", "keras3-tensorflow")[0], mpmath.log(3))
    assert close(values("scce-edge-prob-unnormalised", "float64", "keras3-generic")[0], mpmath.log(2))


def test_huge_logits() -> None:
    v = values("scce-edge-logits-huge", "float32")
    assert close(v[1], mpmath.mpf(20000) + mpmath.log1p(mpmath.exp(-10000) + mpmath.exp(-20000)))
    assert 0 < v[0] < mpmath.mpf(10) ** -4000


def test_non_finite_logits() -> None:
    v = values("scce-edge-logits-neg-inf", "float32")
    assert close(v[0], mpmath.log1p(mpmath.exp(-1)) + 1 - 0) and mpmath.isinf(v[1])
    assert all(mpmath.isnan(x) for x in values("scce-edge-logits-pos-inf", "float32"))
    nan = values("scce-edge-logits-nan", "float32")
    assert mpmath.isnan(nan[0]) and mpmath.isnan(nan[1]) and mpmath.isfinite(nan[2])
    cce = values("cce-edge-logits-neg-inf", "float32")
    assert mpmath.isnan(cce[0]) and mpmath.isinf(cce[1])  # 0 * inf off the target


def test_cancellation_is_exact() -> None:
    v = values("scce-edge-logits-cancellation", "float64")
    assert close(v[0], mpmath.log1p(2 * mpmath.exp(-30)))
    assert close(v[1], mpmath.log1p(mpmath.exp(-40) + mpmath.exp(-50)))
    assert v[0] < mpmath.mpf(10) ** -10


def test_label_257_in_bfloat16_reads_class_256() -> None:
    c = case("scce-edge-labels-above-256-bfloat16")
    z = [mpmath.mpf(float(x)) for x in c.call_inputs("bfloat16").y_pred[0]]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in z))
    assert close(values(c.id, "bfloat16", "keras3-tensorflow")[0], lse - z[256])
    assert close(values(c.id, "bfloat16", "keras2")[0], lse - z[257])
    assert close(values("scce-edge-labels-above-256-bfloat16-function", "bfloat16")[0], lse - z[257])


def test_label_above_2p24_is_ignored_in_float32_only() -> None:
    c = case("scce-edge-labels-above-2p24-float32")
    assert values(c.id, "float32")[0] == 0
    assert truth(c, "float64", "keras3-tensorflow").error == "invalid_label"
    assert truth(c, "float32", "keras2").error == "invalid_label"


def test_float_labels_truncate() -> None:
    v = values("scce-edge-labels-float-truncation", "float64")
    z = [[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.5, 0.0, 1.5]]
    for row, label, got in zip(z, (1, 2, 0), v):
        want = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(x)) for x in row)) - mpmath.mpf(row[label])
        assert close(got, want)


def test_ignore_class_reductions() -> None:
    per = values("scce-edge-ignore-m1-none", "float64")
    assert per[1] == 0
    assert close(values("scce-edge-ignore-m1-sum", "float64")[0], per[0] + per[2])
    assert close(values("scce-edge-ignore-m1-mean", "float64")[0], (per[0] + per[2]) / 2)
    w = [mpmath.mpf(0.5), mpmath.mpf(1.5), mpmath.mpf(2.0)]
    weighted = w[0] * per[0] + w[2] * per[2]
    assert close(values("scce-edge-ignore-m1-sum-over-batch-size-weighted", "float64")[0], weighted / 2)
    assert close(values("scce-edge-ignore-m1-mean-with-sample-weight-weighted", "float64")[0], weighted / (w[0] + w[2]))


def test_everything_ignored() -> None:
    assert values("scce-edge-ignore-all-sum-over-batch-size", "float32")[0] == 0
    assert mpmath.isnan(values("scce-edge-ignore-all-sum-over-batch-size", "float32", "keras2")[0])
    assert values("scce-edge-ignore-all-none", "float32") == [0, 0]


def test_empty_batch() -> None:
    t = truth(case("scce-edge-shape-empty-batch"), "float32", "keras3-tensorflow")
    assert t.kind == "value" and t.shape == (0,) and t.values == ()
    k2 = truth(case("scce-edge-shape-empty-batch"), "float32", "keras2")
    assert k2.shape == () and k2.values == (0,)
    assert values("scce-edge-metric-empty-batch", "float32") == [0]


def test_rank1_weights_on_square_losses_weight_the_wrong_axis() -> None:
    c = case("scce-edge-weights-b-rank3-square")
    x = c.call_inputs("float64")
    per = np.empty((3, 3), dtype=object)
    for b in range(3):
        for t in range(3):
            row = [mpmath.mpf(float(v)) for v in x.y_pred[b, t]]
            per[b, t] = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in row)) - row[int(x.y_true[b, t])]
    w = [mpmath.mpf(float(v)) for v in x.sample_weight]
    keras3 = mpmath.fsum(per[b, t] * w[t] for b in range(3) for t in range(3)) / 9
    keras2 = mpmath.fsum(per[b, t] * w[b] for b in range(3) for t in range(3)) / 9
    assert close(values(c.id, "float64", "keras3-tensorflow")[0], keras3)
    assert close(values(c.id, "float64", "keras2")[0], keras2)
    assert truth(case("scce-edge-weights-b-rank3-mismatch"), "float32", "keras3-tensorflow").error == "shape_mismatch"


def test_scalar_weight_with_mean_with_sample_weight_divides_by_the_scalar() -> None:
    total = values("scce-edge-weights-scalar-rank3", "float64")[0] * 6  # (2.5 * Σl) / 6 elements
    assert close(values("scce-edge-weights-scalar-rank3-mws", "float64")[0], total / mpmath.mpf(2.5))


def test_label_smoothing_class_count_follows_the_profile() -> None:
    c = case("cce-edge-smoothing-axis")
    x = c.call_inputs("float64")

    def expected(n_classes: int):
        out = []
        for b in range(2):
            for t in range(3):
                z = [mpmath.mpf(float(x.y_pred[b, k, t])) for k in range(4)]
                y = [mpmath.mpf(float(x.y_true[b, k, t])) * mpmath.mpf(0.9) + mpmath.mpf(0.1) / n_classes for k in range(4)]
                lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z))
                out.append(mpmath.fsum(yk * (lse - zk) for yk, zk in zip(y, z)))
        return out

    # float64 rounding of 0.9 and 0.1/n is below 1e-15 relative: compare at 12 digits.
    for got, want in zip(values(c.id, "float64", "keras3-tensorflow"), expected(3)):
        assert close(got, want, digits=12)
    for got, want in zip(values(c.id, "float64", "keras2"), expected(4)):
        assert close(got, want, digits=12)


def test_metric_ignore_class_count() -> None:
    m = mpmath.mpf
    per = [mpmath.log1p(m(0.05) / m(0.95)), mpmath.log1p((m(0.1) + m(0.8)) / m(0.1))]  # exact on the float64 inputs
    k3 = values("scce-edge-metric-ignore-unweighted", "float64", "keras3-generic")[0]
    k2 = values("scce-edge-metric-ignore-unweighted", "float64", "keras2")[0]
    assert close(k3, mpmath.fsum(per) / 3)
    assert close(k2, mpmath.fsum(per) / 2, digits=6)  # keras2 takes the TF clip-first path (+1e-7)


def test_metric_state_sequence() -> None:
    v = values("scce-edge-metric-batches", "float64")
    assert v[0] == 0 and v[4] == 0  # before any update, and after reset_state
    assert len(v) == 6


def test_half_precision_clip_bounds() -> None:
    # In float16 the upper bound 1 - 1e-7 is 1.0; the lower bound is float16(1e-7).
    lo = mpmath.mpf(float(np.asarray(1e-7).astype(numpy_dtype("float16"))))
    tf = values("scce-edge-dtype-half-probabilities", "float16", "keras3-tensorflow")
    assert close(tf[2], mpmath.log1p(2 * lo))  # one-hot row: log((1 + 2 lo) / 1)
    assert values("scce-edge-dtype-half-probabilities", "float16", "keras3-generic")[2] == 0
