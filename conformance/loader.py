"""Load and lint case files: safe YAML, JSON Schema, then the checks a schema cannot make.

Every problem is reported as ``file:line: field: message`` so that an author can jump
straight to it. Loading never executes anything from the file (YAML safe loading only),
and a file with any problem yields no cases at all: there are no half-loaded suites.

Checks beyond the schema: duplicate mapping keys (YAML silently keeps the last one),
ragged arrays, ids unique across all files, inputs vs steps per API, arguments that
the family does not take, printed values that are not in the cited seed document,
``digits`` that do not match the printed value, tags that the case's content implies
(``documented``, ``error``, ``implementation-defined``), ``config_keys`` present exactly on
``check: config`` cases, and ``input_dtype`` only on loss classes (the only API that
converts its inputs to a loss dtype). Case files may live in subfolders of ``cases/``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import jsonschema
import yaml

from conformance.case import Case, Expectation, Provenance, ToleranceOverride, literal_array

#: Where the seed documents cited by provenance blocks live, relative to the repo root.
SEEDS_DIR = Path("cases") / "seeds"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a case file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class CaseFileError(Exception):
    """Raised by :func:`load_cases` when any case file has problems; lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


Path_ = tuple[Any, ...]


# --------------------------------------------------------------------------- YAML with lines
class _Located:
    """A parsed YAML document plus the line of every node, by path."""

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}
        self.problems: list[tuple[Path_, int, str]] = []

    def line(self, path: Sequence[Any]) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p and p not in self.lines:
            p = p[:-1]
        return self.lines.get(p, 1)


def _to_python(node: yaml.Node, path: Path_, loc: _Located, loader: yaml.SafeLoader) -> Any:
    loc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                loc.problems.append(
                    (path + (key,), key_node.start_mark.line + 1, f"duplicate key {key!r} (YAML would silently keep only the last one)")
                )
            out[key] = _to_python(value_node, path + (key,), loc, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, path + (i,), loc, loader) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, filename: str) -> tuple[Any, _Located]:
    """Safe-load one YAML document, keeping line numbers and reporting duplicate keys."""
    loc = _Located()
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, loc
        return _to_python(node, (), loc, loader), loc
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- schema
@lru_cache(maxsize=1)
def case_file_schema() -> dict[str, Any]:
    """The JSON Schema of a case file, shipped inside the package."""
    text = resources.files("conformance").joinpath("schema/case-file.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _field_name(path: Sequence[Any], doc: Any) -> str:
    """``cases[3].inputs.y_pred`` style, with the case id when there is one."""
    parts: list[str] = []
    for i, p in enumerate(path):
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{p}]"]
        else:
            parts.append(str(p))
    text = ".".join(parts)
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        try:
            case_id = doc["cases"][path[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            case_id = None
        if case_id:
            text = f"{text} (case {case_id})"
    return text


def _schema_message(error: jsonschema.ValidationError) -> str:
    """A shorter, actionable message for the common schema failures."""
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field(s) {', '.join(map(repr, extra))}; allowed: {allowed}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "oneOf" and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)))
        return best.message
    return error.message


def _best_errors(errors: Iterable[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    for err in errors:
        yield err


# --------------------------------------------------------------------------- semantic lints
def _shape_problems(value: Any) -> str | None:
    """Why a nested list is ragged (or None)."""
    if not isinstance(value, list):
        return None

    def shape(v: Any) -> tuple[int, ...] | None:
        if not isinstance(v, list):
            return ()
        subs = [shape(x) for x in v]
        if any(s is None for s in subs):
            return None
        if subs and any(s != subs[0] for s in subs):
            return None
        return (len(v),) + (subs[0] if subs else ())

    if shape(value) is None:
        lengths = [len(v) if isinstance(v, list) else "scalar" for v in value]
        return f"ragged array: rows have lengths {lengths}; every row must have the same shape"
    return None


_SIG_DIGITS = re.compile(r"^-?(\d+)(?:\.(\d+))?(?:e[+-]?\d+)?$")


def significant_digits(printed: str) -> int:
    """Significant digits of a printed decimal (``0.0513`` → 3, ``2.303`` → 4)."""
    m = _SIG_DIGITS.match(printed)
    if not m:
        raise ValueError(f"not a decimal number: {printed!r}")
    digits = (m.group(1) + (m.group(2) or "")).lstrip("0")
    return max(len(digits), 1)


@lru_cache(maxsize=32)
def _seed_text(root: str, seed: str) -> str | None:
    path = Path(root) / SEEDS_DIR / seed
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None


def _lint_case(raw: Mapping[str, Any], family: str, idx: int, add: Any, root: Path) -> None:
    base = ("cases", idx)
    api = raw.get("api")
    is_metric = api in ("metric", "compile_metric")
    check = raw.get("check", "value")
    has_inputs, has_steps = "inputs" in raw, "steps" in raw
    if check == "value":
        if api == "metric" and not has_steps:
            add(base, "steps", "a metric case needs 'steps' (update_state / result / reset_state)")
        if api != "metric" and not has_inputs:
            add(base, "inputs", f"an {api} case needs 'inputs' (y_true, y_pred, optional sample_weight)")
    if has_inputs and has_steps:
        add(base + ("steps",), "steps", "give either 'inputs' or 'steps', not both")
    if has_steps and not is_metric:
        add(base + ("steps",), "steps", f"'steps' are for metric cases; api is {api!r}")
    if has_steps:
        ops = [s if isinstance(s, str) else "update_state" for s in raw["steps"]]
        if "result" not in ops:
            add(base + ("steps",), "steps", "a metric case needs at least one 'result' step")

    args = raw.get("args", {}) or {}
    sparse = family == "sparse_categorical_crossentropy"
    if sparse and "label_smoothing" in args:
        add(base + ("args", "label_smoothing"), "args.label_smoothing", "SparseCategoricalCrossentropy takes no label_smoothing")
    if not sparse and "ignore_class" in args:
        add(base + ("args", "ignore_class"), "args.ignore_class", "CategoricalCrossentropy takes no ignore_class")
    if "reduction" in args and api not in ("loss_class", "compile_loss"):
        add(base + ("args", "reduction"), "args.reduction", f"reduction is an argument of the loss class, not of the {api}")
    if check == "config" and "config_keys" not in raw:
        add(base, "config_keys", "a config case needs 'config_keys': the keys get_config() returns, per profile")
    if "config_keys" in raw and check != "config":
        add(base + ("config_keys",), "config_keys", "config_keys belong to 'check: config' cases")
    if "input_dtype" in raw and api not in ("loss_class", "compile_loss"):
        add(base + ("input_dtype",), "input_dtype", f"input_dtype needs a loss class (it converts its inputs to the loss dtype); the {api} computes in the input dtype")
    if "label_dtype" in raw and not sparse:
        add(base + ("label_dtype",), "label_dtype", "label_dtype applies to sparse labels only")

    def arrays() -> Iterator[tuple[Path_, Any]]:
        if isinstance(raw.get("inputs"), Mapping):
            for k, v in raw["inputs"].items():
                yield base + ("inputs", k), v
        for i, step in enumerate(raw.get("steps") or []):
            if isinstance(step, Mapping) and isinstance(step.get("update_state"), Mapping):
                for k, v in step["update_state"].items():
                    yield base + ("steps", i, "update_state", k), v

    for path, value in arrays():
        why = _shape_problems(value)
        if why:
            add(path, ".".join(str(p) for p in path[2:]), why)
        elif raw.get("label_dtype") != "float" and sparse and path[-1] == "y_true" and isinstance(value, list):
            try:
                arr = literal_array(value)
            except ValueError:
                continue
            finite = arr[~(arr != arr)]
            if (finite != finite.round()).any():
                add(path, "y_true", "fractional labels: set label_dtype: float to test truncation")

    tags = set(raw.get("tags") or [])
    prov = raw.get("provenance")
    if prov and "documented" not in tags:
        add(base + ("tags",), "tags", "a case with provenance must carry the 'documented' tag")
    if "documented" in tags and not prov:
        add(base + ("tags",), "tags", "'documented' needs a provenance block (seed, section, printed, digits, dtype)")
    expect = raw.get("expect") or {}
    if any(isinstance(v, Mapping) and "error" in v for v in expect.values()) and "error" not in tags:
        add(base + ("tags",), "tags", "a case that expects an error must carry the 'error' tag")
    if any(k != "default" for k in expect) and "implementation-defined" not in tags:
        add(base + ("tags",), "tags", "a case with per-profile expectations must carry 'implementation-defined'")
    dtypes = raw.get("dtypes")
    if prov and isinstance(prov, Mapping):
        if dtypes and prov.get("dtype") is not None and prov.get("dtype") not in dtypes:
            add(base + ("provenance", "dtype"), "provenance.dtype", f"{prov.get('dtype')!r} is not among the case dtypes {dtypes}")
        printed = prov.get("printed")
        digits = prov.get("digits")
        printed_list = printed if isinstance(printed, list) else [printed]
        if isinstance(printed_list, list) and all(isinstance(p, str) for p in printed_list):
            want = [significant_digits(p) for p in printed_list]
            got = digits if isinstance(digits, list) else [digits] * len(want)
            if list(got) != want:
                add(base + ("provenance", "digits"), "provenance.digits", f"{digits!r} does not match the printed value(s) {printed!r}: expected {want if isinstance(digits, list) else want[0] if len(set(want)) == 1 else want}")
            seed = prov.get("seed")
            text = _seed_text(str(root), seed) if isinstance(seed, str) else None
            if isinstance(seed, str) and text is None:
                add(base + ("provenance", "seed"), "provenance.seed", f"no seed document {seed!r} in {SEEDS_DIR}/")
            elif text is not None:
                for p in printed_list:
                    if p not in text:
                        add(base + ("provenance", "printed"), "provenance.printed", f"{p!r} does not appear in {seed}")
                section = prov.get("section", "")
                if isinstance(section, str) and section.split(":")[0].strip() not in text:
                    add(base + ("provenance", "section"), "provenance.section", f"section {section!r} not found in {seed} (cite a heading or phrase of the document)")


# --------------------------------------------------------------------------- building cases
def _build_case(raw: Mapping[str, Any], family: str, file: str, line: int, defaults: Mapping[str, Any]) -> Case:
    prov = raw.get("provenance")
    provenance = (
        Provenance(
            seed=prov["seed"],
            section=prov["section"],
            printed=prov.get("printed"),
            digits=prov.get("digits"),
            dtype=prov.get("dtype"),
            api_as_written=prov.get("api_as_written"),
            printing=prov.get("printing", "rounded"),
            note=prov.get("note"),
        )
        if prov
        else None
    )
    expect: dict[str, Expectation] = {}
    for key, value in (raw.get("expect") or {}).items():
        if value == "value":
            expect[key] = Expectation("value")
        elif value == "undefined":
            expect[key] = Expectation("undefined", reason="implementation-defined under this profile")
        elif "undefined" in value:
            expect[key] = Expectation("undefined", reason=value["undefined"])
        else:
            expect[key] = Expectation("error", error=value["error"], reason=value.get("reason"))
    tol = raw.get("tolerance")
    tolerance = ToleranceOverride(bounds={k: v for k, v in tol.items() if k != "reason"}, reason=tol["reason"]) if tol else None
    dtypes = raw.get("dtypes") or defaults.get("dtypes") or ["float32", "float64"]
    tags = list(dict.fromkeys([*(raw.get("tags") or []), *(defaults.get("tags") or [])]))
    steps = raw.get("steps")
    return Case(
        id=raw["id"],
        family=family,
        api=raw["api"],
        title=raw["title"],
        args=dict(raw.get("args") or {}),
        dtypes=tuple(dtypes),
        tags=tuple(tags),
        file=file,
        line=line,
        inputs=raw.get("inputs"),
        steps=tuple(steps) if steps is not None else None,
        input_form=raw.get("input_form", "array"),
        label_dtype=raw.get("label_dtype"),
        input_dtype=raw.get("input_dtype"),
        provenance=provenance,
        expect=expect,
        tolerance=tolerance,
        check=raw.get("check", "value"),
        notes=raw.get("notes"),
        config_keys={k: tuple(v) for k, v in raw["config_keys"].items()} if raw.get("config_keys") else None,
    )


def check_file(path: Path, root: Path | None = None) -> tuple[list[Case], list[Problem]]:
    """Parse, validate and lint one case file. Returns its cases (empty when it has
    problems) and its problems."""
    root = root or find_root(path)
    shown = _display_path(path)
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [Problem(shown, 1, "", f"cannot read: {exc.strerror}")]
    try:
        doc, loc = parse_yaml(text, shown)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return [], [Problem(shown, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    for p, line, msg in loc.problems:
        problems.append(Problem(shown, line, _field_name(p, doc), msg))
    if doc is None:
        return [], problems + [Problem(shown, 1, "", "empty file; a case file needs family, description and cases")]

    validator = jsonschema.Draft202012Validator(case_file_schema())
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path_ = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            # Point at the first unknown key itself, not at the mapping that holds it.
            extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
            if extra:
                path_ = (*path_, extra[0])
        problems.append(Problem(shown, loc.line(path_), _field_name(path_, doc) or "(top level)", _schema_message(err)))
    if problems:
        return [], problems

    family = doc["family"]

    def add(path_: Path_, field: str, message: str) -> None:
        problems.append(Problem(shown, loc.line(path_), f"{_field_name(path_[:2], doc)}: {field}" if field else _field_name(path_[:2], doc), message))

    for i, raw in enumerate(doc["cases"]):
        _lint_case(raw, family, i, add, root)
    if problems:
        return [], problems
    defaults = doc.get("defaults") or {}
    cases = [_build_case(raw, family, shown, loc.line(("cases", i)), defaults) for i, raw in enumerate(doc["cases"])]
    return cases, problems


def find_root(start: Path) -> Path:
    """The repository root: the nearest ancestor holding ``cases/`` and ``pyproject.toml``."""
    p = start.resolve()
    for candidate in [p, *p.parents]:
        if (candidate / "pyproject.toml").is_file() and (candidate / "cases").is_dir():
            return candidate
    return Path.cwd()


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _yaml_files(folder: Path) -> list[Path]:
    """Every ``*.yaml`` under ``folder``, subfolders included (``cases/edge/...``), sorted
    by path so that the load order (and so "first defined at") is deterministic."""
    return sorted(p for p in folder.rglob("*.yaml") if p.is_file())


def default_case_paths() -> list[Path]:
    """``cases/**/*.yaml`` of the repository the command runs in (or the installed tree)."""
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        d = base / "cases"
        if d.is_dir():
            return _yaml_files(d)
    return []


def expand_paths(paths: Sequence[str | Path] | None) -> list[Path]:
    """Files from paths that may be files or folders (folders: every ``*.yaml`` below
    them, subfolders included)."""
    if not paths:
        return default_case_paths()
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(_yaml_files(p) if p.is_dir() else [p])
    return out


def validate_paths(paths: Sequence[str | Path] | None = None) -> tuple[list[Case], list[Problem]]:
    """Validate every file; also checks that ids are unique across files."""
    files = expand_paths(paths)
    if not files:
        return [], [Problem("cases", 1, "", "no case files found (expected cases/**/*.yaml)")]
    all_cases: list[Case] = []
    problems: list[Problem] = []
    for f in files:
        cases, probs = check_file(f)
        all_cases.extend(cases)
        problems.extend(probs)
    seen: dict[str, Case] = {}
    for c in all_cases:
        if c.id in seen:
            first = seen[c.id]
            problems.append(Problem(c.file, c.line, f"cases (case {c.id}): id", f"duplicate id; first defined at {first.location}"))
        else:
            seen[c.id] = c
    return all_cases, problems


def load_cases(paths: Sequence[str | Path] | None = None) -> list[Case]:
    """Load every case from ``paths`` (default ``cases/``, subfolders included); raise :class:`CaseFileError`
    listing all problems if any file is invalid."""
    cases, problems = validate_paths(paths)
    if problems:
        raise CaseFileError(problems)
    return cases
