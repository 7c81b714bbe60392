#!/usr/bin/env python3
"""Speed and memory of the suite, measured against TensorFlow in the same run.

Prints medians (and the spread) of repeated timings, because these machines are noisy;
each figure has a peer measured in the same process run, so compare within a run only.

1. The own numpy implementation vs ``tf.keras`` on the same large inputs: the
   SparseCategoricalCrossentropy / CategoricalCrossentropy loss classes on logits and on
   probabilities, float32 and float64. Memory: the growth of a fresh process's peak RSS
   while it computes the loss, beyond its inputs, measured the same way for both.
2. The suite itself: the oracle's truth for every committed case (mpmath) vs reading it
   from ``reference/``, and a whole ``conformance run`` of the own implementation.

Usage: ``.venv/bin/python scripts/benchmark.py [--repeat N] [--quick]``. TensorFlow
columns are left out (with the reason) when it is not installed.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timings(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up: first calls build caches and (for TF) trace kernels
    out = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(ts: list[float]) -> str:
    med = statistics.median(ts)
    lo, hi = min(ts), max(ts)
    return f"{med * 1e3:9.2f} ms  [{lo * 1e3:.2f}-{hi * 1e3:.2f}]"


_RSS_PROBE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {root!r})
import numpy as np
impl, path, sparse, from_logits, dtype = {args!r}
data = np.load(path)
spec = dict(sparse=sparse, from_logits=from_logits, y_true=data["y_true"], y_pred=data["y_pred"])
if impl == "tf":
    import tensorflow as tf
    cls = tf.keras.losses.SparseCategoricalCrossentropy if spec["sparse"] else tf.keras.losses.CategoricalCrossentropy
    yt, yp = tf.constant(spec["y_true"]), tf.constant(spec["y_pred"])
    loss = cls(from_logits=spec["from_logits"], dtype=dtype)
    run = lambda: loss(yt, yp).numpy()
else:
    from conformance import numpy_impl
    cls = numpy_impl.SparseCategoricalCrossentropy if spec["sparse"] else numpy_impl.CategoricalCrossentropy
    loss = cls(from_logits=spec["from_logits"], dtype=dtype)
    run = lambda: loss(spec["y_true"], spec["y_pred"])
def hwm_kib():
    # VmHWM belongs to this process's own address space; ru_maxrss would carry over the
    # high-water mark of the parent that forked it.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
before = hwm_kib()
run(); run()
print((hwm_kib() - before) / 1024)
"""


def peak_rss_growth_mib(impl: str, spec: dict[str, Any], dtype: str) -> float:
    """Growth of the peak RSS of a fresh process while it computes the loss twice: the
    memory the computation needs beyond its inputs, measured the same way for numpy and
    TensorFlow (whose allocations tracemalloc cannot see). The inputs are loaded from a
    file, so that making them leaves no high-water mark above the computation's."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "inputs.npz")
        np.savez(path, y_true=spec["y_true"], y_pred=spec["y_pred"])
        code = _RSS_PROBE.format(root=str(ROOT), args=(impl, path, spec["sparse"], spec["from_logits"], dtype))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def implementations(batch: int, classes: int, dtype: str, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (batch, classes)).astype(dtype)
    e = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    probs = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    labels = rng.integers(0, classes, batch)
    onehot = np.eye(classes, dtype=dtype)[labels]
    return [
        ("scce logits", dict(sparse=True, y_true=labels, y_pred=logits, from_logits=True)),
        ("scce probs", dict(sparse=True, y_true=labels, y_pred=probs, from_logits=False)),
        ("cce logits", dict(sparse=False, y_true=onehot, y_pred=logits, from_logits=True)),
        ("cce probs", dict(sparse=False, y_true=onehot, y_pred=probs, from_logits=False)),
    ]


def bench_losses(repeat: int, batch: int, classes: int) -> None:
    from conformance import numpy_impl

    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf_note = f"TensorFlow {tf.__version__}"
    except ImportError:
        tf = None
        tf_note = "TensorFlow not installed: its columns are left out (pip install -e '.[tensorflow]')"

    print(f"== 1. loss classes, batch {batch} x {classes} classes, {repeat} repeats; {tf_note}")
    print(f"{'case':<14}{'dtype':<9}{'numpy_impl median [min-max]':<34}{'tf.keras median [min-max]':<34}"
          f"{'ratio':>7}{'numpy MiB':>11}{'TF MiB':>9}")
    for dtype in ("float32", "float64"):
        for label, spec in implementations(batch, classes, dtype):
            cls_np = numpy_impl.SparseCategoricalCrossentropy if spec["sparse"] else numpy_impl.CategoricalCrossentropy
            ours = cls_np(from_logits=spec["from_logits"], dtype=dtype)
            run_np = lambda: ours(spec["y_true"], spec["y_pred"])  # noqa: E731
            t_np = timings(run_np, repeat)
            mem_np = peak_rss_growth_mib("numpy", spec, dtype)
            row = f"{label:<14}{dtype:<9}{fmt(t_np):<34}"
            if tf is not None:
                cls_tf = (tf.keras.losses.SparseCategoricalCrossentropy if spec["sparse"]
                          else tf.keras.losses.CategoricalCrossentropy)
                theirs = cls_tf(from_logits=spec["from_logits"], dtype=dtype)
                yt = tf.constant(spec["y_true"])
                yp = tf.constant(spec["y_pred"])
                run_tf = lambda: theirs(yt, yp).numpy()  # noqa: E731
                t_tf = timings(run_tf, repeat)
                mem_tf = peak_rss_growth_mib("tf", spec, dtype)
                ratio = statistics.median(t_np) / statistics.median(t_tf)
                row += f"{fmt(t_tf):<34}{ratio:>6.2f}x{mem_np:>11.1f}{mem_tf:>9.1f}"
            else:
                row += f"{'-':<34}{'-':>7}{mem_np:>11.1f}{'-':>9}"
            print(row, flush=True)
    print("ratio = numpy_impl median / tf.keras median (below 1: the own implementation is faster)")
    print("MiB = growth of a fresh process's peak RSS while computing the loss (beyond its inputs)\n")


def bench_suite(repeat: int) -> None:
    from conformance.loader import load_cases
    from conformance.oracle import truth
    from conformance.reference import ReferenceStore
    from conformance.vocabulary import PROFILES

    cases = [c for c in load_cases([ROOT / "cases"]) if c.check != "config"]
    cells = [(c, d, p) for c in cases for d in c.dtypes for p in PROFILES]
    print(f"== 2. the suite: {len(cases)} cases, {len(cells)} (case, dtype, profile) truths")

    def oracle_all() -> None:
        for c, d, p in cells:
            truth(c, d, p, "cpu")

    def store_all() -> None:
        store = ReferenceStore(ROOT / "reference")
        for c, d, p in cells:
            store(c, d, p, "cpu")

    n = max(1, repeat // 4)
    t_oracle = timings(oracle_all, n)
    t_store = timings(store_all, n)
    store = ReferenceStore(ROOT / "reference")
    for c, d, p in cells:
        store(c, d, p, "cpu")
    print(f"{'oracle (mpmath, 60 digits)':<36}{fmt(t_oracle)}")
    print(f"{'reference/ lookups':<36}{fmt(t_store)}   ({store.hits} hits, {store.misses} computed)")
    print(f"speed-up of reading reference/: {statistics.median(t_oracle) / statistics.median(t_store):.1f}x")

    import subprocess

    def whole_run() -> None:
        subprocess.run([sys.executable, "-m", "conformance", "run", "-q", "--no-progress"], cwd=ROOT,
                       check=False, capture_output=True)

    t_run = timings(whole_run, n)
    print(f"{'conformance run (own impl, all cases)':<36}{fmt(t_run)}  (a new process each time)\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15, help="timed repetitions per figure (default 15)")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer repeats (a smoke test)")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--classes", type=int, default=1000)
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.batch, args.classes = 3, 256, 100
    import platform

    print(f"# {platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs\n")
    bench_losses(args.repeat, args.batch, args.classes)
    bench_suite(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
