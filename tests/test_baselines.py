"""The committed baselines gate real framework runs: exit 0 as committed, exit 1 on an
injected regression, with the JUnit XML naming the case.

Each test runs the real framework in its worker process, through the real command line.
Frameworks not installed here are skipped with the reason (CI installs TensorFlow CPU and
tf-keras, so those two always run there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.adapters.registry import AdapterLoadError, resolve_class
from conformance.gate import load_baseline

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "reports" / "baselines"
ADAPTERS = ("tensorflow", "tf-keras", "keras-jax", "keras-torch", "keras-numpy")


def unavailable(adapter: str) -> str | None:
    try:
        cls = resolve_class(adapter)
    except AdapterLoadError as exc:
        return str(exc)
    check = getattr(cls, "unavailable_reason", None)
    return check() if callable(check) else None


def conformance(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "plugins")])}
    return subprocess.run([sys.executable, "-m", "conformance", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_committed_baseline_is_valid_and_every_entry_has_a_reason(adapter: str) -> None:
    path = BASELINES / f"{adapter}.json"
    if not path.exists():
        pytest.skip(f"no committed baseline for {adapter} (its framework was not installable where it was made)")
    baseline = load_baseline(path)  # raises on an entry without a reason
    for rec in baseline.records.values():
        assert rec.baseline_reason and len(rec.baseline_reason.strip()) >= 15, rec.key
        assert rec.verdict in ("fail", "error", "crash")


@pytest.mark.slow
@pytest.mark.parametrize("adapter", ADAPTERS)
def test_run_against_the_committed_baseline_exits_0(adapter: str, tmp_path: Path) -> None:
    reason = unavailable(adapter)
    if reason:
        pytest.skip(f"{adapter}: {reason}")
    path = BASELINES / f"{adapter}.json"
    assert path.exists(), f"{adapter} is installed but has no committed baseline: run 'make baselines'"
    junit = tmp_path / "junit.xml"
    proc = conformance("run", "-a", adapter, "-q", "--no-progress", "--baseline", str(path), "--strict",
                       "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    suite = ET.parse(junit).getroot()
    tests = int(suite.get("tests") or sum(int(s.get("tests", 0)) for s in suite.iter("testsuite")))
    assert tests > 300


@pytest.mark.slow
def test_an_injected_regression_fails_the_gate_and_junit_names_the_case(tmp_path: Path) -> None:
    reason = unavailable("tensorflow")
    if reason:
        pytest.skip(f"tensorflow: {reason}")
    junit = tmp_path / "junit.xml"
    out_json = tmp_path / "results.json"
    proc = conformance("run", "-a", "regressed_tensorflow:RegressedTensorFlow", "-k", "scce-doc-*", "-q",
                       "--no-progress", "--baseline", str(BASELINES / "tensorflow.json"), "--junit", str(junit),
                       "--json", str(out_json))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "scce-doc-002-class-default" in proc.stdout
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    failures = [tc.get("name", "") for tc in cases if tc.find("failure") is not None or tc.find("error") is not None]
    # Only the regressed case is new (in both of its dtypes); the accepted plain-list
    # findings of the committed baseline stay expected failures.
    assert failures and all(name.startswith("scce-doc-002-class-default ") for name in failures), failures
    assert any(tc.get("name", "").startswith("scce-doc-000-default ") and tc.find("skipped") is not None
               for tc in cases)
    # --json keeps the raw run: the regressed cell is a plain fail there.
    records = json.loads(out_json.read_text())["records"]
    assert {r["verdict"] for r in records if r["case"] == "scce-doc-002-class-default"} == {"fail"}
