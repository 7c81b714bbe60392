"""Plug-in loading and worker isolation, with third-party adapters from tests/plugins/
and examples/my_adapter.py."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from _adapter_helpers import make_case, run_cell

from conformance.adapters.base import Crash, PortableError
from conformance.adapters.registry import AdapterLoadError, load_adapter, resolve_class
from conformance.adapters.worker import IsolatedAdapter, describe_exit
from conformance.loader import load_cases

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"
CASES = {c.id: c for c in load_cases()}
GOOD = CASES["scce-doc-002-class-default"]


@pytest.fixture(autouse=True)
def _plugin_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.syspath_prepend(str(ROOT))


def _isolated(spec: str, **kw) -> IsolatedAdapter:
    adapter = load_adapter(spec) if not kw else IsolatedAdapter(resolve_class(spec), spec, **kw)
    assert isinstance(adapter, IsolatedAdapter)
    return adapter


# ----------------------------------------------------------------------------- loading
def test_example_adapter_runs_every_documented_case():
    adapter = load_adapter("examples.my_adapter:NumpyCrossentropyAdapter")
    assert not isinstance(adapter, IsolatedAdapter)  # pure NumPy: in-process
    ran = 0
    for case in CASES.values():
        if "documented" not in case.tags:
            continue
        for dtype in case.dtypes:
            if adapter.skip_reason(case, dtype, "cpu"):
                continue
            comparison, _, err = run_cell(adapter, case, dtype)
            assert comparison.verdict == "pass", (case.id, dtype, comparison.message, err)
            ran += 1
    assert ran >= 20


def test_entry_point_adapter(tmp_path, monkeypatch):
    dist = tmp_path / "mylib_conformance-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mylib-conformance\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[conformance.adapters]\nmylib = examples.my_adapter:NumpyCrossentropyAdapter\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    adapter = load_adapter("mylib")
    assert adapter.name == "my-numpy"
    assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"


def test_bad_specs_say_how_to_fix():
    with pytest.raises(AdapterLoadError, match="unknown adapter"):
        load_adapter("no-such-adapter")
    with pytest.raises(AdapterLoadError, match="cannot import module"):
        load_adapter("no_such_module_xyz:Adapter")
    with pytest.raises(AdapterLoadError, match="not a subclass"):
        load_adapter("bad_adapters:Case")


def test_wrong_adapter_fails_the_cases_it_should():
    adapter = load_adapter("bad_adapters:WrongAdapter")
    unnormalised = CASES["scce-derived-001-unnormalised-arrays"]
    comparison, out, _ = run_cell(adapter, unnormalised, "float32")
    assert comparison.verdict == "fail" and abs(float(out) - 0.0946) < 1e-3, comparison.message
    for case_id in ("scce-doc-002-class-default", "scce-doc-002-class-sum", "scce-doc-002-class-function"
                    if "scce-doc-002-class-function" in CASES else "scce-doc-002-function"):
        assert run_cell(adapter, CASES[case_id], "float32")[0].verdict == "pass", case_id


# ----------------------------------------------------------------------------- isolation
def test_isolated_example_adapter_through_the_worker():
    with IsolatedAdapter(resolve_class("examples.my_adapter:NumpyCrossentropyAdapter"),
                         "examples.my_adapter:NumpyCrossentropyAdapter") as adapter:
        assert adapter.versions()["numpy"]
        assert adapter.pid != os.getpid()
        assert run_cell(adapter, GOOD, "float64")[0].verdict == "pass"
        metric = adapter.run(CASES["scce-derived-003-metric-arrays"], "float32", "cpu")
        assert isinstance(metric, list) and len(metric) == 2
        config_case = make_case(id="adhoc-config", check="config", inputs={"y_true": [0], "y_pred": [[1.0]]})
        assert adapter.skip_reason(config_case, "float32", "cpu") == "a plain function has no get_config"
        assert adapter.skip_reason(GOOD, "bfloat16", "cpu") == "my-numpy does not support dtype bfloat16"
        assert adapter.device_unavailable("gpu") == "my-numpy does not run on gpu"


def test_segfault_is_a_crash_and_the_next_call_works():
    adapter = _isolated("bad_adapters:SegfaultAdapter")
    try:
        assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"
        first_pid = adapter.pid
        with pytest.raises(Crash) as info:
            adapter.run(CASES["scce-doc-002-class-sum"], "float32", "cpu")
        assert "SIGSEGV" in info.value.cause
        assert "scce-doc-002-class-sum [float32, cpu]" in info.value.cause
        # faulthandler's report from the worker log, down to the adapter's line.
        assert "Fatal Python error: Segmentation fault" in info.value.cause
        assert "bad_adapters.py" in info.value.cause
        assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"
        assert adapter.pid != first_pid and adapter.starts == 2
        with pytest.raises(Crash, match="SIGABRT"):
            adapter.run(CASES["cce-doc-004-class-sum"], "float32", "cpu")
        assert run_cell(adapter, GOOD, "float64")[0].verdict == "pass"
        assert len(adapter.crashes) == 2
    finally:
        adapter.close()


def test_hang_times_out_and_the_next_call_works():
    adapter = _isolated("bad_adapters:HangAdapter", timeout=1.5, first_call_grace=0)
    try:
        adapter.ping()
        hung_pid = adapter.pid
        t0 = time.monotonic()
        with pytest.raises(Crash) as info:
            adapter.run(CASES["scce-doc-002-class-sum"], "float32", "cpu")
        assert time.monotonic() - t0 < 10
        assert "timed out after 1.5 s" in info.value.cause and "scce-doc-002-class-sum" in info.value.cause
        time.sleep(0.2)
        with pytest.raises(ProcessLookupError):
            os.kill(hung_pid, 0)  # the hung worker was killed
        assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"
    finally:
        adapter.close()


def test_out_of_memory_and_other_deaths():
    adapter = _isolated("bad_adapters:OutOfMemoryAdapter")
    try:
        with pytest.raises(Crash, match=r"out of memory \(MemoryError"):
            adapter.run(CASES["scce-doc-002-class-sum"], "float32", "cpu")
        assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"
        with pytest.raises(Crash, match="SIGKILL.*out of memory"):
            adapter.run(CASES["cce-doc-004-class-sum"], "float32", "cpu")
        with pytest.raises(Crash, match="exited with status 3"):
            adapter.run(CASES["scce-doc-002-class-none"], "float32", "cpu")
        # A non-portable exception from adapter code is an error, not a crash.
        with pytest.raises(PortableError) as info:
            adapter.run(CASES["cce-doc-004-class-none"], "float32", "cpu")
        assert info.value.category == "other" and info.value.exc_type == "RuntimeError"
        assert run_cell(adapter, GOOD, "float32")[0].verdict == "pass"
    finally:
        adapter.close()


def test_broken_init_is_reported_once_not_restarted_forever():
    adapter = _isolated("bad_adapters:BrokenInitAdapter")
    try:
        with pytest.raises(Crash, match="could not start.*No module named 'mylib'"):
            adapter.run(GOOD, "float32", "cpu")
        with pytest.raises(Crash, match="could not start"):
            adapter.run(GOOD, "float32", "cpu")
        assert adapter.starts == 1
        assert "worker_error" in adapter.versions()
    finally:
        adapter.close()


def test_close_terminates_the_worker():
    adapter = _isolated("bad_adapters:HangAdapter")
    pid = adapter.ping()
    adapter.close()
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert adapter.pid is None


def test_script_without_main_guard_can_use_isolated_adapters(tmp_path):
    """The worker is a fresh interpreter: the caller's __main__ is never re-run."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(PLUGINS)!r}]\n"
        "from conformance.adapters.registry import load_adapter\n"
        "a = load_adapter('bad_adapters:HangAdapter')\n"
        "print('pid', a.ping())\n"
        "a.close()\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("pid") == 1


def test_describe_exit():
    assert describe_exit(-11) == "worker died with SIGSEGV"
    assert "out of memory" in describe_exit(-9)
    assert "137" in describe_exit(137)
