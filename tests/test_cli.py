"""The command line end to end: exit codes, messages, and the results JSON shape.

Runs the real ``conformance`` entry point in-process on the real case files, with
small adapters written to a temporary module (loaded as ``module:Class``, the way a
third party loads theirs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"

PLUGINS = textwrap.dedent(
    '''
    import numpy as np
    from conformance.adapters.base import Adapter
    from conformance.oracle import truth


    class Rounded(Adapter):
        """Returns the oracle's truth correctly rounded: the best any implementation can do."""
        name = "rounded"
        def skip_reason(self, case, dtype, device):
            if case.check == "config":
                return "no config to round-trip"
            return super().skip_reason(case, dtype, device)
        def run(self, case, dtype, device="cpu"):
            t = truth(case, dtype, self.profile, device)
            if t.kind == "error":
                from conformance.adapters.base import PortableError
                raise PortableError(t.error, "expected")
            return t.rounded()


    class OffByOnePercent(Rounded):
        """A deliberately wrong implementation: every value 1% too large."""
        name = "off-by-one-percent"
        def run(self, case, dtype, device="cpu"):
            return np.asarray(super().run(case, dtype, device)) * np.asarray(1.01, dtype=dtype)


    class Interrupted(Rounded):
        """Simulates Ctrl-C on the fourth cell."""
        name = "interrupted"
        calls = 0
        def run(self, case, dtype, device="cpu"):
            type(self).calls += 1
            if type(self).calls == 4:
                raise KeyboardInterrupt
            return super().run(case, dtype, device)
    '''
)


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cli_plugins.py").write_text(PLUGINS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("cli_plugins", None)
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: conformance {command}")
    assert len(out.splitlines()) > 5


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys)
    assert code == 2
    assert "COMMAND" in out and "run" in out


def test_python_dash_m_works() -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance", "--version"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("conformance ")


# --------------------------------------------------------------------------- validate
def test_validate_accepts_the_committed_cases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", str(CASES))
    assert code == 0, out
    assert out.rstrip().endswith("valid")


GOOD_CASE = """\
family: sparse_categorical_crossentropy
description: one case
cases:
  - id: scce-test-one
    title: one case
    api: loss_function
    tags: [probabilities]
    inputs:
      y_true: [1, 0]
      y_pred: [[0.1, 0.9], [0.5, 0.5]]
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "expect"),
    [
        ("      y_true: [1, 0]\n", "      y_true: [1, 0]\n      y_true: [0, 1]\n", 10, "duplicate"),
        ("    tags:", "    colour: red\n    tags:", 7, "colour"),
        ("[0.5, 0.5]]", "[0.5]]", 10, "ragged"),
    ],
    ids=["duplicate-key", "unknown-field", "ragged-array"],
)
def test_validate_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                        line: int, expect: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_CASE)
    assert run_cli(capsys, "validate", str(good))[0] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_CASE.replace(old, new))
    code, out, err = run_cli(capsys, "validate", str(bad))
    assert code == 2
    first = out.splitlines()[0]
    assert first.startswith(f"{bad}:{line}:") or first.startswith(f"bad.yaml:{line}:"), out
    assert expect in first.lower(), out
    assert "problem" in err


def test_validate_missing_path_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "validate", "no/such/file.yaml")
    assert code == 2
    assert "no/such/file.yaml" in err


# --------------------------------------------------------------------------- run
def test_run_with_a_correct_plugin_passes_and_writes_json(plugin_dir: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out_json = plugin_dir / "out" / "results.json"
    code, out, _ = run_cli(capsys, "run", str(CASES), "-a", "cli_plugins:Rounded", "--json", str(out_json),
                           "--no-progress")
    assert code == 0, out
    data = json.loads(out_json.read_text())
    assert data["schema_version"] == 1
    env = data["environment"]
    for key in ("conformance", "python", "platform", "numpy", "mpmath", "started", "finished", "adapters"):
        assert key in env
    assert env["adapters"]["rounded"]["profile"] == "keras3-tensorflow"
    records = data["records"]
    assert records, "no records"
    fields = {"case", "api", "adapter", "dtype", "device", "verdict", "output", "truth", "abs_error", "rel_error",
              "ulp_error", "tolerance", "documented", "message"}
    for rec in records:
        assert fields <= rec.keys()
        assert rec["verdict"] in ("pass", "skip"), rec
        if rec["verdict"] == "pass" and rec["truth"]:
            # every finite truth to >= 30 significant digits
            for value in rec["truth"]:
                if value in ("nan", "inf", "-inf") or value == "0":
                    continue
                digits = value.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
                assert len(digits) >= 30, rec["truth"]
            assert rec["ulp_error"] is None or rec["ulp_error"] <= 0.5
    cases = {r["case"] for r in records}
    assert "scce-doc-002-class-none" in cases
    # the documented value check ran at the printed precision
    doc = next(r for r in records if r["case"] == "scce-doc-002-class-default" and r["dtype"] == "float32")
    assert doc["documented"]["check"] == "pass"
    assert doc["documented"]["printed"] == ["1.1769392"]
    assert "wrote results" in out


def test_run_with_a_wrong_plugin_fails_and_names_the_cases(plugin_dir: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", str(CASES), "-a", "cli_plugins:OffByOnePercent", "-k", "scce-doc-002-*",
                           "--no-progress")
    assert code == 1
    assert "FAIL scce-doc-002-class-default [off-by-one-percent float32 cpu]" in out
    assert "exceeds" in out
    assert "documented values not reproduced" in out


def test_ctrl_c_still_writes_completed_results(plugin_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json = plugin_dir / "partial.json"
    code, out, _ = run_cli(capsys, "run", str(CASES), "-a", "cli_plugins:Interrupted", "--json", str(out_json),
                           "--api", "loss_class", "--no-progress")
    assert code == 130
    data = json.loads(out_json.read_text())
    assert data["environment"]["interrupted"] is True
    assert len(data["records"]) == 3
    assert "partial" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-a", "no-such-adapter"], "unknown adapter 'no-such-adapter'"),
        (["-a", "no_such_module:Thing"], "cannot import module 'no_such_module'"),
        (["-a", "json:JSONDecoder"], "not a subclass"),
        (["-k", "no-case-has-this-id"], "no case matches"),
    ],
)
def test_run_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", str(CASES), "--no-progress", *argv)
    assert code == 2
    assert message in err


def test_run_rejects_unknown_dtype(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", str(CASES), "--dtype", "float8"])
    assert exc.value.code == 2
    assert "unknown dtype(s) float8" in capsys.readouterr().err


def test_run_on_invalid_case_files_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: sparse_categorical_crossentropy\ncases: [}\n")
    code, _, err = run_cli(capsys, "run", str(bad))
    assert code == 2
    assert "bad.yaml:" in err


# --------------------------------------------------------------------------- list / coverage / reference
def test_list_filters_by_tag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "list", str(CASES), "--tag", "label-smoothing", "--json")
    assert code == 0
    listed = json.loads(out)
    assert listed and all("label-smoothing" in c["tags"] for c in listed)


def test_coverage_check_passes_on_the_committed_cases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "coverage", str(CASES), "--check", "--json")
    assert code == 0, err
    rows = json.loads(out)
    fl = next(r for r in rows if r["api"] == "loss_class" and r["argument"] == "from_logits"
              and r["family"] == "categorical_crossentropy")
    assert fl["cases"]["true"] >= 1 and fl["cases"]["false"] >= 1


def test_coverage_check_fails_when_an_argument_has_no_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Only the loss-function cases: the loss class and metric arguments are then uncovered.
    code, _, err = run_cli(capsys, "coverage", str(CASES), "--api", "loss_function", "--check")
    assert code == 1
    assert "not covered: SparseCategoricalCrossentropy loss_class argument sample_weight" in err


def test_reference_is_up_to_date(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli(capsys, "reference", "--check")
    assert code == 0, out + err
    assert "up to date" in out


def test_reference_check_detects_a_changed_case(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(CASES, tmp_path / "cases")
    shutil.copytree(ROOT / "reference", tmp_path / "reference")
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    # Another mpmath version that computes the same digits is not a drift.
    ref = tmp_path / "reference" / "categorical_crossentropy.json"
    doc = json.loads(ref.read_text())
    doc["generator"]["mpmath"] = "0.0-other"
    ref.write_text(json.dumps(doc, indent=1) + "\n")
    code, out, err = run_cli(capsys, "reference", "--check")
    assert code == 0, out + err
    target = next((tmp_path / "cases").rglob("categorical_crossentropy.yaml"))
    text = target.read_text()
    assert "0.95, 0" in text
    target.write_text(text.replace("0.95, 0", "0.94, 0.01", 1))
    code, out, err = run_cli(capsys, "reference", "--check")
    assert code == 1
    assert "stale" in out and "inputs_sha256" in out
    assert "make reference" in err
    code, out, _ = run_cli(capsys, "reference", "--update")
    assert code == 0
    code, out, _ = run_cli(capsys, "reference", "--check")
    assert code == 0
