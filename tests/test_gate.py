"""Tests of regression gating (conformance.gate) and the ``conformance gate`` command."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.gate import (
    GATE_PREFIX,
    Baseline,
    apply_baseline,
    gate_exit_code,
    load_baseline,
    original_verdict,
    stale_entries,
    summarize_gate,
    ungate_record,
    update_baseline,
    validate_baseline,
)
from conformance.results import Record, Results

ROOT = Path(__file__).resolve().parents[1]


def rec(case: str, verdict: str, *, adapter: str = "numpy", dtype: str = "float32", device: str = "cpu", **kw) -> Record:
    """A realistic record for one cell."""
    fields = dict(
        case=case,
        family="sparse_categorical_crossentropy",
        api="loss_class",
        title=f"title of {case}",
        tags=["documented"],
        adapter=adapter,
        profile="keras3-tensorflow",
        dtype=dtype,
        device=device,
        verdict=verdict,
    )
    if verdict in ("pass", "fail"):
        fields.update(
            output=["1.1769392"],
            output_dtype=dtype,
            shape=[],
            truth=["1.176939193467563758436523186632476470027"],
            truth_rounded=["1.1769392"],
            abs_error=0.0,
            rel_error=0.0,
            ulp_error=0.0,
            tolerance={"ulp": 4},
        )
    fields.update(kw)
    return Record(**fields)


def run_of(*records: Record) -> Results:
    return Results(environment={"python": "3.11", "started": "2026-01-01T00:00:00+00:00"}, records=list(records))


def baseline_of(*records: Record, path: Path | None = None) -> Baseline:
    return validate_baseline(run_of(*records), path)


def by_case(results: Results) -> dict[str, Record]:
    return {r.case: r for r in results.records}


# --------------------------------------------------------------------------- load_baseline


def test_load_baseline_accepts_reasoned_records(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    run_of(
        rec("a", "fail", ulp_error=3.0, baseline_reason="keras#123"),
        rec("b", "pass"),
    ).write(path)
    base = load_baseline(path)
    assert base.path == path
    assert set(base.failing) == {("a", "numpy", "float32", "cpu")}


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_load_baseline_rejects_missing_reason_naming_file_cell_and_fix(tmp_path: Path, reason: str | None) -> None:
    path = tmp_path / "base.json"
    run_of(
        rec("ok-case", "fail", baseline_reason="known"),
        rec("scce-doc-example", "error", adapter="tensorflow", dtype="float16", device="gpu", baseline_reason=reason),
    ).write(path)
    with pytest.raises(ValueError) as info:
        load_baseline(path)
    text = str(info.value)
    assert str(path) in text
    assert "baseline_reason" in text
    assert "scce-doc-example [tensorflow float16/gpu]" in text
    assert "ok-case" not in text
    assert "--reason" in text and "--update-baseline" in text


def test_load_baseline_requires_reason_on_skip_records_too(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    run_of(rec("s", "skip", message="no GPU")).write(path)
    with pytest.raises(ValueError, match=r"s \[numpy float32/cpu\] \(skip\)"):
        load_baseline(path)


def test_load_baseline_missing_file_names_it_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ValueError) as info:
        load_baseline(path)
    assert str(path) in str(info.value)
    assert "--update-baseline" in str(info.value)


def test_load_baseline_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"schema_version": 1,\n "records": [,]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{path}:2: not valid JSON"):
        load_baseline(path)


def test_load_baseline_rejects_gated_verdicts_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "gated.json"
    run_of(rec("a", "xfail", baseline_reason="r")).write(path)
    with pytest.raises(ValueError, match="not gated ones"):
        load_baseline(path)
    dup = tmp_path / "dup.json"
    run_of(rec("a", "fail", baseline_reason="r"), rec("a", "fail", baseline_reason="r")).write(dup)
    with pytest.raises(ValueError, match=r"more than once.*\n  a \[numpy float32/cpu\]"):
        load_baseline(dup)


# --------------------------------------------------------------------------- apply_baseline


def test_accepted_failures_become_xfail_with_original_verdict_kept() -> None:
    run = run_of(
        rec("f", "fail", ulp_error=3.0, message="off by 3 ULP"),
        rec("e", "error", error={"category": "invalid_label", "type": "InvalidArgumentError", "message": "x"}),
        rec("c", "crash", message="worker died: SIGSEGV"),
        rec("p", "pass"),
    )
    base = baseline_of(
        rec("f", "fail", ulp_error=2.0, baseline_reason="TF computes in float32"),
        rec("e", "error", error={"category": "invalid_label"}, baseline_reason="CPU raises"),
        rec("c", "crash", baseline_reason="tf#999 segfault"),
    )
    gated = by_case(apply_baseline(run, base))
    assert {k: r.verdict for k, r in gated.items()} == {"f": "xfail", "e": "xfail", "c": "xfail", "p": "pass"}
    f = gated["f"]
    assert getattr(f, "original_verdict") == "fail"
    assert f.baseline_reason == "TF computes in float32"
    assert f.message == GATE_PREFIX + "expected fail, got fail: TF computes in float32\noff by 3 ULP"
    assert original_verdict(f) == "fail" and original_verdict(gated["c"]) == "crash"
    assert gated["p"].baseline_reason is None and gated["p"].message == ""


def test_pass_against_a_baseline_failure_is_xpass() -> None:
    gated = apply_baseline(run_of(rec("p", "pass")), baseline_of(rec("p", "fail", baseline_reason="bug 7")))
    (p,) = gated.records
    assert p.verdict == "xpass"
    assert getattr(p, "original_verdict") == "pass"
    assert p.baseline_reason == "bug 7"
    assert p.message.startswith(GATE_PREFIX + "expected fail, got pass: bug 7")


def test_failure_not_in_the_baseline_stays_a_failure() -> None:
    gated = apply_baseline(
        run_of(rec("new", "fail", ulp_error=50.0, message="50 ULP")),
        baseline_of(rec("other", "fail", baseline_reason="r")),
    )
    (new,) = gated.records
    assert new.verdict == "fail"
    assert new.message == "50 ULP"
    assert new.baseline_reason is None


def test_grown_ulp_error_is_a_new_failure() -> None:
    base = baseline_of(
        rec("grew", "fail", ulp_error=3.0, baseline_reason="accepted 3 ULP"),
        rec("same", "fail", ulp_error=3.0, baseline_reason="accepted 3 ULP"),
        rec("double", "fail", ulp_error="3", baseline_reason="accepted 3 ULP"),  # strings are read too
        rec("broke", "fail", ulp_error=3.0, baseline_reason="accepted 3 ULP"),
        rec("was-inf", "fail", ulp_error=math.inf, baseline_reason="NaN output accepted"),
    )
    run = run_of(
        rec("grew", "fail", ulp_error=10.0, message="10 ULP"),
        rec("same", "fail", ulp_error=5.0),
        rec("double", "fail", ulp_error="6"),  # exactly 2x: not "more than 2x"
        rec("broke", "fail", ulp_error=math.inf),
        rec("was-inf", "fail", ulp_error=1e30),
    )
    gated = by_case(apply_baseline(run, base))
    assert gated["grew"].verdict == "fail"
    assert gated["grew"].message == (
        GATE_PREFIX + "new failure: error grew from 3 to 10 ULP (more than 2x); baseline: accepted 3 ULP\n10 ULP"
    )
    assert gated["grew"].baseline_reason == "accepted 3 ULP"
    assert getattr(gated["grew"], "original_verdict", None) is None
    assert gated["same"].verdict == "xfail"
    assert gated["double"].verdict == "xfail"
    assert gated["broke"].verdict == "fail" and "from 3 to inf ULP" in gated["broke"].message
    assert gated["was-inf"].verdict == "xfail"


def test_changed_error_category_or_verdict_is_a_new_failure() -> None:
    base = baseline_of(
        rec("cat", "error", error={"category": "invalid_label"}, baseline_reason="CPU raises"),
        rec("kind", "fail", ulp_error=1.0, baseline_reason="off by one ULP"),
    )
    run = run_of(
        rec("cat", "error", error={"category": "other", "type": "RuntimeError", "message": "boom"}),
        rec("kind", "crash", message="timeout after 60 s"),
    )
    gated = by_case(apply_baseline(run, base))
    assert gated["cat"].verdict == "error"
    assert "expected error (invalid_label), got error (other)" in gated["cat"].message
    assert gated["kind"].verdict == "crash"
    assert "new failure: expected fail, got crash" in gated["kind"].message
    assert gate_exit_code(apply_baseline(run, base)) == 1


def test_stale_entries_are_reported_not_failed() -> None:
    base = baseline_of(
        rec("gone", "fail", baseline_reason="removed case"),
        rec("skipped", "error", device="gpu", baseline_reason="GPU NaN"),
        rec("kept", "fail", baseline_reason="r"),
    )
    run = run_of(rec("kept", "fail"), rec("skipped", "skip", device="gpu", message="no GPU visible"))
    gated = apply_baseline(run, base)
    stale = stale_entries(gated)
    assert [(s["case"], s["now"]) for s in stale] == [("gone", "absent"), ("skipped", "skip: no GPU visible")]
    assert stale[0]["baseline_reason"] == "removed case"
    assert by_case(gated)["skipped"].verdict == "skip"
    assert gate_exit_code(gated, strict=True) == 0
    text = summarize_gate(gated)
    assert "STALE BASELINE ENTRIES (2" in text and "gone" in text and "gate: ok" in text


def test_apply_copies_records_and_is_idempotent() -> None:
    run = run_of(rec("f", "fail", message="orig"), rec("p", "pass"))
    base = baseline_of(rec("f", "fail", baseline_reason="r"), rec("p", "fail", baseline_reason="r2"))
    once = apply_baseline(run, base)
    assert [r.verdict for r in run.records] == ["fail", "pass"]  # input untouched
    assert run.records[0].message == "orig" and "gate" not in run.environment
    twice = apply_baseline(once, base)
    assert [r.to_dict() for r in twice.records] == [r.to_dict() for r in once.records]
    assert ungate_record(once.records[0]).message == "orig"
    assert ungate_record(once.records[0]).verdict == "fail"


def test_gated_results_survive_a_json_round_trip(tmp_path: Path) -> None:
    run = run_of(rec("f", "error", error={"category": "invalid_label"}, message="raised"), rec("p", "pass"))
    base = baseline_of(rec("f", "error", error={"category": "invalid_label"}, baseline_reason="r"),
                       rec("p", "crash", baseline_reason="r"))
    path = tmp_path / "gated.json"
    apply_baseline(run, base).write(path)
    back = Results.read(path)
    f, p = sorted(back.records, key=lambda r: r.case)
    # Whether or not Record has an original_verdict field, the original verdict is recoverable.
    assert (f.verdict, original_verdict(f)) == ("xfail", "error")
    assert (p.verdict, original_verdict(p)) == ("xpass", "pass")
    assert ungate_record(f).message == "raised"
    assert json.loads(path.read_text())["environment"]["gate"]["stale"] == []


# --------------------------------------------------------------------------- exit code and summary


def test_gate_exit_code() -> None:
    base = baseline_of(rec("f", "fail", baseline_reason="r"), rec("p", "fail", baseline_reason="r"))
    only_expected = apply_baseline(run_of(rec("f", "fail")), base)
    assert gate_exit_code(only_expected) == 0
    assert gate_exit_code(only_expected, strict=True) == 0
    with_xpass = apply_baseline(run_of(rec("f", "fail"), rec("p", "pass")), base)
    assert gate_exit_code(with_xpass) == 0
    assert gate_exit_code(with_xpass, strict=True) == 1
    for verdict in ("fail", "error", "crash"):
        assert gate_exit_code(apply_baseline(run_of(rec("new", verdict)), base)) == 1
    assert gate_exit_code(run_of(rec("s", "skip"), rec("p", "pass"))) == 0


def test_summary_lists_new_failures_xpasses_and_counts() -> None:
    base = baseline_of(rec("p", "fail", baseline_reason="bug 7"), rec("x", "fail", baseline_reason="r"),
                       path=Path("reports/baselines/numpy.json"))
    run = run_of(
        rec("scce-new", "fail", adapter="tensorflow", dtype="float16", device="gpu", message="off by 40 ULP"),
        rec("p", "pass"),
        rec("x", "fail"),
    )
    text = summarize_gate(apply_baseline(run, base), strict=True)
    assert "gate against reports/baselines/numpy.json: 3 cells: 1 xfail, 1 xpass, 1 fail" in text
    assert "NEW FAILURES (1):\n  fail  scce-new  tensorflow float16/gpu: off by 40 ULP" in text
    assert "XPASS (1" in text and "expected fail, got pass: bug 7" in text
    assert text.endswith("gate: FAILED (unexpected results above)")


# --------------------------------------------------------------------------- update_baseline


def test_update_baseline_keeps_failures_carries_reasons_and_needs_new_ones(tmp_path: Path) -> None:
    old = baseline_of(
        rec("still", "fail", ulp_error=3.0, baseline_reason="old reason"),
        rec("fixed", "fail", baseline_reason="was broken"),
    )
    run = run_of(
        rec("still", "fail", ulp_error=3.0, message="3 ULP"),
        rec("fixed", "pass"),
        rec("fresh", "error", error={"category": "other"}, message="boom"),
        rec("fine", "pass"),
    )
    with pytest.raises(ValueError) as info:
        update_baseline(apply_baseline(run, old), old, None)
    assert "fresh [numpy float32/cpu] (error): boom" in str(info.value)
    assert "still" not in str(info.value)
    assert "--reason" in str(info.value)

    new = update_baseline(apply_baseline(run, old), old, "keras#42")
    cells = by_case(new)
    assert set(cells) == {"still", "fresh"}
    assert cells["still"].baseline_reason == "old reason"
    assert cells["still"].verdict == "fail" and cells["still"].message == "3 ULP"  # ungated
    assert cells["fresh"].baseline_reason == "keras#42"
    assert "started" not in new.environment and "gate" not in new.environment
    path = tmp_path / "base.json"
    new.write(path)
    assert set(load_baseline(path).failing) == {("still", "numpy", "float32", "cpu"), ("fresh", "numpy", "float32", "cpu")}


def test_update_baseline_compacts_records() -> None:
    long = [str(i) for i in range(100)]
    run = run_of(
        rec("big", "fail", output=long, truth=long, truth_rounded=long, shape=[100], inputs={"y_pred": long}),
        rec("small", "fail", inputs={"y_pred": ["0.5"]}),
    )
    new = by_case(update_baseline(run, None, "r"))
    assert new["big"].inputs is None and new["big"].output is None and new["big"].truth is None
    assert new["big"].shape == [100] and new["big"].ulp_error == 0.0
    assert new["small"].inputs is None
    assert new["small"].output == ["1.1769392"] and new["small"].truth_rounded == ["1.1769392"]


def test_update_baseline_keeps_unevaluated_entries_unless_pruned() -> None:
    old = baseline_of(
        rec("gpu-only", "error", device="gpu", baseline_reason="GPU NaN"),
        rec("removed", "fail", baseline_reason="r"),
    )
    run = run_of(rec("gpu-only", "skip", device="gpu", message="no GPU"), rec("other", "pass"))
    kept = update_baseline(run, old, None)
    assert sorted(r.case for r in kept.records) == ["gpu-only", "removed"]
    assert update_baseline(run, old, None, prune_stale=True).records == []


# --------------------------------------------------------------------------- the command


def _gate_parser() -> argparse.ArgumentParser:
    """A parser with only the gate sub-command, like conformance.cli builds it, so the
    command is tested end to end even while other sub-commands are being written."""
    from conformance.cli import _Parser
    from conformance.commands import gate as gate_command

    parser = _Parser(prog="conformance")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    gate_command.register(sub)
    return parser


def _call(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = _gate_parser()
    try:
        args = parser.parse_args(argv)
        code = int(args.func(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    results = tmp_path / "results.json"
    run_of(
        rec("known", "fail", ulp_error=3.0, message="3 ULP off"),
        rec("fixed", "pass"),
        rec("ok", "pass"),
    ).write(results)
    baseline = tmp_path / "baselines" / "numpy.json"
    run_of(
        rec("known", "fail", ulp_error=3.0, baseline_reason="accepted: float32 accumulation"),
        rec("fixed", "fail", baseline_reason="keras#1"),
    ).write(baseline)
    return {"results": results, "baseline": baseline, "dir": tmp_path}


def test_command_gates_and_writes_junit(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    junit = files["dir"] / "out" / "junit.xml"
    code, out, err = _call(["gate", str(files["results"]), "--baseline", str(files["baseline"]), "--junit", str(junit)], capsys)
    assert (code, err) == (0, "")
    assert "1 xfail, 1 xpass" in out and "gate: ok" in out
    assert junit.exists()
    code, out, _ = _call(["gate", str(files["results"]), "--baseline", str(files["baseline"]), "--strict"], capsys)
    assert code == 1 and "XPASS (1" in out


def test_command_new_failure_exits_1(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    run_of(rec("known", "fail", ulp_error=30.0), rec("brand-new", "crash", message="SIGSEGV")).write(files["results"])
    code, out, _ = _call(["gate", str(files["results"]), "--baseline", str(files["baseline"])], capsys)
    assert code == 1
    assert "crash brand-new  numpy float32/cpu: SIGSEGV" in out
    assert "error grew from 3 to 30 ULP" in out


def test_command_update_baseline(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    run_of(rec("known", "fail", ulp_error=3.0), rec("fixed", "pass"), rec("fresh", "fail")).write(files["results"])
    argv = ["gate", str(files["results"]), "--baseline", str(files["baseline"]), "--update-baseline"]
    before = files["baseline"].read_text()
    code, _, err = _call(argv, capsys)
    assert code == 2
    assert str(files["baseline"]) in err and "fresh [numpy float32/cpu]" in err and "--reason" in err
    assert files["baseline"].read_text() == before  # nothing half written
    code, out, err = _call(argv + ["--reason", "new in TF 2.21"], capsys)
    assert (code, err) == (0, "")
    assert "1 added, 1 removed, 1 kept" in out
    cells = {r.case: r.baseline_reason for r in load_baseline(files["baseline"]).results.records}
    assert cells == {"known": "accepted: float32 accumulation", "fresh": "new in TF 2.21"}


def test_command_update_shows_changed_entries_and_writes_gated_json(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run_of(rec("known", "fail", ulp_error=30.0), rec("fixed", "fail")).write(files["results"])
    gated = files["dir"] / "gated.json"
    argv = ["gate", str(files["results"]), "--baseline", str(files["baseline"]), "--update-baseline", "--json", str(gated)]
    code, out, _ = _call(argv, capsys)
    assert code == 0
    assert "changed (reason carried over, review it): known [numpy float32/cpu]: fail 3 ULP -> fail 30 ULP" in out
    # the gated output is against the baseline just written, so it agrees with exit code 0
    assert {r.case: r.verdict for r in Results.read(gated).records} == {"known": "xfail", "fixed": "xfail"}


def test_command_creates_a_missing_baseline(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    target = files["dir"] / "new" / "base.json"
    code, out, err = _call(["gate", str(files["results"]), "--baseline", str(target)], capsys)
    assert code == 2 and str(target) in err and "--update-baseline" in err
    code, out, _ = _call(["gate", str(files["results"]), "--baseline", str(target), "--update-baseline", "--reason", "r"], capsys)
    assert code == 0 and target.exists()
    assert [r.case for r in load_baseline(target).results.records] == ["known"]


def test_command_bad_files_and_usage_exit_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    bad = files["dir"] / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = _call(["gate", str(bad), "--baseline", str(files["baseline"])], capsys)
    assert code == 2 and str(bad) in err
    code, _, err = _call(["gate", str(files["results"]), "--baseline", str(bad)], capsys)
    assert code == 2 and str(bad) in err
    missing = files["dir"] / "missing.json"
    code, _, err = _call(["gate", str(missing), "--baseline", str(files["baseline"])], capsys)
    assert code == 2 and str(missing) in err
    code, _, err = _call(["gate", str(files["results"]), "--baseline", str(files["baseline"]), "--reason", "x"], capsys)
    assert code == 2 and "--reason is only used with --update-baseline" in err
    code, _, _ = _call(["gate", str(files["results"])], capsys)
    assert code == 2  # --baseline is required


def _cli_works() -> bool:
    proc = subprocess.run([sys.executable, "-m", "conformance", "--help"], cwd=ROOT, capture_output=True, text=True)
    return proc.returncode == 0


def test_cli_end_to_end_subprocess(files: dict[str, Path]) -> None:
    if not _cli_works():
        pytest.skip("'python -m conformance --help' fails: some sub-commands in conformance.cli.COMMANDS are not written yet")
    base = [sys.executable, "-m", "conformance", "gate", str(files["results"]), "--baseline", str(files["baseline"])]
    help_text = subprocess.run([sys.executable, "-m", "conformance", "gate", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert help_text.returncode == 0 and "example workflow" in help_text.stdout
    ok = subprocess.run(base, cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    strict = subprocess.run(base + ["--strict"], cwd=ROOT, capture_output=True, text=True)
    assert strict.returncode == 1 and "XPASS" in strict.stdout
