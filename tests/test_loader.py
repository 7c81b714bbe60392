"""The case-file linter: every kind of bad file is rejected with a file:line error, and
the repository's own case files (subfolders included) load cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.loader import CaseFileError, check_file, expand_paths, load_cases, validate_paths

REPO = Path(__file__).resolve().parents[1]

GOOD_CASE = """\
  - id: {id}
    title: A minimal valid case
    api: loss_function
    inputs:
      y_true: [1, 2]
      y_pred: [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    tags: [probabilities]
"""


def write(folder: Path, name: str, cases: str, family: str = "sparse_categorical_crossentropy") -> Path:
    """A case file with a standard header; ``cases`` is the indented list body."""
    (folder / "pyproject.toml").touch()
    (folder / "cases").mkdir(exist_ok=True)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"family: {family}\ndescription: test file\ncases:\n{cases}", encoding="utf-8")
    return path


def problems_of(path: Path, root: Path) -> list[str]:
    cases, problems = check_file(path, root=root)
    assert problems, "the file should have been rejected"
    assert cases == [], "a file with problems yields no cases"
    return [str(p) for p in problems]


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of ``path`` containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def assert_reported(problems: list[str], path: Path, line: int, fragment: str) -> None:
    where = f"{path.name}:{line}:"
    assert any(where in p and fragment in p for p in problems), f"no '{fragment}' at {where} in {problems}"


# --------------------------------------------------------------------------- good files
def test_minimal_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", GOOD_CASE.format(id="scce-ok-one"))
    cases, problems = check_file(path, root=tmp_path)
    assert problems == []
    assert [c.id for c in cases] == ["scce-ok-one"]
    assert cases[0].line == 4


def test_repository_cases_load_including_subfolders() -> None:
    files = expand_paths([REPO / "cases"])
    names = {p.relative_to(REPO / "cases").as_posix() for p in files}
    assert "edge/sparse_categorical_crossentropy.yaml" in names
    assert "edge/categorical_crossentropy.yaml" in names
    cases = load_cases([REPO / "cases"])
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert any(i.startswith("scce-edge-") for i in ids) and any(i.startswith("cce-edge-") for i in ids)


def test_expand_paths_recurses_into_subfolders(tmp_path: Path) -> None:
    write(tmp_path, "cases/a.yaml", GOOD_CASE.format(id="scce-a"))
    write(tmp_path, "cases/deep/er/b.yaml", GOOD_CASE.format(id="scce-b"))
    files = expand_paths([tmp_path / "cases"])
    assert [p.name for p in files] == ["a.yaml", "b.yaml"]


# --------------------------------------------------------------------------- bad files
def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", """\
  - id: scce-dup-key
    title: A case with a duplicated key
    api: loss_function
    inputs:
      y_true: [1]
      y_pred: [[0.1, 0.9]]
      y_pred: [[0.2, 0.8]]
    tags: [probabilities]
""")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "y_pred", 2), "duplicate key 'y_pred'")


def test_unknown_field(tmp_path: Path) -> None:
    path = write(tmp_path, "unknown.yaml", GOOD_CASE.format(id="scce-unknown") + "    colour: blue\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "colour"), "unknown field(s) 'colour'")


def test_ragged_array(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged.yaml", """\
  - id: scce-ragged
    title: A ragged prediction array
    api: loss_function
    inputs:
      y_true: [1, 2]
      y_pred: [[0.05, 0.95, 0.0], [0.1, 0.9]]
    tags: [probabilities]
""")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "y_pred"), "ragged array")


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "cases/one.yaml", GOOD_CASE.format(id="scce-same"))
    second = write(tmp_path, "cases/sub/two.yaml", GOOD_CASE.format(id="scce-same"))
    cases, problems = validate_paths([tmp_path / "cases"])
    text = [str(p) for p in problems]
    assert_reported(text, second, line_of(second, "- id:"), "duplicate id; first defined at")
    assert any(f"{first.name}:{line_of(first, '- id:')}" in t for t in text)
    with pytest.raises(CaseFileError):
        load_cases([tmp_path / "cases"])


def test_documented_case_without_provenance(tmp_path: Path) -> None:
    path = write(tmp_path, "prov.yaml", """\
  - id: scce-no-provenance
    title: Documented but with no provenance block
    api: loss_function
    inputs:
      y_true: [1]
      y_pred: [[0.1, 0.9]]
    tags: [documented, probabilities]
""")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "tags:"), "'documented' needs a provenance block")


def test_unknown_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "tag.yaml", GOOD_CASE.format(id="scce-tag").replace("[probabilities]", "[probabilities, shiny]"))
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "tags:"), "'shiny' is not one of")


def test_bad_dtype(tmp_path: Path) -> None:
    path = write(tmp_path, "dtype.yaml", GOOD_CASE.format(id="scce-dtype") + "    dtypes: [float32, float8]\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "dtypes:"), "'float8' is not one of")


def test_bad_profile_in_expect(tmp_path: Path) -> None:
    path = write(tmp_path, "expect.yaml", GOOD_CASE.format(id="scce-expect") + "    expect: {keras4: value}\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "expect:"), "keras4")


def test_per_profile_expect_needs_implementation_defined(tmp_path: Path) -> None:
    path = write(tmp_path, "impl.yaml", GOOD_CASE.format(id="scce-impl") + "    expect: {keras2: value}\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "tags:"), "implementation-defined")


def test_config_case_needs_config_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "cfg.yaml", """\
  - id: scce-cfg
    title: A config case without its keys
    api: loss_class
    check: config
    tags: [config]
""")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "- id:"), "needs 'config_keys'")


def test_config_keys_only_on_config_cases(tmp_path: Path) -> None:
    path = write(tmp_path, "cfg2.yaml", GOOD_CASE.format(id="scce-cfg2") + "    config_keys: {default: [name]}\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "config_keys"), "belong to 'check: config'")


def test_config_keys_profile_must_be_known(tmp_path: Path) -> None:
    path = write(tmp_path, "cfg3.yaml", """\
  - id: scce-cfg3
    title: A config case naming an unknown profile
    api: loss_class
    check: config
    tags: [config]
    config_keys: {keras9: [name]}
""")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "config_keys"), "keras9")


def test_input_dtype_needs_a_loss_class(tmp_path: Path) -> None:
    path = write(tmp_path, "indt.yaml", GOOD_CASE.format(id="scce-indt") + "    input_dtype: float64\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "input_dtype"), "input_dtype needs a loss class")


def test_fractional_labels_need_label_dtype_float(tmp_path: Path) -> None:
    path = write(tmp_path, "frac.yaml", GOOD_CASE.format(id="scce-frac").replace("y_true: [1, 2]", "y_true: [1.5, 2]"))
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "y_true"), "fractional labels")


def test_argument_the_family_does_not_take(tmp_path: Path) -> None:
    path = write(tmp_path, "ls.yaml", GOOD_CASE.format(id="scce-ls") + "    args: {label_smoothing: 0.1}\n")
    assert_reported(problems_of(path, tmp_path), path, line_of(path, "label_smoothing"), "takes no label_smoothing")


def test_invalid_yaml_reports_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", GOOD_CASE.format(id="scce-broken") + "    title: [unclosed\n")
    problems = problems_of(path, tmp_path)
    assert any(f"{path.name}:" in p and "not valid YAML" in p for p in problems)


def test_config_keys_are_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, "cfg4.yaml", """\
  - id: scce-cfg4
    title: A config case with keys per profile
    api: loss_class
    check: config
    tags: [config]
    config_keys:
      default: [name, reduction]
      keras2: [reduction, name, fn]
""")
    cases, problems = check_file(path, root=tmp_path)
    assert problems == []
    (case,) = cases
    assert case.expected_config_keys("keras3-tensorflow") == ("name", "reduction")
    assert case.expected_config_keys("keras2") == ("fn", "name", "reduction")
